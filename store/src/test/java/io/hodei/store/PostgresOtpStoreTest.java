package io.hodei.store;

class PostgresOtpStoreTest extends OtpStoreContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
