package io.hodei.store;

class PostgresReplicaStoreTest extends ReplicaStoreContract {
  @Override
  protected Database openEmptyDatabase() {
    return TestPostgres.freshDatabase();
  }

  @Override
  protected boolean nudges() {
    return true;
  }
}
