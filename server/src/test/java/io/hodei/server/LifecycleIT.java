package io.hodei.server;

import static io.hodei.api.v1.LogStream.LOG_STREAM_STDERR;
import static io.hodei.api.v1.LogStream.LOG_STREAM_STDOUT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.util.Durations;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobEvent;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.RetryJobRequest;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.WatchJobRequest;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Cancel, timeout, retry, history and listing, end to end on real workers and processes. */
class LifecycleIT {
  @TempDir static Path dir;
  static TestControlPlane plane;

  @BeforeAll
  static void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(3, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0).withLogCap(4096),
            List.of());
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  static JobDefinition sh(String script) {
    return TestControlPlane.shell("sh", "-c", script);
  }

  static JobDefinition withRetries(JobDefinition d, int attempts) {
    return d.toBuilder()
        .setRetryPolicy(
            RetryPolicy.newBuilder()
                .setMaxAttempts(attempts)
                .setInitialBackoff(Durations.fromMillis(100))
                .setBackoffMultiplier(2)
                .setMaxBackoff(Durations.fromSeconds(1)))
        .build();
  }

  static boolean alive(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
      return !stat.substring(stat.lastIndexOf(')') + 2).startsWith("Z");
    } catch (java.io.IOException gone) {
      return false;
    }
  }

  @Test
  void cancellingARunningJobKillsItsWholeProcessGroupAndRecordsWhoAndWhy() throws Exception {
    // Found from the host by their command lines: the job cannot write to the test's directory.
    String own = HostProcesses.uniqueSleep(300);
    String grandchild = HostProcesses.uniqueSleep(300);
    String id =
        plane.queue(sh("sleep " + own + " & sh -c 'sleep " + grandchild + " &'; echo started; wait"));
    List<Long> pids =
        await().atMost(Duration.ofSeconds(30)).until(
            () -> {
              var found = new java.util.ArrayList<>(HostProcesses.withArguments("sleep", own));
              found.addAll(HostProcesses.withArguments("sleep", grandchild));
              return found;
            },
            found -> found.size() == 2);

    var response =
        plane.jobs().cancelJob(CancelJobRequest.newBuilder().setJobId(id).setReason("no longer needed").build());

    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_CANCELLED);
    var job = plane.get(id);
    assertThat(job.getCancelReason()).isEqualTo("no longer needed");
    // The principal: this fixture's anonymous local caller, an admin as in `hodei dev`.
    assertThat(job.getCancelledBy()).isEqualTo("anonymous");
    assertThat(response.getJob().getState()).isIn(JobState.JOB_STATE_RUNNING, JobState.JOB_STATE_CANCELLED);
    for (long pid : pids) {
      await().atMost(Duration.ofSeconds(15)).until(() -> !alive(pid));
    }
    var again =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> plane.jobs().cancelJob(CancelJobRequest.newBuilder().setJobId(id).build()));
    assertThat(again.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void aTimedOutJobEndsTimeoutAndIsRetriedWhileAttemptsRemain() {
    var definition =
        withRetries(TestControlPlane.shell("sleep", "30"), 2).toBuilder().setTimeout(Durations.fromMillis(700)).build();

    String id = plane.queue(definition);

    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_TIMEOUT);
    var job = plane.get(id);
    assertThat(job.getAttemptsList()).hasSize(2).allSatisfy(a -> {
      assertThat(a.getState()).isEqualTo(JobState.JOB_STATE_TIMEOUT);
      assertThat(a.getErrorMessage()).contains("timed out");
    });
  }

  @Test
  void aFailingJobIsRetriedAndEachAttemptKeepsItsRecordAndLogs() throws Exception {
    // Each attempt knows its number from its environment (HODEI_ATTEMPT): the first fails.
    String id =
        plane.queue(withRetries(sh("echo try; if [ \"$HODEI_ATTEMPT\" -ge 2 ]; then echo ok; else exit 4; fi"), 3));

    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    var job = plane.get(id);
    assertThat(job.getAttemptsList()).hasSize(2);
    assertThat(job.getAttempts(0).getState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(job.getAttempts(0).getExitCode()).isEqualTo(4);
    assertThat(job.getAttempts(1).getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(job.getAttempts(1).getStartedAt().getSeconds())
        .isGreaterThanOrEqualTo(job.getAttempts(0).getFinishedAt().getSeconds());
    assertThat(log.lines()).extracting(l -> l.getAttempt() + ":" + l.getData().toStringUtf8())
        .containsExactly("1:try", "2:try", "2:ok");
  }

  @Test
  void aFailedJobWithNoRetryLeftCanBeRetriedByHand() {
    String id = plane.queue(sh("exit 9"));
    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);

    plane.jobs().retryJob(RetryJobRequest.newBuilder().setJobId(id).build());

    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(plane.get(id).getAttemptsList()).hasSize(2);
    String ok = plane.queue(TestControlPlane.shell("true"));
    assertThat(plane.follow(ok).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    var refused =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> plane.jobs().retryJob(RetryJobRequest.newBuilder().setJobId(ok).build()));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
  }

  @Test
  void watchingAJobReplaysAndFollowsEveryStateChange() {
    String id = plane.queue(TestControlPlane.shell("echo", "watched"));

    List<JobEvent> events = new ArrayList<>();
    JobExecutionServiceGrpc.newBlockingStub(plane.channel)
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .watchJob(WatchJobRequest.newBuilder().setJobId(id).setFromSequence(1).build())
        .forEachRemaining(events::add);

    assertThat(events)
        .extracting(JobEvent::getState)
        .containsExactly(
            JobState.JOB_STATE_PENDING,
            JobState.JOB_STATE_SCHEDULED,
            JobState.JOB_STATE_RUNNING,
            JobState.JOB_STATE_SUCCEEDED);
    assertThat(events).extracting(JobEvent::getSequence).containsExactly(1L, 2L, 3L, 4L);
    assertThat(events.get(1).getMessage()).startsWith("scheduled on w-");
  }

  @Test
  void aLogPastItsCapEndsWithAMarkerAndTheJobStillSucceeds() {
    String id = plane.queue(sh("i=0; while [ $i -lt 200 ]; do echo line-$i-0123456789012345678901234567890123456789; i=$((i+1)); done"));

    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    var stdout = log.text(LOG_STREAM_STDOUT);
    assertThat(stdout).hasSizeBetween(50, 120).startsWith("line-0-0123456789012345678901234567890123456789");
    assertThat(log.lines().getLast().getStream()).isEqualTo(LOG_STREAM_STDERR);
    assertThat(log.lines().getLast().getData().toStringUtf8()).contains("log truncated").contains("4096");
    assertThat(plane.get(id).getExitCode()).isZero();
  }

  @Test
  void jobsCanBeListedByStateLabelNameAndCreationTime() {
    var before = com.google.protobuf.util.Timestamps.fromMillis(System.currentTimeMillis() - 1);
    String a = plane.queue(TestControlPlane.shell("true").toBuilder().setName("report-daily").putLabels("team", "blue").build());
    String b = plane.queue(TestControlPlane.shell("true").toBuilder().setName("report-weekly").putLabels("team", "red").build());
    plane.follow(a);
    plane.follow(b);

    var byLabel = plane.jobs().listJobs(ListJobsRequest.newBuilder().putLabels("team", "blue").build());
    var byName = plane.jobs().listJobs(ListJobsRequest.newBuilder().setNamePrefix("report-").build());
    var recentSucceeded =
        plane.jobs().listJobs(
            ListJobsRequest.newBuilder().setCreatedAfter(before).addStates(JobState.JOB_STATE_SUCCEEDED).setPageSize(1).build());

    assertThat(byLabel.getJobsList()).extracting(j -> j.getJobId()).containsExactly(a);
    assertThat(byName.getJobsList()).extracting(j -> j.getJobId()).containsExactly(b, a);
    assertThat(recentSucceeded.getJobsList()).extracting(j -> j.getJobId()).containsExactly(b);
    var next =
        plane.jobs().listJobs(
            ListJobsRequest.newBuilder()
                .setCreatedAfter(before)
                .addStates(JobState.JOB_STATE_SUCCEEDED)
                .setPageSize(1)
                .setPageToken(recentSucceeded.getNextPageToken())
                .build());
    assertThat(next.getJobsList()).extracting(j -> j.getJobId()).containsExactly(a);
  }

  @Test
  void aSlowLogReaderGetsEveryLineInOrderAtItsOwnPace() throws Exception {
    // This class's plane caps logs at 4 KiB; this test needs a whole 108 KiB log.
    try (var uncapped = TestControlPlane.start(dir.resolve("uncapped"))) {
      readSlowly(uncapped);
    }
  }

  private static void readSlowly(TestControlPlane plane) throws Exception {
    String id = plane.queue(sh("seq 1 20000"));
    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

    var received = new java.util.concurrent.CopyOnWriteArrayList<String>();
    var done = new java.util.concurrent.CompletableFuture<Void>();
    io.hodei.api.v1.LogStreamServiceGrpc.newStub(plane.channel)
        .streamLogs(
            io.hodei.api.v1.StreamLogsRequest.newBuilder().setJobId(id).build(),
            new io.grpc.stub.ClientResponseObserver<io.hodei.api.v1.StreamLogsRequest, io.hodei.api.v1.StreamLogsResponse>() {
              io.grpc.stub.ClientCallStreamObserver<io.hodei.api.v1.StreamLogsRequest> call;

              @Override
              public void beforeStart(io.grpc.stub.ClientCallStreamObserver<io.hodei.api.v1.StreamLogsRequest> requestStream) {
                call = requestStream;
                requestStream.disableAutoRequestWithInitial(1);
              }

              @Override
              public void onNext(io.hodei.api.v1.StreamLogsResponse value) {
                value.getLinesList().forEach(l -> received.add(l.getData().toStringUtf8()));
                Thread.ofVirtual().start(() -> {
                  try {
                    Thread.sleep(20); // a slow reader
                  } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                  }
                  call.request(1);
                });
              }

              @Override
              public void onError(Throwable t) {
                done.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                done.complete(null);
              }
            });
    done.get(60, TimeUnit.SECONDS);

    assertThat(received).hasSize(20000);
    assertThat(received.getFirst()).isEqualTo("1");
    assertThat(received.getLast()).isEqualTo("20000");
    assertThat(received).isSortedAccordingTo(java.util.Comparator.comparingInt(Integer::parseInt));
  }
}
