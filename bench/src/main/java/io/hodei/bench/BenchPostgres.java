package io.hodei.bench;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The PostgreSQL server a benchmark's control planes share: zonky's embedded one, as {@code hodei
 * dev --replicas} starts it, with its cluster in a fresh directory under the benchmark's work
 * directory, on 127.0.0.1, asking every connection for the superuser's password (kept in a file
 * of its own, which is what {@code --database-password-file} is given). Zonky's server settings
 * are kept, {@code synchronous_commit=off} among them: like SQLite's WAL with {@code
 * synchronous=NORMAL}, a commit is not waited on to reach the disk.
 *
 * <p>One server per run; each setup gets a database of its own from {@link #createDatabase}, so
 * that no setup sees another's jobs, workers or replicas. Not thread-safe.
 */
final class BenchPostgres implements AutoCloseable {
  private static final String USER = "postgres";
  private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*");

  private final EmbeddedPostgres server;
  private final Path passwordFile;
  private final long postmaster;
  private final boolean statements;

  private BenchPostgres(EmbeddedPostgres server, Path passwordFile, long postmaster, boolean statements) {
    this.server = server;
    this.passwordFile = passwordFile;
    this.postmaster = postmaster;
    this.statements = statements;
  }

  /**
   * Creates a cluster in {@code dir/cluster} and starts it; its password goes to {@code
   * dir/password}.
   *
   * @param statements load {@code pg_stat_statements}, for {@link #statements}: a profile, which
   *     costs the server some CPU per statement
   * @param settings more server settings, {@code name=value} each, such as {@code
   *     session_preload_libraries=auto_explain}
   */
  static BenchPostgres start(Path dir, boolean statements, List<String> settings) throws IOException {
    Files.createDirectories(dir);
    Path passwordFile = dir.resolve("password");
    byte[] random = new byte[24];
    new SecureRandom().nextBytes(random);
    String password = HexFormat.of().formatHex(random);
    Files.writeString(passwordFile, password, StandardCharsets.US_ASCII);
    Files.setPosixFilePermissions(passwordFile, PosixFilePermissions.fromString("rw-------"));
    var builder =
        EmbeddedPostgres.builder()
            .setDataDirectory(dir.resolve("cluster"))
            .setCleanDataDirectory(true)
            .setLocaleConfig("auth", "scram-sha-256")
            .setLocaleConfig("pwfile", passwordFile.toString())
            .setConnectConfig("password", password)
            .setServerConfig("listen_addresses", "127.0.0.1")
            .setServerConfig("shared_preload_libraries", statements ? "pg_stat_statements" : "")
            .setRegisterShutdownHook(true)
            // The first archive on the class path, as DevPostgres does: zonky's own lookup
            // refuses a class path that holds the binaries' jar twice.
            .setPgBinaryResolver((system, architecture) -> {
              String archive = "/postgres-" + system.toLowerCase(Locale.ROOT) + "-" + architecture + ".txz";
              var in = BenchPostgres.class.getResourceAsStream(archive);
              if (in == null) {
                throw new IOException("no PostgreSQL binaries " + archive + " on the class path (Linux x86-64 only)");
              }
              return in;
            });
    for (String setting : settings) {
      int eq = setting.indexOf('=');
      if (eq < 1) {
        throw new BenchFailure("a PostgreSQL setting is name=value, got " + setting);
      }
      builder.setServerConfig(setting.substring(0, eq), setting.substring(eq + 1));
    }
    var server = builder.start();
    // zonky starts the server through pg_ctl, which exits: the postmaster's pid is in its file.
    long postmaster = Long.parseLong(Files.readAllLines(dir.resolve("cluster").resolve("postmaster.pid")).getFirst().strip());
    var started = new BenchPostgres(server, passwordFile, postmaster, statements);
    if (statements) {
      started.execute("CREATE EXTENSION pg_stat_statements");
    }
    return started;
  }

  /**
   * Creates the empty database {@code name} and returns its URL for {@code --database-url} (no
   * password in it).
   */
  String createDatabase(String name) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("database name: lower-case letters, digits and _, got " + name);
    }
    execute("CREATE DATABASE " + name);
    return "postgresql://" + USER + "@127.0.0.1:" + server.getPort() + "/" + name;
  }

  private void execute(String sql) {
    try (var connection = server.getPostgresDatabase().getConnection();
        var statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new BenchFailure("PostgreSQL refused " + sql + ": " + e.getMessage());
    }
  }

  /** One normalised statement of {@code pg_stat_statements}: how often it ran and for how long. */
  record Statement(long calls, long rows, double totalMillis, String query) {}

  /** Forgets the statements counted so far (when loaded: see {@link #start}). */
  void resetStatements() {
    if (statements) {
      execute("SELECT pg_stat_statements_reset()");
    }
  }

  /**
   * The {@code most} statements of {@code database} that took the most time since {@link
   * #resetStatements}; empty unless {@code pg_stat_statements} is loaded.
   */
  List<Statement> statements(String database, int most) {
    if (!statements) {
      return List.of();
    }
    try (var connection = server.getPostgresDatabase().getConnection();
        var query = connection.prepareStatement(
            "SELECT s.calls, s.rows, s.total_exec_time, s.query FROM pg_stat_statements s"
                + " JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = ? ORDER BY s.total_exec_time DESC LIMIT ?")) {
      query.setString(1, database);
      query.setInt(2, most);
      List<Statement> found = new ArrayList<>();
      try (var rows = query.executeQuery()) {
        while (rows.next()) {
          found.add(new Statement(rows.getLong(1), rows.getLong(2), rows.getDouble(3), rows.getString(4)));
        }
      }
      return found;
    } catch (SQLException e) {
      throw new BenchFailure("cannot read pg_stat_statements: " + e.getMessage());
    }
  }

  /**
   * Transactions committed or rolled back in {@code database} so far, and rows it has inserted,
   * updated or deleted, as the statistics collector has them: a backend reports at most every
   * 500 ms, so a figure may lag by that much of the database's work.
   */
  record Activity(long transactions, long rollbacks, long rowsWritten) {
    Activity minus(Activity earlier) {
      return new Activity(
          transactions - earlier.transactions, rollbacks - earlier.rollbacks, rowsWritten - earlier.rowsWritten);
    }
  }

  Activity activity(String database) {
    try (var connection = server.getPostgresDatabase().getConnection();
        var query = connection.prepareStatement(
            "SELECT xact_commit + xact_rollback, xact_rollback, tup_inserted + tup_updated + tup_deleted FROM pg_stat_database WHERE datname = ?")) {
      query.setString(1, database);
      try (var rows = query.executeQuery()) {
        if (!rows.next()) {
          throw new BenchFailure("no statistics for the database " + database);
        }
        return new Activity(rows.getLong(1), rows.getLong(2), rows.getLong(3));
      }
    } catch (SQLException e) {
      throw new BenchFailure("cannot read the statistics of " + database + ": " + e.getMessage());
    }
  }

  Path passwordFile() {
    return passwordFile;
  }

  /**
   * CPU seconds the server has used so far: the postmaster with the backends that have exited,
   * plus the live backends and background processes (a pooled connection's backend lives as long
   * as the pool keeps it).
   */
  double cpuSeconds() {
    return Proc.cpuSeconds(postmaster)
        + ProcessHandle.of(postmaster).stream()
            .flatMap(ProcessHandle::descendants)
            .mapToDouble(p -> Proc.ownCpuSeconds(p.pid()))
            .sum();
  }

  @Override
  public void close() throws IOException {
    server.close();
  }
}
