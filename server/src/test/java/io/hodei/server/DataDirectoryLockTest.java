package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataDirectoryLockTest {
  @TempDir Path dir;

  @Test
  void aSecondTakeIsRefusedNamingWhatTheHolderRecorded() {
    Path data = dir.resolve("data");
    try (var first = DataDirectoryLock.take(data)) {
      first.record("pid 42, 127.0.0.1:7000");

      assertThatThrownBy(() -> DataDirectoryLock.take(data))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "another control plane uses " + data + " (pid 42, 127.0.0.1:7000); stop it, or give this one another --data-dir");
    }
  }

  @Test
  void takingCreatesTheDirectoryAndRecordsThePidOfThisProcess() throws Exception {
    Path data = dir.resolve("a/b");
    var lock = DataDirectoryLock.take(data);
    try {
      assertThat(Files.readString(data.resolve(DataDirectoryLock.FILE))).isEqualTo("pid " + ProcessHandle.current().pid() + "\n");
    } finally {
      lock.close();
    }
  }

  @Test
  void replicasOfAServerDatabaseShareADataDirectoryButNotAnId() {
    Path data = dir.resolve("data");
    try (var r1 = DataDirectoryLock.forReplica(data, "r1");
        var r2 = DataDirectoryLock.forReplica(data, "r2")) {
      r1.record("pid 42");

      assertThatThrownBy(() -> DataDirectoryLock.forReplica(data, "r1"))
          .isInstanceOf(IllegalStateException.class)
          .hasMessage("another control plane uses " + data + " as replica r1 (pid 42); stop it, or give this one another --replica-id");
    }
  }

  @Test
  void aClosedLockCanBeTakenAgain() {
    Path data = dir.resolve("data");
    DataDirectoryLock.take(data).close();

    DataDirectoryLock.take(data).close();
  }
}
