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
 * ending Cancelled for good; with {@code --cancel-running} it is cancelled, as asked.
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

  private record Closing(ManagedChannel channel) implements AutoCloseable {
    @Override
    public void close() {
      channel.shutdownNow();
    }
  }
}
