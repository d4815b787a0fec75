package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link JobUids} with real lock files and, for the leftovers, real processes under a job uid. */
class JobUidsTest {
  @TempDir Path locks;

  @Test
  void twoPoolsOnOneMachineNeverHandOutTheSameUid() throws Exception {
    var first = new JobUids(190300, 190301, locks);
    var second = new JobUids(190300, 190301, locks);

    int a = first.acquire(Duration.ZERO).orElseThrow();
    int b = second.acquire(Duration.ZERO).orElseThrow();

    assertThat(a).isNotEqualTo(b);
    assertThat(first.acquire(Duration.ZERO)).isEmpty();
    assertThat(second.acquire(Duration.ZERO)).isEmpty();
    second.release(b, true);
    assertThat(first.acquire(Duration.ZERO)).contains(b);
  }

  @Test
  void aUidIsWaitedForUntilItsJobGivesItBack() throws Exception {
    var uids = new JobUids(190310, 190310, locks);
    int only = uids.acquire(Duration.ZERO).orElseThrow();
    Thread.ofVirtual().start(() -> {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      uids.release(only, true);
    });

    assertThat(uids.acquire(Duration.ofSeconds(10))).contains(only);
  }

  @Test
  void theLockDirectoryIsTheWorkersAlone() throws Exception {
    Path dir = locks.resolve("job-uids");
    new JobUids(190320, 190320, dir);

    assertThat(Files.getPosixFilePermissions(dir)).containsExactlyInAnyOrder(
        java.nio.file.attribute.PosixFilePermission.OWNER_READ,
        java.nio.file.attribute.PosixFilePermission.OWNER_WRITE,
        java.nio.file.attribute.PosixFilePermission.OWNER_EXECUTE);
  }

  @Test
  void aProcessLeftUnderAUidByADeadWorkerIsKilledBeforeTheUidIsHandedOutAgain() throws Exception {
    assumeThat(System.getProperty("user.name")).isEqualTo("root");
    Process leftover =
        new ProcessBuilder("setpriv", "--reuid", "190330", "--regid", "190330", "--clear-groups", "sleep", "331").start();
    await().until(() -> ProcessScan.ofUid(190330).contains(leftover.pid()));

    var uids = new JobUids(190330, 190330, locks);
    assertThat(uids.acquire(Duration.ZERO)).contains(190330);

    assertThat(leftover.waitFor(5, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    assertThat(ProcessScan.ofUid(190330)).isEmpty();
  }

  @Test
  void aUidReleasedCleanIsHandedOutWithoutAScanAndOneReleasedUncleanIsScannedAgain() throws Exception {
    var uids = new JobUids(190340, 190340, locks);
    int uid = uids.acquire(Duration.ZERO).orElseThrow();
    uids.release(uid, true);
    assertThat(locks.resolve("190340")).hasContent("clean");

    uids.acquire(Duration.ZERO).orElseThrow();
    assertThat(locks.resolve("190340")).hasContent(""); // taken: a crash from now on leaves no mark
    uids.release(uid, false);
    assertThat(locks.resolve("190340")).hasContent("");
  }
}
