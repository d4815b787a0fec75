package io.hodei.store;

class PostgresLogStoreTest extends LogStoreContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
