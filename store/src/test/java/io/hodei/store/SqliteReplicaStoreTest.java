package io.hodei.store;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class SqliteReplicaStoreTest extends ReplicaStoreContract {
  @TempDir Path dataDir;

  @Override
  protected Database openEmptyDatabase() {
    return Database.sqlite(dataDir);
  }

  @Override
  protected boolean nudges() {
    return false;
  }
}
