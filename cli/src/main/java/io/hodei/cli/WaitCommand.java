package io.hodei.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei wait JOB_ID}: waits for a job to end and exits with its code, as {@code hodei run} would. */
@Command(
    name = "wait",
    mixinStandardHelpOptions = true,
    description = {
      "Waits for a job to end and exits with its exit code (124 if it timed out, 130 if it was",
      "cancelled), as hodei run would. Survives a restarting server.",
      "",
      "  id=$(hodei run --detach -- make test) && hodei wait \"$id\""
    })
final class WaitCommand extends ClientCommand {
  /** How long the server may be away before waiting gives up. */
  private static final Duration RECONNECT_FOR = Duration.ofMinutes(2);

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = {"-q", "--quiet"}, description = "Print nothing, even when the job did not succeed.")
  boolean quiet;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel);
    Instant giveUp = null;
    long pause = 100;
    while (true) {
      Job job;
      try {
        job = jobs.withDeadlineAfter(30, TimeUnit.SECONDS).getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
        giveUp = null;
      } catch (StatusRuntimeException e) {
        if (!LogFollower.worthReconnecting(e.getStatus())) {
          throw e;
        }
        Instant now = Instant.now();
        if (giveUp == null) {
          giveUp = now.plus(RECONNECT_FOR);
        } else if (now.isAfter(giveUp)) {
          throw e;
        }
        sleep(1000);
        continue;
      }
      switch (job.getState()) {
        case JOB_STATE_PENDING, JOB_STATE_SCHEDULED, JOB_STATE_RUNNING -> {
          sleep(pause);
          pause = Math.min(1000, pause * 2);
        }
        default -> {
          if (job.getState() != JobState.JOB_STATE_SUCCEEDED && !quiet) {
            System.err.println("hodei: job " + jobId + " " + RunCommand.describe(job));
          }
          return RunCommand.exitCode(job.getState(), job);
        }
      }
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }
}
