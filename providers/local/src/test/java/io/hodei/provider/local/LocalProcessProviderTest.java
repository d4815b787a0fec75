package io.hodei.provider.local;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.worker.WorkerId;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalProcessProviderTest {
  @TempDir Path dir;

  private LocalProcessProvider provider(List<String> command) {
    return new LocalProcessProvider(
        new LocalProcessProvider.Config("local", command, dir.resolve("workers"), Duration.ofSeconds(2), Map.of()));
  }

  @Test
  void aWorkerStartsWithItsRegistrationEnvironmentAndIsStoppedOnDestroy() throws Exception {
    var provider =
        provider(List.of("/bin/sh", "-c", "echo \"$HODEI_WORKER_ID $HODEI_TOKEN $HODEI_SERVER_ADDRESS $EXTRA\"; exec sleep 60"));
    var launch = new WorkerLaunch(new WorkerId("w-test"), "otp-1", "127.0.0.1:1", Map.of("EXTRA", "x"));

    var handle = provider.create(launch);

    Path log = dir.resolve("workers/w-test.log");
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log) && Files.readString(log).contains("w-test"));
    assertThat(Files.readString(log).strip()).isEqualTo("w-test otp-1 127.0.0.1:1 x");
    assertThat(provider.isAlive(handle)).isTrue();
    long pid = Long.parseLong(handle.reference());

    provider.destroy(handle);

    assertThat(provider.isAlive(handle)).isFalse();
    assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive)).isNotEqualTo(java.util.Optional.of(true));
    provider.destroy(handle); // idempotent
  }

  @Test
  void aWorkerThatIgnoresSigtermIsKilledAfterTheGracePeriod() {
    var provider = provider(List.of("/bin/sh", "-c", "trap '' TERM; echo ready; while true; do sleep 1; done"));
    var handle = provider.create(new WorkerLaunch(new WorkerId("w-stubborn"), "otp", "127.0.0.1:1", Map.of()));
    await().atMost(Duration.ofSeconds(10))
        .until(() -> Files.readString(dir.resolve("workers/w-stubborn.log")).contains("ready"));

    provider.destroy(handle);

    assertThat(provider.isAlive(handle)).isFalse();
  }

  @Test
  void healthIsUnhealthyWhenTheWorkerProgramCannotRun() {
    assertThat(provider(List.of("/bin/sh")).health()).isEqualTo(new ProviderHealth.Healthy());
    assertThat(provider(List.of("/nonexistent/java")).health())
        .isInstanceOfSatisfying(
            ProviderHealth.Unhealthy.class, u -> assertThat(u.reason()).contains("/nonexistent/java"));
  }

  @Test
  void aWorkerStartedByAnEarlierRunIsFoundByItsPidAndWorkerId() throws Exception {
    var first = provider(List.of("/bin/sh", "-c", "echo up; exec sleep 60"));
    var handle = first.create(new WorkerLaunch(new WorkerId("w-old"), "otp", "127.0.0.1:1", Map.of()));
    await().atMost(Duration.ofSeconds(10)).until(() -> Files.readString(dir.resolve("workers/w-old.log")).contains("up"));

    // A new provider instance, as after a restart of the control plane, knows only the handle.
    var restarted = provider(List.of("/bin/sh"));
    var recorded = new io.hodei.core.provider.WorkerHandle(new WorkerId("w-old"), "local", handle.reference());
    var impostor = new io.hodei.core.provider.WorkerHandle(new WorkerId("w-other"), "local", handle.reference());

    assertThat(restarted.isAlive(recorded)).isTrue();
    assertThat(restarted.isAlive(impostor)).isFalse();
    restarted.destroy(recorded);
    assertThat(restarted.isAlive(recorded)).isFalse();
  }
}
