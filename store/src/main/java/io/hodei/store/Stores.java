package io.hodei.store;

import io.hodei.core.Storage;

/**
 * The JDBC stores over one {@link Database}, for wiring a server in one line. They share the
 * database's pool; closing the database ends them all.
 */
public final class Stores {
  private Stores() {}

  /** With secrets sealed by {@code cipher}. */
  public static Storage open(Database database, SecretCipher cipher) {
    return new Storage(
        new JdbcJobStore(database),
        new JdbcLogStore(database),
        new JdbcWorkerStore(database),
        new JdbcOtpStore(database),
        new JdbcSecretVault(database, cipher, java.time.Clock.systemUTC()),
        new JdbcTokenStore(database),
        new JdbcAuditLog(database),
        new StorageProbe(database),
        new JdbcReplicaStore(database));
  }

  /** With an in-memory key: secrets kept do not survive a restart. For tests. */
  public static Storage open(Database database) {
    return open(database, SecretCipher.ephemeral());
  }
}
