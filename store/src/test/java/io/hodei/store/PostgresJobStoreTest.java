package io.hodei.store;

class PostgresJobStoreTest extends JobStoreContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
