package io.hodei.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.files.FileModes;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.MigrationInfo;
import org.flywaydb.core.api.MigrationInfoService;
import org.flywaydb.core.api.MigrationState;
import org.flywaydb.core.api.MigrationVersion;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.core.api.pattern.ValidatePattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * A pooled connection to the store's database, migrated to the current schema.
 *
 * <p>Opening runs the Flyway migrations under {@code db/migration} before returning, so a {@code
 * Database} always has the schema the stores expect; opening the same database again is a no-op
 * migration. A database that a newer hodei migrated further than this binary's migrations go is
 * refused, untouched. Thread-safe: the pool hands each caller its own connection. {@link #close()}
 * closes the pool; the stores built on it fail with {@link UnavailableException} afterwards.
 */
public final class Database implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Database.class);

  /** SQLite admits one writer at a time, so a few connections are plenty (readers share WAL). */
  static final int SQLITE_POOL_SIZE = 4;

  static final int POSTGRES_POOL_SIZE = 10;
  static final int SQLITE_BUSY_TIMEOUT_MILLIS = 5_000;
  static final String SQLITE_FILE_NAME = "hodei.db";

  private final HikariDataSource pool;
  private final Dialect dialect;
  private final Optional<Lock> writeLock;
  private final StorageHealth health = new StorageHealth();

  private Database(HikariDataSource pool, Dialect dialect) {
    this.pool = pool;
    this.dialect = dialect;
    this.writeLock =
        dialect.serializesWrites() ? Optional.of(new ReentrantLock(true)) : Optional.empty();
  }

  /**
   * Opens (creating if needed) the SQLite database {@code dataDir/hodei.db}, creating {@code
   * dataDir} too. The directory is made owner-only (at most 0700) and the database and its {@code
   * -wal}/{@code -shm} files at most 0600, at creation and at every open ({@link FileModes}). Every pooled connection runs in WAL mode with {@code synchronous=NORMAL}, a 5 s
   * {@code busy_timeout}, foreign keys enforced, and write transactions begun {@code IMMEDIATE} so
   * that a transaction never has to upgrade a read lock to a write lock.
   *
   * @throws UnavailableException if the directory or file cannot be created, opened or migrated,
   *     or if a newer hodei has migrated it past this binary's schema
   */
  public static Database sqlite(Path dataDir) {
    Path dir = dataDir.toAbsolutePath();
    Path file = dir.resolve(SQLITE_FILE_NAME);
    FileModes.privateDirectory(dir);
    // Created 0600 before SQLite opens it, else SQLite would create it with the umask (0644).
    FileModes.createPrivateFile(file);
    SQLiteConfig config = new SQLiteConfig();
    config.setJournalMode(SQLiteConfig.JournalMode.WAL);
    config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
    config.setBusyTimeout(SQLITE_BUSY_TIMEOUT_MILLIS);
    config.enforceForeignKeys(true);
    config.setTransactionMode(SQLiteConfig.TransactionMode.IMMEDIATE);
    SQLiteDataSource sqlite = new SQLiteDataSource(config);
    sqlite.setUrl("jdbc:sqlite:" + dir.resolve(SQLITE_FILE_NAME));

    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName("hodei-sqlite");
    hikari.setDataSource(sqlite);
    hikari.setMaximumPoolSize(SQLITE_POOL_SIZE);
    Database database = open(hikari, Dialect.SQLITE, file.toString());
    // SQLite creates -wal and -shm with the database file's mode (so 0600); checked all the same,
    // for files left by an older version or another tool.
    FileModes.restrictFile(dir.resolve(SQLITE_FILE_NAME + "-wal"));
    FileModes.restrictFile(dir.resolve(SQLITE_FILE_NAME + "-shm"));
    return database;
  }

  /**
   * Connects to PostgreSQL at {@code jdbcUrl} (for example {@code jdbc:postgresql://db:5432/hodei})
   * and migrates it.
   *
   * @throws UnavailableException if the database cannot be reached or migrated, or if a newer
   *     hodei has migrated it past this binary's schema
   */
  /** How long a call waits for a connection to PostgreSQL before it fails. */
  static final long POSTGRES_CONNECTION_TIMEOUT_MS = 5_000;

  public static Database postgres(String jdbcUrl, String user, String password) {
    HikariConfig hikari = new HikariConfig();
    hikari.setPoolName("hodei-postgres");
    hikari.setJdbcUrl(jdbcUrl);
    hikari.setUsername(user);
    hikari.setPassword(password);
    hikari.setMaximumPoolSize(POSTGRES_POOL_SIZE);
    // A server that is away fails a call within seconds (and readiness with it), instead of
    // holding every caller for Hikari's default 30 s.
    hikari.setConnectionTimeout(POSTGRES_CONNECTION_TIMEOUT_MS);
    return open(hikari, Dialect.POSTGRESQL, withoutParameters(jdbcUrl));
  }

  /** The URL without its query part, which may carry credentials, for messages and logs. */
  private static String withoutParameters(String jdbcUrl) {
    int query = jdbcUrl.indexOf('?');
    return query < 0 ? jdbcUrl : jdbcUrl.substring(0, query);
  }

  private static Database open(HikariConfig config, Dialect dialect, String where) {
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(config);
    } catch (RuntimeException e) {
      throw new UnavailableException("cannot open the " + dialect + " database " + where + ": " + rootCause(e), e);
    }
    try {
      Flyway flyway = migrations(pool, dialect).load();
      refuseANewerSchema(flyway.info(), dialect, where);
      var result = flyway.migrate();
      log.info(
          "{} database {} is at schema version {} ({} migrations applied now)",
          dialect,
          where,
          result.targetSchemaVersion == null
              ? result.initialSchemaVersion
              : result.targetSchemaVersion,
          result.migrationsExecuted);
    } catch (UnavailableException e) {
      pool.close();
      throw e;
    } catch (RuntimeException e) {
      pool.close();
      throw new UnavailableException("cannot migrate the " + dialect + " database " + where + ": " + rootCause(e), e);
    }
    return new Database(pool, dialect);
  }

  /**
   * Flyway as {@link #open} runs it: the migrations under {@code db/migration}, for {@code
   * dialect}. Flyway ignores applied migrations it does not know by default ({@code *:future});
   * here none are ignored, so that a newer schema that appears after {@link #refuseANewerSchema}
   * looked still fails migrate's validation rather than being run against.
   */
  static FluentConfiguration migrations(DataSource dataSource, Dialect dialect) {
    return Flyway.configure(Database.class.getClassLoader())
        .dataSource(dataSource)
        .locations("classpath:db/migration")
        .placeholders(Map.of("binary", dialect.binaryType()))
        .failOnMissingLocations(true)
        .ignoreMigrationPatterns(new ValidatePattern[0]);
  }

  /**
   * Refuses a database that a newer hodei migrated further than this binary's migrations go:
   * running against it would read and write tables this binary does not know. Reads the schema
   * history only; nothing is written.
   */
  private static void refuseANewerSchema(MigrationInfoService info, Dialect dialect, String where) {
    Optional<MigrationVersion> newest =
        Arrays.stream(info.all())
            .filter(m -> m.getState() == MigrationState.FUTURE_SUCCESS || m.getState() == MigrationState.FUTURE_FAILED)
            .map(MigrationInfo::getVersion)
            .max(Comparator.naturalOrder());
    if (newest.isEmpty()) {
      return;
    }
    String known =
        Arrays.stream(info.all())
            .filter(m -> m.getState().isResolved() && m.getVersion() != null)
            .map(MigrationInfo::getVersion)
            .max(Comparator.naturalOrder())
            .map(MigrationVersion::getVersion)
            .orElse("none");
    throw new UnavailableException(
        "cannot open the " + dialect + " database " + where + ": the database schema is at version "
            + newest.get().getVersion() + ", newer than this binary knows (" + known
            + "): upgrade hodei, or use a database this version made");
  }

  /**
   * The first line of the innermost message: what the driver said (a refused connection, a failed
   * password, a malformed file). Drivers do not put passwords in their messages.
   */
  private static String rootCause(Throwable e) {
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage();
    return message.lines().findFirst().orElse(message).strip();
  }

  /** What is wrong with this database's storage now, if anything (a full disk, read-only, corrupt). */
  public StorageHealth health() {
    return health;
  }

  public Dialect dialect() {
    return dialect;
  }

  DataSource dataSource() {
    return pool;
  }

  /** Held around every write transaction where the dialect admits only one writer. */
  Optional<Lock> writeLock() {
    return writeLock;
  }

  /** Closes the pool. Idempotent. */
  @Override
  public void close() {
    pool.close();
  }
}
