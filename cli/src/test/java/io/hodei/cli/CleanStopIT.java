package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A clean stop of {@code hodei dev} (SIGTERM, as Ctrl-C) loses no more than a crash: the job its
 * local worker was running goes back to the queue and runs again at the next start, instead of
 * ending Cancelled for good; with {@code --cancel-running} it is cancelled, as asked. A clean stop
 * of {@code hodei server} leaves the job running on its worker, which reports it to the next
 * server: the same attempt ends, nothing runs twice (what a rolling restart depends on).
 */
class CleanStopIT {
  @TempDir Path dir;

  private static Job get(ManagedChannel channel, String id) {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
  }

  private static String queueLongFirstAttempt(ManagedChannel channel) {
    var definition = JobDefinition.newBuilder()
        .setName("long-first-attempt")
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("sh").addArgs("-c")
            .addArgs("if [ \"$HODEI_ATTEMPT\" = 1 ]; then sleep 60; fi; echo attempt $HODEI_ATTEMPT")))
        .build();
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
  }

  @Test
  void aJobRunningAtACleanStopRunsAgainAtTheNextStart() throws Exception {
    Path data = dir.resolve("data");
    String id;
    try (var first = new ServerProcess(data, List.of()).start(); var channel = new Closing(first.channel())) {
      id = queueLongFirstAttempt(channel.channel);
      await().atMost(Duration.ofSeconds(60)).until(() -> get(channel.channel, id).getState() == JobState.JOB_STATE_RUNNING);
    } // SIGTERM, and wait for it to end

    try (var again = new ServerProcess(data, List.of()).start(); var channel = new Closing(again.channel())) {
      await().atMost(Duration.ofSeconds(90)).until(() -> get(channel.channel, id).getState() == JobState.JOB_STATE_SUCCEEDED);
      var job = get(channel.channel, id);
      assertThat(job.getAttempt()).isEqualTo(2);
      assertThat(job.getAttemptsList()).first().satisfies(a -> assertThat(a.getErrorMessage()).contains("the control plane stopped"));
    }
  }

  @Test
  void withCancelRunningACleanStopCancelsIt() throws Exception {
    Path data = dir.resolve("data");
    String id;
    try (var first = new ServerProcess(data, List.of("--cancel-running")).start(); var channel = new Closing(first.channel())) {
      id = queueLongFirstAttempt(channel.channel);
      await().atMost(Duration.ofSeconds(60)).until(() -> get(channel.channel, id).getState() == JobState.JOB_STATE_RUNNING);
    }

    try (var again = new ServerProcess(data, List.of()).start(); var channel = new Closing(again.channel())) {
      assertThat(get(channel.channel, id).getState()).isEqualTo(JobState.JOB_STATE_CANCELLED);
    }
  }

  @Test
  void aCleanStopOfHodeiServerLeavesTheJobRunningOnItsWorkerWhichReportsToTheNextServer() throws Exception {
    Path data = dir.resolve("data");
    String token;
    // A user's token, issued in the store before the server owns the directory.
    try (var database = io.hodei.store.Database.sqlite(data)) {
      token = new io.hodei.core.auth.TokenService(io.hodei.store.Stores.open(database).tokens(), java.time.Clock.systemUTC())
          .issue("alice", io.hodei.core.auth.Role.USER, java.util.Optional.empty()).token();
    }
    List<ProcessHandle> workers = new java.util.ArrayList<>();
    String id;
    // One address for both lives: the workers reconnect to it.
    var server = ServerProcess.server(data, List.of(), token);
    try {
      try (var first = server.start(); var channel = new Closing(first.channel())) {
        var definition = JobDefinition.newBuilder()
            .setName("spans-a-restart")
            .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("sh").addArgs("-c")
                .addArgs("sleep 8; echo attempt $HODEI_ATTEMPT")))
            .build();
        id = JobExecutionServiceGrpc.newBlockingStub(channel.channel).withDeadlineAfter(20, TimeUnit.SECONDS)
            .queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
        await().atMost(Duration.ofSeconds(60)).until(() -> get(channel.channel, id).getState() == JobState.JOB_STATE_RUNNING);
        workers.addAll(first.handle().descendants().toList());
      } // SIGTERM, and wait for it to end
      assertThat(workers).as("the worker outlives the server").anyMatch(ProcessHandle::isAlive);

      try (var again = server.start(); var channel = new Closing(again.channel())) {
        await().atMost(Duration.ofSeconds(90)).until(() -> get(channel.channel, id).getState() == JobState.JOB_STATE_SUCCEEDED);
        var job = get(channel.channel, id);
        assertThat(job.getAttempt()).as("the same attempt ended; nothing ran twice").isEqualTo(1);
        var lines = new java.util.ArrayList<String>();
        io.hodei.api.v1.LogStreamServiceGrpc.newBlockingStub(channel.channel).withDeadlineAfter(20, TimeUnit.SECONDS)
            .streamLogs(io.hodei.api.v1.StreamLogsRequest.newBuilder().setJobId(id).build())
            .forEachRemaining(r -> r.getLinesList().forEach(l -> lines.add(l.getData().toStringUtf8())));
        assertThat(lines).containsExactly("attempt 1");
        workers.addAll(again.handle().descendants().toList());
      }
    } finally {
      // hodei server leaves its workers running by design: end them here.
      workers.forEach(ProcessHandle::destroyForcibly);
    }
  }

  private record Closing(ManagedChannel channel) implements AutoCloseable {
    @Override
    public void close() {
      channel.shutdownNow();
    }
  }
}
