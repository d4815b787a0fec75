package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.hodei.api.v1.AssignJobRequest;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.WorkerJobServiceGrpc;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the control plane while jobs are Pending, Scheduled and Running. After the restart,
 * the running job's worker resumes its session, the job finishes with all its output, the pending
 * job runs, and the scheduled job that never reached its worker is run again — each attempt once.
 */
class ServerCrashIT {
  @TempDir Path dir;

  private static JobDefinition shell(String name, String script) {
    return JobDefinition.newBuilder()
        .setName(name)
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("sh").addArgs("-c").addArgs(script)))
        .build();
  }

  private static JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs(ManagedChannel channel) {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static WorkerJobServiceGrpc.WorkerJobServiceBlockingStub workerJobs(ManagedChannel channel) {
    return WorkerJobServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  private static Job get(ManagedChannel channel, String id) {
    return jobs(channel).getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
  }

  private static List<LogLine> logs(ManagedChannel channel, String id) {
    var lines = new ArrayList<LogLine>();
    LogStreamServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(20, TimeUnit.SECONDS)
        .streamLogs(StreamLogsRequest.newBuilder().setJobId(id).build())
        .forEachRemaining(r -> lines.addAll(r.getLinesList()));
    return lines;
  }

  @Test
  void jobsPendingScheduledAndRunningAllFinishAfterTheServerIsKilled() throws Exception {
    try (var server =
        new ServerProcess(
                dir.resolve("data"),
                List.of("--max-workers", "1", "--heartbeat-interval", "2s", "--heartbeat-timeout", "20s"))
            .start()) {
      String running, pending, scheduled;
      var channel = server.channel();
      try {
        running =
            jobs(channel)
                .queueJob(
                    QueueJobRequest.newBuilder()
                        .setDefinition(
                            shell("running", "echo first; sleep 4; echo second"))
                        .build())
                .getJobId();
        await().atMost(Duration.ofSeconds(60)).until(() -> get(channel, running).getState() == JobState.JOB_STATE_RUNNING);
        await().atMost(Duration.ofSeconds(10)).until(() -> !logs(channel, running).isEmpty());
        pending =
            jobs(channel)
                .queueJob(QueueJobRequest.newBuilder().setDefinition(shell("pending", "echo pending-ran")).build())
                .getJobId();
        scheduled =
            jobs(channel)
                .queueJob(QueueJobRequest.newBuilder().setDefinition(shell("scheduled", "echo scheduled-ran")).build())
                .getJobId();
        // Scheduled on the busy worker through the unary API: the worker never hears of it.
        String worker = get(channel, running).getWorkerId();
        workerJobs(channel).assignJob(AssignJobRequest.newBuilder().setJobId(scheduled).setWorkerId(worker).build());
        assertThat(get(channel, scheduled).getState()).isEqualTo(JobState.JOB_STATE_SCHEDULED);
        assertThat(get(channel, pending).getState()).isEqualTo(JobState.JOB_STATE_PENDING);
      } finally {
        channel.shutdownNow();
      }

      server.kill9();
      var restartedAt = java.time.Instant.now();
      server.start();

      var after = server.channel();
      try {
        for (String id : List.of(running, pending, scheduled)) {
          await()
              .atMost(Duration.ofSeconds(90))
              .until(() -> get(after, id).getState().getNumber() >= JobState.JOB_STATE_SUCCEEDED_VALUE);
          assertThat(get(after, id).getState()).as("%s", get(after, id)).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
        }
        assertThat(logs(after, running))
            .extracting(l -> l.getData().toStringUtf8())
            .containsExactly("first", "second");
        assertThat(get(after, running).getAttemptsList()).hasSize(1);
        // Ran exactly once, across the crash: one attempt, and "first" once in its log (above).
        assertThat(logs(after, pending)).extracting(l -> l.getData().toStringUtf8()).containsExactly("pending-ran");
        var scheduledJob = get(after, scheduled);
        assertThat(scheduledJob.getAttemptsList()).hasSize(2);
        // It went back to the queue after the restart, when the worker's heartbeat did not list it.
        var history = new ArrayList<io.hodei.api.v1.JobEvent>();
        jobs(after)
            .watchJob(io.hodei.api.v1.WatchJobRequest.newBuilder().setJobId(scheduled).setFromSequence(1).build())
            .forEachRemaining(history::add);
        assertThat(history)
            .filteredOn(e -> e.getMessage().contains("never received"))
            .singleElement()
            .satisfies(e -> assertThat(com.google.protobuf.util.Timestamps.toMillis(e.getAt()))
                .isGreaterThanOrEqualTo(restartedAt.toEpochMilli()));
        assertThat(logs(after, scheduled)).extracting(l -> l.getData().toStringUtf8()).containsExactly("scheduled-ran");
      } finally {
        after.shutdownNow();
      }
    }
  }
}
