package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.WorkerStatus;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker killed or frozen in the middle of a job: the job is settled, retried, never stuck. */
class WorkerCrashIT {
  @TempDir Path dir;
  ControlPlane plane;

  @BeforeEach
  void start() {
    plane =
        new ControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                .withPort(0)
                .withHeartbeats(Duration.ofMillis(300), Duration.ofMillis(2000)),
            List.of());
  }

  @AfterEach
  void stop() throws Exception {
    plane.close();
    Path pids = dir.resolve("pids");
    if (Files.exists(pids)) {
      for (String pid : Files.readAllLines(pids)) {
        ProcessHandle.of(Long.parseLong(pid.strip())).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  /** First attempt: record its pid and hang; later attempts: finish at once. */
  private String twoFacedJob(int attempts) {
    Path flag = dir.resolve("flag");
    Path pids = dir.resolve("pids");
    return plane.queue(
        LifecycleIT.withRetries(
            LifecycleIT.sh(
                "if [ -f " + flag + " ]; then echo second; else touch " + flag + "; echo $$ >> " + pids
                    + "; echo first; exec sleep 60; fi"),
            attempts));
  }

  private WorkerId workerOf(String jobId) {
    await().atMost(Duration.ofSeconds(30)).until(() -> plane.get(jobId).getState() == JobState.JOB_STATE_RUNNING);
    return new WorkerId(plane.get(jobId).getWorkerId());
  }

  private static void signal(String signal, long pid) throws Exception {
    new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).inheritIO().start().waitFor();
  }

  @Test
  void aJobOfAKilledWorkerIsRetriedOnAnotherWorker() throws Exception {
    String id = twoFacedJob(2);
    WorkerId first = workerOf(id);

    signal("KILL", plane.provider.pid(first).orElseThrow());

    var log = plane.follow(id);
    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    var job = plane.get(id);
    assertThat(job.getAttemptsList()).hasSize(2);
    assertThat(job.getAttempts(0).getState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(job.getAttempts(0).getErrorMessage()).contains(first.value());
    assertThat(job.getAttempts(1).getWorkerId()).isNotEqualTo(first.value());
  }

  @Test
  void aJobOfAKilledWorkerWithNoRetryLeftFailsSayingTheWorkerWasLost() throws Exception {
    String id = twoFacedJob(1);
    WorkerId first = workerOf(id);

    signal("KILL", plane.provider.pid(first).orElseThrow());

    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(plane.get(id).getErrorMessage()).contains("worker " + first.value());
  }

  @Test
  void aFrozenWorkerIsLostAfterTheHeartbeatTimeoutAndToldToDropTheJobWhenItComesBack()
      throws Exception {
    String id = twoFacedJob(2);
    WorkerId first = workerOf(id);
    long workerPid = plane.provider.pid(first).orElseThrow();
    long jobPid = Long.parseLong(Files.readAllLines(dir.resolve("pids")).getFirst().strip());

    signal("STOP", workerPid);
    try {
      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      var job = plane.get(id);
      assertThat(job.getAttempts(0).getErrorMessage()).contains("was lost");
      var workers = SchedulerServiceGrpc.newBlockingStub(plane.channel);
      assertThat(workers.listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList())
          .filteredOn(w -> w.getInfo().getWorkerId().equals(first.value()))
          .extracting(w -> w.getStatus())
          .containsExactly(WorkerStatus.WORKER_STATUS_UNHEALTHY);
      assertThat(LifecycleIT.alive(jobPid)).isTrue();
    } finally {
      signal("CONT", workerPid);
    }

    // Back from the dead, the worker learns it no longer owns the first attempt and kills it.
    await().atMost(Duration.ofSeconds(30)).until(() -> !LifecycleIT.alive(jobPid));
    var job = plane.get(id);
    assertThat(job.getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(job.getAttempts(0).getState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(job.getAttemptsList()).hasSize(2);
  }

  @Test
  void aJobPastItsTimeoutOnASilentWorkerIsTimedOutByTheServer() throws Exception {
    plane.close();
    plane =
        new ControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                .withPort(0)
                .withHeartbeats(Duration.ofMillis(300), Duration.ofMillis(2000))
                .withTimeoutMargin(Duration.ofMillis(200)),
            List.of());
    Path pids = dir.resolve("pids");
    String id =
        plane.queue(
            LifecycleIT.sh("echo $$ >> " + pids + "; exec sleep 60").toBuilder()
                .setTimeout(com.google.protobuf.util.Durations.fromMillis(1000))
                .build());
    WorkerId worker = workerOf(id);
    long workerPid = plane.provider.pid(worker).orElseThrow();

    signal("STOP", workerPid); // the worker cannot enforce the timeout now
    try {
      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_TIMEOUT);
      assertThat(plane.get(id).getErrorMessage()).contains("timed out");
    } finally {
      signal("CONT", workerPid);
    }
  }
}
