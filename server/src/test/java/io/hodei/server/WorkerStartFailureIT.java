package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobState;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers that exit at start on a setting they refuse (a real process each time): the pool backs
 * off between attempts instead of starting them as fast as they die, its health turns Degraded
 * with the worker's own last words, and the waiting job shows them as its reason.
 */
class WorkerStartFailureIT {
  @TempDir Path dir;

  @Test
  void aPoolWhoseWorkersKeepFailingAtStartBacksOffAndSaysWhy() throws Exception {
    var failing = List.of("sh", "-c", "echo 'HODEI_KILL_GRACE: expected a duration, got -1000ms' >&2; exit 64");
    try (var plane =
        new TestControlPlane(dir, Clock.systemUTC(), new PoolPolicy(4, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0), failing)) {
      String id = plane.queue(TestControlPlane.shell("true"));

      await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        var job = plane.get(id);
        assertThat(job.getState()).isEqualTo(JobState.JOB_STATE_PENDING);
        assertThat(job.getWaitingReason())
            .contains("failed at start")
            .contains("HODEI_KILL_GRACE: expected a duration, got -1000ms");
      });
      var health = io.hodei.api.v1.ProviderServiceGrpc.newBlockingStub(plane.channel)
          .getProviderHealth(io.hodei.api.v1.GetProviderHealthRequest.newBuilder().setName("local").build())
          .getHealth();
      assertThat(health.getStatus()).isEqualTo(io.hodei.api.v1.HealthStatus.HEALTH_STATUS_DEGRADED);
      assertThat(health.getReason()).contains("failed at start").contains("got -1000ms");

      Thread.sleep(10_000);
      long started;
      try (var logs = Files.list(dir.resolve("workers"))) {
        started = logs.filter(p -> p.toString().endsWith(".log")).count();
      }
      // Backing off 1, 2, 4, 8 s: a handful in ~15 s. Without it, four a second.
      assertThat(started).isBetween(2L, 7L);
    }
  }
}
