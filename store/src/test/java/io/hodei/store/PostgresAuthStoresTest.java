package io.hodei.store;

class PostgresAuthStoresTest extends AuthStoresContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
