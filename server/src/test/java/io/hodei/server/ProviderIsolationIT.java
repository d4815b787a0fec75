package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.hodei.api.v1.HealthStatus;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListProvidersRequest;
import io.hodei.api.v1.ProviderServiceGrpc;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pool is as healthy as the isolation its workers can give their jobs: real worker JVMs report
 * what they lack when they register, and the provider's health says it.
 */
class ProviderIsolationIT {
  @TempDir Path dir;

  private io.hodei.api.v1.ProviderHealth healthAfterOneJob(List<String> workerCommand) throws Exception {
    try (var plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0),
            workerCommand)) {
      String id = plane.queue(TestControlPlane.shell("id", "-u"));
      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      return ProviderServiceGrpc.newBlockingStub(plane.channel)
          .listProviders(ListProvidersRequest.getDefaultInstance())
          .getProviders(0)
          .getHealth();
    }
  }

  @Test
  void aPoolWhoseWorkersCannotIsolateTheirJobsIsDegradedAndSaysWhy() throws Exception {
    List<String> command = new ArrayList<>(List.of("env", "HODEI_JOB_ISOLATION=off"));
    command.addAll(TestControlPlane.workerCommand());

    var health = healthAfterOneJob(command);

    assertThat(health.getStatus()).isEqualTo(HealthStatus.HEALTH_STATUS_DEGRADED);
    assertThat(health.getReason()).contains("jobs are not fully isolated").contains("run as the worker's own user");
  }

  @Test
  void aPoolWhoseWorkersIsolateEveryJobStaysHealthy() throws Exception {
    assumeThat(System.getProperty("user.name")).as("full isolation needs root").isEqualTo("root");

    var health = healthAfterOneJob(TestControlPlane.workerCommand());

    assertThat(health.getStatus()).as(health.getReason()).isEqualTo(HealthStatus.HEALTH_STATUS_HEALTHY);
  }
}
