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
  TestControlPlane plane;

  @BeforeEach
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                .withPort(0)
                .withHeartbeats(Duration.ofMillis(300), Duration.ofMillis(2000)),
            List.of());
  }

  /** The first attempt's sleep: a command line no other process has, to find it from the host. */
  private final String firstAttemptSleep = HostProcesses.uniqueSleep(60);

  @AfterEach
  void stop() throws Exception {
    plane.close();
    HostProcesses.killAll("sleep", firstAttemptSleep);
  }

  /** First attempt: hang; later attempts (HODEI_ATTEMPT in their environment): finish at once. */
  private String twoFacedJob(int attempts) {
    return plane.queue(
        LifecycleIT.withRetries(
            LifecycleIT.sh(
                "if [ \"$HODEI_ATTEMPT\" -ge 2 ]; then echo second; else echo first; exec sleep " + firstAttemptSleep + "; fi"),
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

  /**
   * A frozen worker is fenced: once it is presumed lost it is killed with its job, and only then
   * does the job run again, so the two attempts never run at once (a frozen worker that thawed
   * would otherwise finish, or report, a job that another worker is running).
   */
  @Test
  void aFrozenWorkerIsFencedWithItsJobBeforeTheJobRunsAgain() throws Exception {
    String id = twoFacedJob(2);
    WorkerId first = workerOf(id);
    long workerPid = plane.provider.pid(first).orElseThrow();
    List<Long> firstAttempt =
        await().atMost(Duration.ofSeconds(30)).until(() -> HostProcesses.withArguments("sleep", firstAttemptSleep), l -> !l.isEmpty());
    var overlap = new java.util.concurrent.atomic.AtomicBoolean();
    var watching = new java.util.concurrent.atomic.AtomicBoolean(true);
    Thread watcher =
        Thread.ofVirtual().start(() -> {
          while (watching.get()) {
            boolean firstAlive = firstAttempt.stream().anyMatch(HostProcesses::alive);
            if (firstAlive && plane.get(id).getAttemptsCount() > 1) {
              overlap.set(true);
            }
            try {
              Thread.sleep(10);
            } catch (InterruptedException e) {
              return;
            }
          }
        });

    signal("STOP", workerPid);
    try {
      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    } finally {
      watching.set(false);
      watcher.join();
      if (ProcessHandle.of(workerPid).isPresent()) {
        signal("CONT", workerPid);
      }
    }

    var job = plane.get(id);
    assertThat(job.getAttemptsList()).hasSize(2);
    assertThat(job.getAttempts(0).getState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(job.getAttempts(0).getErrorMessage()).contains("was lost");
    assertThat(job.getAttempts(1).getWorkerId()).isNotEqualTo(first.value());
    assertThat(overlap).as("the second attempt existed while the first one's process still ran").isFalse();
    assertThat(firstAttempt).noneMatch(HostProcesses::alive);
    assertThat(ProcessHandle.of(workerPid).map(ProcessHandle::isAlive)).as("the frozen worker").isNotEqualTo(java.util.Optional.of(true));
  }

  @Test
  void aJobPastItsTimeoutOnASilentWorkerIsTimedOutByTheServer() throws Exception {
    plane.close();
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                .withPort(0)
                .withHeartbeats(Duration.ofMillis(300), Duration.ofMillis(2000))
                .withTimeoutMargin(Duration.ofMillis(200)),
            List.of());
    String id =
        plane.queue(
            LifecycleIT.sh("exec sleep " + firstAttemptSleep).toBuilder()
                .setTimeout(com.google.protobuf.util.Durations.fromMillis(1000))
                .build());
    WorkerId worker = workerOf(id);
    long workerPid = plane.provider.pid(worker).orElseThrow();

    signal("STOP", workerPid); // the worker cannot enforce the timeout now
    try {
      assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_TIMEOUT);
      assertThat(plane.get(id).getErrorMessage()).contains("timed out");
    } finally {
      if (ProcessHandle.of(workerPid).isPresent()) {
        signal("CONT", workerPid);
      }
    }
  }
}
