package io.hodei.store;

class PostgresWorkerStoreTest extends WorkerStoreContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
