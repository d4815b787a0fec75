package io.hodei.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * Everything that differs between the databases the store runs on, in one place. The SQL of the
 * stores and of the migrations is otherwise shared and must stay portable between them.
 */
public enum Dialect {
  /**
   * An embedded file database. It allows one writer at a time, so the store serializes its own
   * write transactions in-process (see {@link #serializesWrites()}) and relies on {@code
   * busy_timeout} only for other processes sharing the file.
   */
  SQLITE("BLOB", true),

  /** A server database with row locks: concurrent write transactions are safe and allowed. */
  POSTGRESQL("BYTEA", false);

  /** The first key of PostgreSQL advisory locks on a job's log: "hodL" in ASCII. */
  private static final int LOG_LOCK_NAMESPACE = 0x686f644c;

  /** The first key of PostgreSQL advisory locks on a pool's census: "hodP" in ASCII. */
  private static final int POOL_LOCK_NAMESPACE = 0x686f6450;

  /** SQLite's primary result code for a violated constraint ({@code SQLITE_CONSTRAINT}). */
  private static final int SQLITE_CONSTRAINT = 19;

  private final String binaryType;
  private final boolean serializesWrites;

  Dialect(String binaryType, boolean serializesWrites) {
    this.binaryType = binaryType;
    this.serializesWrites = serializesWrites;
  }

  /** The column type for raw bytes; the migrations use it as the {@code ${binary}} placeholder. */
  public String binaryType() {
    return binaryType;
  }

  /**
   * Whether the store lets only one write transaction of a {@link Database} run at a time. True
   * where the database itself admits a single writer: queueing in Java is fair, prompt and parks
   * virtual threads, where the database's busy handler would sleep-poll on a pinned carrier.
   */
  public boolean serializesWrites() {
    return serializesWrites;
  }

  /**
   * Makes appends to {@code jobId}'s log in concurrent transactions take turns, until the calling
   * transaction ends, so each can number its lines after the other's. Where write transactions are
   * serialized anyway there is nothing to do.
   */
  void lockLogOf(Connection transaction, String jobId) throws SQLException {
    lock(transaction, LOG_LOCK_NAMESPACE, jobId);
  }

  /**
   * Makes transactions that count and add to {@code pool}'s workers take turns, until the calling
   * transaction ends, so that each counts what the one before added.
   */
  void lockPool(Connection transaction, String pool) throws SQLException {
    lock(transaction, POOL_LOCK_NAMESPACE, pool);
  }

  private void lock(Connection transaction, int namespace, String key) throws SQLException {
    switch (this) {
      case SQLITE -> {}
      case POSTGRESQL -> {
        try (PreparedStatement ps =
            transaction.prepareStatement("SELECT pg_advisory_xact_lock(?, ?)")) {
          ps.setInt(1, namespace);
          ps.setInt(2, key.hashCode());
          ps.executeQuery().close();
        }
      }
    }
  }

  /**
   * What {@code e} says is wrong with the storage itself, if anything: a full disk, a read-only
   * database or file system, a corrupt file, a database server out of reach. Looked for along the
   * cause chain.
   */
  java.util.Optional<io.hodei.core.error.StorageTrouble> trouble(SQLException e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof SQLException s) {
        var found = switch (this) {
          case SQLITE -> switch (s.getErrorCode() & 0xff) {
            case 13 -> io.hodei.core.error.StorageTrouble.FULL; // SQLITE_FULL
            case 8 -> io.hodei.core.error.StorageTrouble.READ_ONLY; // SQLITE_READONLY
            case 11, 26 -> io.hodei.core.error.StorageTrouble.CORRUPT; // SQLITE_CORRUPT, SQLITE_NOTADB
            default -> null;
          };
          case POSTGRESQL -> {
            String state = s.getSQLState() == null ? "" : s.getSQLState();
            yield state.equals("53100") ? io.hodei.core.error.StorageTrouble.FULL
                : state.equals("25006") ? io.hodei.core.error.StorageTrouble.READ_ONLY
                : state.startsWith("XX001") || state.equals("XX002") ? io.hodei.core.error.StorageTrouble.CORRUPT
                // Connection exceptions, and a server shutting down or starting up.
                : state.startsWith("08") || state.equals("57P01") || state.equals("57P02") || state.equals("57P03")
                    ? io.hodei.core.error.StorageTrouble.UNREACHABLE
                : null;
          }
        };
        if (found != null) {
          return java.util.Optional.of(found);
        }
      }
    }
    return java.util.Optional.empty();
  }

  /** Whether {@code e} reports a violated primary key, unique, foreign key or check constraint. */
  boolean isConstraintViolation(SQLException e) {
    return switch (this) {
      case SQLITE -> (e.getErrorCode() & 0xff) == SQLITE_CONSTRAINT;
      case POSTGRESQL -> e.getSQLState() != null && e.getSQLState().startsWith("23");
    };
  }
}
