package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListProvidersRequest;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.ProviderServiceGrpc;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Workers are provisioned on demand, reused while they live, and stopped when idle. */
class WorkerPoolIT {
  @TempDir Path dir;

  @Test
  void aWorkerIsReusedForLaterJobsAndStoppedAfterItsIdleTimeout() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(1, Duration.ofSeconds(3), Duration.ofSeconds(60)))) {
      String first = plane.queue(TestControlPlane.shell("echo", "one"));
      assertThat(plane.follow(first).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      String second = plane.queue(TestControlPlane.shell("echo", "two"));
      assertThat(plane.follow(second).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

      String worker = plane.get(first).getAttempts(0).getWorkerId();
      assertThat(plane.get(second).getAttempts(0).getWorkerId()).isEqualTo(worker);
      var scheduler = SchedulerServiceGrpc.newBlockingStub(plane.channel);
      assertThat(scheduler.listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList())
          .extracting(w -> w.getInfo().getWorkerId())
          .containsExactly(worker);

      // Stopped when idle: listed as terminated for a while, and its process is gone.
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(scheduler.listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList())
                      .extracting(w -> w.getStatus())
                      .containsExactly(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_TERMINATED));
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  ProviderServiceGrpc.newBlockingStub(plane.channel)
                          .listProviders(ListProvidersRequest.getDefaultInstance())
                          .getProviders(0)
                          .getWorkers()
                      == 0);
    }
  }

  @Test
  void aSingleJobOnAColdPoolStartsExactlyOneWorker() throws Exception {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(4, Duration.ofMinutes(2), Duration.ofSeconds(60)))) {
      String job = plane.queue(TestControlPlane.shell("echo", "alone"));
      assertThat(plane.follow(job).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

      // Registered-but-not-yet-attached workers count as starting; no second one may appear.
      await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5)).until(() -> {
        var provider =
            ProviderServiceGrpc.newBlockingStub(plane.channel)
                .listProviders(ListProvidersRequest.getDefaultInstance())
                .getProviders(0);
        return provider.getWorkers() + provider.getProvisioning() == 1;
      });
      assertThat(java.nio.file.Files.list(dir.resolve("workers")).count()).isEqualTo(1);
    }
  }

  @Test
  void aPendingJobSaysWhatItWaitsForWhileNoWorkerIsFree() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)))) {
      String blocker = plane.queue(TestControlPlane.shell("sleep", "3"));
      await().atMost(Duration.ofSeconds(30)).until(() -> plane.get(blocker).getState() == JobState.JOB_STATE_RUNNING);
      String waiting = plane.queue(TestControlPlane.shell("echo", "later"));

      await()
          .atMost(Duration.ofSeconds(10))
          .untilAsserted(
              () -> assertThat(plane.get(waiting).getWaitingReason()).contains("local").contains("limit of 1"));
      assertThat(plane.follow(waiting).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }
  }

  @Test
  void aDrainedWorkerTakesNoNewJobsAndStopsWhenItsJobEnds() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)))) {
      String longJob = plane.queue(TestControlPlane.shell("sleep", "3"));
      await().atMost(Duration.ofSeconds(30)).until(() -> plane.get(longJob).getState() == JobState.JOB_STATE_RUNNING);
      String drained = plane.get(longJob).getWorkerId();
      var scheduler = SchedulerServiceGrpc.newBlockingStub(plane.channel);

      var worker =
          scheduler.drainWorker(io.hodei.api.v1.DrainWorkerRequest.newBuilder().setWorkerId(drained).build()).getWorker();
      String next = plane.queue(TestControlPlane.shell("echo", "elsewhere"));

      assertThat(worker.getStatus()).isEqualTo(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING);
      assertThat(plane.follow(next).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      assertThat(plane.get(next).getWorkerId()).isNotEqualTo(drained);
      assertThat(plane.follow(longJob).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () ->
                  assertThat(scheduler.listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList())
                      .filteredOn(w -> w.getInfo().getWorkerId().equals(drained))
                      .extracting(w -> w.getStatus())
                      .containsExactly(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_TERMINATED));
    }
  }

  @Test
  void aDeregisteredWorkersJobIsRetriedElsewhere() throws Exception {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)))) {
      // The first attempt hangs; the second (told its number, as each attempt is) finishes at once.
      String id =
          plane.queue(
              LifecycleIT.withRetries(
                  LifecycleIT.sh("if [ \"$HODEI_ATTEMPT\" = 1 ]; then exec sleep 60; else echo again; fi"), 2));
      await().atMost(Duration.ofSeconds(30)).until(() -> plane.get(id).getState() == JobState.JOB_STATE_RUNNING);
      String first = plane.get(id).getWorkerId();

      SchedulerServiceGrpc.newBlockingStub(plane.channel)
          .deregisterWorker(
              io.hodei.api.v1.DeregisterWorkerRequest.newBuilder().setWorkerId(first).setReason("hardware fault").build());

      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      var job = plane.get(id);
      assertThat(job.getAttempts(0).getErrorMessage()).contains("deregistered: hardware fault");
      assertThat(job.getAttempts(1).getWorkerId()).isNotEqualTo(first);
      var refused =
          org.assertj.core.api.Assertions.catchThrowableOfType(
              io.grpc.StatusRuntimeException.class,
              () -> SchedulerServiceGrpc.newBlockingStub(plane.channel)
                  .deregisterWorker(io.hodei.api.v1.DeregisterWorkerRequest.newBuilder().setWorkerId("w-nobody").build()));
      assertThat(refused.getStatus().getCode()).isEqualTo(io.grpc.Status.Code.NOT_FOUND);
    }
  }

  private static List<io.hodei.api.v1.Worker> workers(TestControlPlane plane) {
    return SchedulerServiceGrpc.newBlockingStub(plane.channel)
        .listWorkers(ListWorkersRequest.getDefaultInstance())
        .getWorkersList();
  }

  @Test
  void aWarmPoolStartsWorkersBeforeAnyJobAndKeepsThemPastTheIdleTimeout() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(3, Duration.ofSeconds(1), Duration.ofSeconds(60)).withMinIdle(2))) {
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> assertThat(workers(plane)).extracting(w -> w.getStatus())
                  .containsExactly(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_READY, io.hodei.api.v1.WorkerStatus.WORKER_STATUS_READY));
      // Well past the idle timeout, the two warm workers are still there, and no third appeared.
      await().during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
          .until(() -> workers(plane).stream().filter(w -> w.getStatus() == io.hodei.api.v1.WorkerStatus.WORKER_STATUS_READY).count() == 2
              && workers(plane).size() == 2);
      String job = plane.queue(TestControlPlane.shell("echo", "warm"));
      assertThat(plane.follow(job).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }
  }

  @Test
  void anEphemeralWorkerRunsOneJobAndIsThenStopped() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)).asEphemeral())) {
      String first = plane.queue(TestControlPlane.shell("echo", "one"));
      assertThat(plane.follow(first).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      String second = plane.queue(TestControlPlane.shell("echo", "two"));
      assertThat(plane.follow(second).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

      String firstWorker = plane.get(first).getAttempts(0).getWorkerId();
      assertThat(plane.get(second).getAttempts(0).getWorkerId()).isNotEqualTo(firstWorker);
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> assertThat(workers(plane))
                  .filteredOn(w -> w.getInfo().getWorkerId().equals(firstWorker))
                  .extracting(w -> w.getStatus())
                  .containsExactly(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_TERMINATED));
    }
  }

  @Test
  void aWorkerPastItsMaxLifetimeIsRetiredAndReplaced() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)).withMaxLifetime(Duration.ofSeconds(2)))) {
      String first = plane.queue(TestControlPlane.shell("echo", "one"));
      assertThat(plane.follow(first).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      String old = plane.get(first).getAttempts(0).getWorkerId();
      await()
          .atMost(Duration.ofSeconds(30))
          .untilAsserted(
              () -> assertThat(workers(plane))
                  .filteredOn(w -> w.getInfo().getWorkerId().equals(old))
                  .extracting(w -> w.getStatus())
                  .containsExactly(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_TERMINATED));

      String second = plane.queue(TestControlPlane.shell("echo", "two"));
      assertThat(plane.follow(second).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      assertThat(plane.get(second).getAttempts(0).getWorkerId()).isNotEqualTo(old);
    }
  }

  @Test
  void aBurstOfFiftyJobsNeverStartsMoreWorkersThanThePoolAllows() throws Exception {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(3, Duration.ofMinutes(2), Duration.ofSeconds(60)))) {
      List<String> ids = new java.util.ArrayList<>();
      for (int i = 0; i < 50; i++) {
        ids.add(plane.queue(TestControlPlane.shell("echo", "burst-" + i)));
      }
      for (String id : ids) {
        assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      }
      assertThat(java.nio.file.Files.list(dir.resolve("workers")).count()).isBetween(1L, 3L);
      assertThat(ids.stream().map(id -> plane.get(id).getAttempts(0).getWorkerId()).distinct().count())
          .isBetween(1L, 3L);
    }
  }

  @Test
  void aWorkerRunsSeveralJobsAtOnceUpToItsSlots() {
    try (var plane =
        new TestControlPlane(
            dir, Clock.systemUTC(), new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)).withJobsPerWorker(2))) {
      String a = plane.queue(TestControlPlane.shell("sleep", "3"));
      String b = plane.queue(TestControlPlane.shell("sleep", "3"));
      String c = plane.queue(TestControlPlane.shell("echo", "third"));

      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () -> plane.get(a).getState() == JobState.JOB_STATE_RUNNING
                  && plane.get(b).getState() == JobState.JOB_STATE_RUNNING);
      assertThat(plane.get(a).getWorkerId()).isEqualTo(plane.get(b).getWorkerId());
      assertThat(plane.get(c).getState()).isEqualTo(JobState.JOB_STATE_PENDING);
      assertThat(plane.follow(c).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }
  }
}
