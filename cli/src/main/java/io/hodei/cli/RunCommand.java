package io.hodei.cli;

import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hodei run}: queue a job, follow its output, exit with its exit code. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Queues a job, prints its output as it runs and exits with the job's exit code",
      "(124 if it timed out, 130 if it was cancelled).",
      "",
      "  hodei run -- echo hello",
      "  hodei run --script build.sh --interpreter bash",
      "  hodei run --detach -- make test     (prints the job id; hodei wait ID, hodei logs -f ID)"
    })
final class RunCommand extends ClientCommand {
  static final int EXIT_TIMEOUT = 124;
  static final int EXIT_CANCELLED = 130;
  static final int EXIT_NOT_STARTED = 127;

  @Mixin JobOptions job = new JobOptions();

  @Option(names = {"-q", "--quiet"}, description = "Print only the job's output.")
  boolean quiet;

  @Option(names = {"-d", "--detach"}, description = "Print the job's id and exit 0 once it is queued; follow it later with hodei wait or hodei logs --follow.")
  boolean detach;

  /** Job output goes to this process's stdout and stderr as bytes, not through {@code out}. */
  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    JobDefinition definition = job.definition();
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel);
    String jobId = jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
    if (detach) {
      out.println(jobId);
      return 0;
    }
    status("queued job " + jobId);
    Thread waiting = quiet ? null : Thread.ofVirtual().start(() -> reportWaiting(jobs, jobId));
    var finalState = new LogFollower(channel, System.out, System.err, 0).print(jobId, true);
    if (waiting != null) {
      waiting.interrupt();
    }
    Job job = jobs.getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
    JobState state = finalState.orElse(job.getState());
    if (state != JobState.JOB_STATE_SUCCEEDED) {
      status("job " + jobId + " " + describe(job));
    }
    return exitCode(state, job);
  }

  static int exitCode(JobState state, Job job) {
    return switch (state) {
      case JOB_STATE_SUCCEEDED -> 0;
      case JOB_STATE_TIMEOUT -> EXIT_TIMEOUT;
      case JOB_STATE_CANCELLED -> EXIT_CANCELLED;
      default -> job.hasExitCode() && job.getExitCode() != 0 ? job.getExitCode() : EXIT_NOT_STARTED;
    };
  }

  /**
   * What the job waits for while it waits, and, while it runs, each attempt that ends without
   * ending the job (its worker lost, a retry after a failure) and the next one that starts.
   */
  private void reportWaiting(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String jobId) {
    String last = "";
    int attempt = 0;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        Job job = jobs.getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
        if (job.getState() != JobState.JOB_STATE_PENDING && job.getState() != JobState.JOB_STATE_SCHEDULED
            && job.getState() != JobState.JOB_STATE_RUNNING) {
          return;
        }
        if (attempt > 0 && job.getAttempt() > attempt) {
          status(attemptEnded(job, attempt));
          last = "";
        }
        attempt = Math.max(attempt, job.getAttempt());
        String now =
            switch (job.getState()) {
              case JOB_STATE_SCHEDULED -> "starting on worker " + job.getWorkerId();
              case JOB_STATE_PENDING -> job.getWaitingReason();
              default -> "";
            };
        if (!now.isEmpty() && !now.equals(last)) {
          status(now);
          last = now;
        }
        Thread.sleep(job.getState() == JobState.JOB_STATE_RUNNING ? 1000 : 250);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } catch (RuntimeException e) {
        // Only a progress display: the log follower reports real failures and reconnects.
        try {
          Thread.sleep(1000);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }

  /** "attempt 1 of 3 ended (worker w-1 was lost); attempt 2 is queued". */
  static String attemptEnded(Job job, int ended) {
    String why = job.getAttemptsList().stream()
        .filter(a -> a.getNumber() == ended)
        .map(a -> a.getErrorMessage().isEmpty() ? a.getState().name().substring("JOB_STATE_".length()).toLowerCase(java.util.Locale.ROOT) : a.getErrorMessage())
        .findFirst()
        .orElse("it ended");
    return "attempt " + ended + " of " + job.getMaxAttempts() + " ended (" + why + "); attempt " + job.getAttempt() + " starts";
  }

  static String describe(Job job) {
    String state = job.getState().name().substring("JOB_STATE_".length()).toLowerCase(java.util.Locale.ROOT);
    return state + (job.getErrorMessage().isEmpty() ? "" : ": " + job.getErrorMessage());
  }

  private void status(String message) {
    if (!quiet) {
      System.err.println("hodei: " + message);
      System.err.flush();
    }
  }
}
