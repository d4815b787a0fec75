package io.hodei.store;

import io.hodei.core.Storage;

/**
 * The four JDBC stores over one {@link Database}, for wiring a server in one line. They share the
 * database's pool; closing the database ends them all.
 */
public final class Stores {
  private Stores() {}

  public static Storage open(Database database) {
    return new Storage(
        new JdbcJobStore(database),
        new JdbcLogStore(database),
        new JdbcWorkerStore(database),
        new JdbcOtpStore(database));
  }
}
