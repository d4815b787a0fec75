package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobConstraints;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LabelRequirement;
import io.hodei.api.v1.ScheduleJobRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.SelectorOperator;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Constraints are enforced on real workers, and every decision says why. */
class SchedulingIT {
  @TempDir Path dir;

  @Test
  void aJobNoWorkerFitsWaitsAndSaysWhyWhileOthersRunPastIt() throws Exception {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0), List.of())) {
      var needsGpu =
          TestControlPlane.shell("true").toBuilder()
              .setConstraints(JobConstraints.newBuilder().addRequiredCapabilities("gpu-driver"))
              .build();
      String stuck = plane.queue(needsGpu);
      String behind = plane.queue(TestControlPlane.shell("echo", "overtakes"));

      assertThat(plane.follow(behind).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> assertThat(plane.get(stuck).getWaitingReason()).contains("lacks capability gpu-driver"));
      assertThat(plane.get(stuck).getState()).isEqualTo(JobState.JOB_STATE_PENDING);
      assertThat(plane.get(stuck).getWaitingReason())
          .contains("provider local: its workers would not fit: lacks capability gpu-driver");
      // No worker was started for the job that no local worker could run.
      assertThat(java.nio.file.Files.list(dir.resolve("workers")).count()).isEqualTo(1);
    }
  }

  @Test
  void scheduleJobExplainsEveryRejectedWorkerAndQueuesNothing() {
    try (var plane = TestControlPlane.start(dir)) {
      plane.follow(plane.queue(TestControlPlane.shell("true"))); // one warm worker
      var scheduler = SchedulerServiceGrpc.newBlockingStub(plane.channel);

      var inZone =
          scheduler.scheduleJob(
              ScheduleJobRequest.newBuilder()
                  .setDefinition(
                      TestControlPlane.shell("true").toBuilder()
                          .setConstraints(
                              JobConstraints.newBuilder()
                                  .addLabelSelector(
                                      LabelRequirement.newBuilder()
                                          .setKey("zone")
                                          .setOperator(SelectorOperator.SELECTOR_OPERATOR_EQUALS)
                                          .addValues("mars"))))
                  .build());
      var anywhere =
          scheduler.scheduleJob(ScheduleJobRequest.newBuilder().setDefinition(TestControlPlane.shell("true")).build());

      assertThat(inZone.getDecision().hasWorkerId()).isFalse();
      assertThat(inZone.getDecision().getRejectionsList())
          .anySatisfy(r -> {
            assertThat(r.getCandidate()).startsWith("worker w-");
            assertThat(r.getReason()).isEqualTo("label selector zone=mars not met (no zone label)");
          });
      // A new local worker would not carry the label either, so none would be started.
      assertThat(inZone.getDecision().getProvisionWithProvider()).isEmpty();
      assertThat(inZone.getDecision().getRejectionsList())
          .anySatisfy(r -> {
            assertThat(r.getCandidate()).isEqualTo("provider local");
            assertThat(r.getReason()).isEqualTo("its workers would not fit: label selector zone=mars not met (no zone label)");
          });
      assertThat(inZone.getDecision().getSummary()).contains("the job would wait");
      assertThat(anywhere.getDecision().getWorkerId()).startsWith("w-");
      assertThat(anywhere.getDecision().getSummary()).contains("least-connections");
      assertThat(plane.jobs().listJobs(io.hodei.api.v1.ListJobsRequest.getDefaultInstance()).getJobsCount()).isEqualTo(1);
    }
  }

  @Test
  void anUnhealthyProviderIsSkippedAndTheSkipIsExplained() throws Exception {
    var database = io.hodei.store.Database.sqlite(dir.resolve("data"));
    var broken =
        new io.hodei.provider.local.LocalProcessProvider(
            new io.hodei.provider.local.LocalProcessProvider.Config(
                "broken", List.of("/nonexistent/java"), dir.resolve("broken"), Duration.ofSeconds(5), java.util.Map.of()));
    var local =
        new io.hodei.provider.local.LocalProcessProvider(
            new io.hodei.provider.local.LocalProcessProvider.Config(
                "local", TestControlPlane.workerCommand(), dir.resolve("workers"), Duration.ofSeconds(5), java.util.Map.of()));
    var policy = new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60));
    try (var server =
            new HodeiServer(
                    ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0),
                    io.hodei.store.Stores.open(database),
                    List.of(
                        new io.hodei.server.provisioning.Provisioner.Pool(broken, policy),
                        new io.hodei.server.provisioning.Provisioner.Pool(local, policy)),
                    Clock.systemUTC())
                .start()) {
      var channel =
          io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(server.address()).usePlaintext().build();
      try {
        var prefersBroken =
            TestControlPlane.shell("echo", "ran").toBuilder()
                .setConstraints(JobConstraints.newBuilder().setPreferredProvider("broken"))
                .build();
        var decision =
            SchedulerServiceGrpc.newBlockingStub(channel)
                .scheduleJob(ScheduleJobRequest.newBuilder().setDefinition(prefersBroken).build())
                .getDecision();
        String id =
            io.hodei.api.v1.JobExecutionServiceGrpc.newBlockingStub(channel)
                .queueJob(io.hodei.api.v1.QueueJobRequest.newBuilder().setDefinition(prefersBroken).build())
                .getJobId();

        assertThat(decision.getProvisionWithProvider()).isEqualTo("local");
        assertThat(decision.getRejectionsList())
            .anySatisfy(r -> {
              assertThat(r.getCandidate()).isEqualTo("provider broken");
              assertThat(r.getReason()).isEqualTo("unhealthy: worker program /nonexistent/java is not executable");
            });
        await()
            .atMost(Duration.ofSeconds(30))
            .until(
                () -> io.hodei.api.v1.JobExecutionServiceGrpc.newBlockingStub(channel)
                        .getJob(io.hodei.api.v1.GetJobRequest.newBuilder().setJobId(id).build())
                        .getJob()
                        .getState()
                    == JobState.JOB_STATE_SUCCEEDED);
      } finally {
        channel.shutdownNow();
      }
    } finally {
      database.close();
    }
  }
}
