package io.hodei.cli;

import io.hodei.core.files.FileModes;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.SQLException;
import java.util.HexFormat;

/**
 * The PostgreSQL server of {@code hodei dev --replicas N} without a database URL: zonky's binaries
 * (from Maven Central), its cluster in {@code DATA/postgres}, kept between runs.
 *
 * <p>What a job could reach: the server listens on 127.0.0.1 only, and every connection, over TCP
 * or the local socket, must bring the superuser's password (scram-sha-256, set by {@code initdb}
 * from the file). The password is in {@code DATA/postgres.password}, mode 0600, which jobs (other
 * uids) cannot read; it is never in an environment variable or on a command line.
 */
final class DevPostgres implements AutoCloseable {
  static final String DIRECTORY = "postgres";
  static final String PASSWORD_FILE = "postgres.password";
  static final String DATABASE = "hodei";
  private static final String USER = "postgres";

  /**
   * zonky's binaries, from the first archive on the class path: the CLI's lib/ and a build's
   * dependencies may both hold the same jar, which zonky's own lookup refuses as a duplicate.
   */
  static final io.zonky.test.db.postgres.embedded.PgBinaryResolver BINARIES = (system, architecture) -> {
    String name = "/postgres-" + system.toLowerCase(java.util.Locale.ROOT) + "-" + architecture + ".txz";
    var archive = DevPostgres.class.getResourceAsStream(name);
    if (archive == null) {
      throw new IOException("no PostgreSQL binaries for " + system + "-" + architecture
          + " on the class path (this build has Linux x86-64 only); give --database-url instead");
    }
    return archive;
  };

  private final EmbeddedPostgres server;
  private final Path passwordFile;

  private DevPostgres(EmbeddedPostgres server, Path passwordFile) {
    this.server = server;
    this.passwordFile = passwordFile;
  }

  /** Starts the cluster in {@code DATA/postgres}, creating it (and its password) on first use. */
  static DevPostgres start(Path data) {
    return start(data, 0);
  }

  /** As {@link #start(Path)}, on {@code port} (0: any free one). */
  static DevPostgres start(Path data, int port) {
    Path passwordFile = data.resolve(PASSWORD_FILE);
    Path cluster = data.resolve(DIRECTORY);
    try {
      FileModes.privateDirectory(data);
      if (!Files.exists(passwordFile)) {
        byte[] random = new byte[24];
        new SecureRandom().nextBytes(random);
        FileModes.writePrivate(passwordFile, HexFormat.of().formatHex(random).getBytes(StandardCharsets.US_ASCII));
      }
      String password = Files.readString(passwordFile, StandardCharsets.US_ASCII).strip();
      var server =
          EmbeddedPostgres.builder()
              .setDataDirectory(cluster)
              .setCleanDataDirectory(false)
              // initdb: the superuser's password from the file, and scram for every connection.
              .setLocaleConfig("auth", "scram-sha-256")
              .setLocaleConfig("pwfile", passwordFile.toString())
              .setConnectConfig("password", password)
              .setServerConfig("listen_addresses", "127.0.0.1")
              .setPort(port == 0 ? freePort() : port)
              .setRegisterShutdownHook(false)
              .setPgBinaryResolver(BINARIES)
              .start();
      try (var c = server.getPostgresDatabase().getConnection();
          var st = c.createStatement();
          var rs = st.executeQuery("SELECT 1 FROM pg_database WHERE datname = '" + DATABASE + "'")) {
        if (!rs.next()) {
          st.execute("CREATE DATABASE " + DATABASE);
        }
      }
      return new DevPostgres(server, passwordFile);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + cluster + ": " + e.getMessage(), e);
    } catch (SQLException e) {
      throw new IllegalStateException("the embedded PostgreSQL in " + cluster + " does not answer: " + e.getMessage(), e);
    }
  }

  private static int freePort() throws IOException {
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    }
  }

  int port() {
    return server.getPort();
  }

  /** The database URL the replicas use (no password in it). */
  String url() {
    return "postgresql://" + USER + "@127.0.0.1:" + server.getPort() + "/" + DATABASE;
  }

  Path passwordFile() {
    return passwordFile;
  }

  @Override
  public void close() {
    try {
      server.close();
    } catch (IOException e) {
      // stopping at exit: the next start recovers the cluster
    }
  }
}
