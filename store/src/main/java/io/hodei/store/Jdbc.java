package io.hodei.store;

import io.hodei.core.error.UnavailableException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.Lock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Plain JDBC plumbing shared by the stores: borrowing a connection, running a write transaction,
 * translating {@link SQLException}s, and the column conventions (epoch-millisecond timestamps,
 * nullable columns as {@code Optional}).
 *
 * <p>Reads run in auto-commit mode, so a single statement sees one consistent snapshot and takes no
 * write lock. Writes run in one transaction that commits or rolls back as a whole; where the {@link
 * Dialect} admits a single writer they queue on the database's write lock first, before borrowing a
 * connection, so a waiting writer never holds a connection readers could use.
 */
final class Jdbc {
  private static final Logger log = LoggerFactory.getLogger(Jdbc.class);

  /** Work against a connection; may throw {@link SQLException}. */
  @FunctionalInterface
  interface SqlWork<T> {
    T apply(Connection connection) throws SQLException;
  }

  /** A constraint of the schema was violated: the stores never rely on that, so it is a bug. */
  static final class ConstraintViolation extends IllegalStateException {
    ConstraintViolation(String message, SQLException cause) {
      super(message, cause);
    }
  }

  private final Database database;

  Jdbc(Database database) {
    this.database = database;
  }

  /** Runs {@code work} on a connection in auto-commit mode. */
  <T> T read(String action, SqlWork<T> work) {
    try (Connection connection = database.dataSource().getConnection()) {
      return work.apply(connection);
    } catch (SQLException e) {
      throw translate(action, e);
    }
  }

  /**
   * Runs {@code work} in one transaction: committed if it returns, rolled back if it throws
   * anything. A {@link io.hodei.core.error.HodeiException} thrown by {@code work} reaches the
   * caller unchanged.
   */
  <T> T write(String action, SqlWork<T> work) {
    Optional<Lock> lock = database.writeLock();
    lock.ifPresent(Lock::lock);
    try (Connection connection = database.dataSource().getConnection()) {
      connection.setAutoCommit(false);
      try {
        T result = work.apply(connection);
        connection.commit();
        database.health().succeeded();
        return result;
      } catch (SQLException | RuntimeException | Error e) {
        rollback(connection, e);
        throw e;
      } finally {
        restoreAutoCommit(connection);
      }
    } catch (SQLException e) {
      throw translate(action, e);
    } finally {
      lock.ifPresent(Lock::unlock);
    }
  }

  private RuntimeException translate(String action, SQLException e) {
    if (database.dialect().isConstraintViolation(e)) {
      return new ConstraintViolation("could not " + action + ": " + e.getMessage(), e);
    }
    var trouble = database.dialect().trouble(e);
    if (trouble.isPresent()) {
      database.health().failed(trouble.get(), e.getMessage());
      return new UnavailableException(
          "store could not " + action + ": " + trouble.get().words() + " (" + e.getMessage() + ")", e, trouble.get());
    }
    return new UnavailableException("store could not " + action + ": " + e.getMessage(), e);
  }

  private static void rollback(Connection connection, Throwable failure) {
    try {
      connection.rollback();
    } catch (SQLException e) {
      failure.addSuppressed(e);
    }
  }

  /**
   * Ends the transaction mode before the connection goes back to the pool. With SQLite this also
   * releases the write lock the driver re-takes right after a commit or rollback.
   */
  private void restoreAutoCommit(Connection connection) {
    try {
      connection.setAutoCommit(true);
    } catch (SQLException e) {
      // The pool resets the connection (or discards it) on return; the transaction's outcome
      // is already decided, so this must not turn a committed write into a reported failure.
      // Storage trouble is told once by StorageHealth, not as a stack trace per call.
      var trouble = database.dialect().trouble(e);
      if (trouble.isPresent()) {
        database.health().failed(trouble.get(), e.getMessage());
      } else if (database.health().failing().isEmpty()) {
        // While the storage is failing, SQLite has already rolled back the transaction the
        // failure ended ("no transaction is active"): the failure itself was told once.
        log.warn("could not restore auto-commit on a pooled connection: {}", e.toString());
      }
    }
  }

  // ---- column conventions ----------------------------------------------------------------

  static long millis(Instant instant) {
    return instant.toEpochMilli();
  }

  static Instant instant(ResultSet rs, String column) throws SQLException {
    return Instant.ofEpochMilli(rs.getLong(column));
  }

  static Optional<Instant> optionalInstant(ResultSet rs, String column) throws SQLException {
    long value = rs.getLong(column);
    return rs.wasNull() ? Optional.empty() : Optional.of(Instant.ofEpochMilli(value));
  }

  static OptionalInt optionalInt(ResultSet rs, String column) throws SQLException {
    int value = rs.getInt(column);
    return rs.wasNull() ? OptionalInt.empty() : OptionalInt.of(value);
  }

  static Optional<String> optionalString(ResultSet rs, String column) throws SQLException {
    return Optional.ofNullable(rs.getString(column));
  }

  static void setInstant(PreparedStatement ps, int index, Optional<Instant> instant)
      throws SQLException {
    if (instant.isPresent()) {
      ps.setLong(index, millis(instant.get()));
    } else {
      ps.setNull(index, Types.BIGINT);
    }
  }

  static void setInt(PreparedStatement ps, int index, OptionalInt value) throws SQLException {
    if (value.isPresent()) {
      ps.setInt(index, value.getAsInt());
    } else {
      ps.setNull(index, Types.INTEGER);
    }
  }

  static void setString(PreparedStatement ps, int index, Optional<String> value)
      throws SQLException {
    if (value.isPresent()) {
      ps.setString(index, value.get());
    } else {
      ps.setNull(index, Types.VARCHAR);
    }
  }
}
