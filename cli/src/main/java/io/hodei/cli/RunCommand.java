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
      "  hodei run --script build.sh --interpreter bash"
    })
final class RunCommand extends ClientCommand {
  static final int EXIT_TIMEOUT = 124;
  static final int EXIT_CANCELLED = 130;
  static final int EXIT_NOT_STARTED = 127;

  @Mixin JobOptions job = new JobOptions();

  @Option(names = {"-q", "--quiet"}, description = "Print only the job's output.")
  boolean quiet;

  /** Job output goes to this process's stdout and stderr as bytes, not through {@code out}. */
  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    JobDefinition definition = job.definition();
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel);
    String jobId = jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
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

  private void reportWaiting(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String jobId) {
    String last = "";
    try {
      while (!Thread.currentThread().isInterrupted()) {
        Job job = jobs.getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
        if (job.getState() != JobState.JOB_STATE_PENDING && job.getState() != JobState.JOB_STATE_SCHEDULED) {
          return;
        }
        String now =
            job.getState() == JobState.JOB_STATE_SCHEDULED
                ? "starting on worker " + job.getWorkerId()
                : job.getWaitingReason();
        if (!now.isEmpty() && !now.equals(last)) {
          status(now);
          last = now;
        }
        Thread.sleep(250);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (RuntimeException e) {
      // Only a progress display; the log follower reports real failures.
    }
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
