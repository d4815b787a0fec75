package io.hodei.store;

class PostgresSecretVaultTest extends SecretVaultContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }
}
