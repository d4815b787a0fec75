package io.hodei.cli;

import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ShellCommand;
import io.hodei.wire.WireMapping;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

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

  @Option(names = "--name", description = "Job name (default: the command).")
  String name;

  @Option(names = "--env", paramLabel = "K=V", description = "Environment variable for the job; repeatable.")
  Map<String, String> env = new LinkedHashMap<>();

  @Option(
      names = "--timeout",
      paramLabel = "DURATION",
      description = "Stop the job after this long (e.g. 30s, 5m).",
      converter = Durations.Converter.class)
  Duration timeout;

  @Option(
      names = "--retries",
      paramLabel = "N",
      description = "Retry a failed or timed-out job up to N more times (default: 0).",
      defaultValue = "0")
  int retries;

  @Option(
      names = "--retry-backoff",
      paramLabel = "DURATION",
      description = "Wait before the first retry, doubling each time, with jitter (default: ${DEFAULT-VALUE}).",
      defaultValue = "1s",
      converter = Durations.Converter.class)
  Duration retryBackoff;

  @Option(names = "--label", paramLabel = "K=V", description = "Label for the job; repeatable.")
  Map<String, String> labels = new LinkedHashMap<>();

  @Option(names = "--workdir", paramLabel = "DIR", description = "Working directory on the worker (absolute).")
  String workingDir;

  @Option(names = "--script", paramLabel = "FILE", description = "Run this script file instead of a command.")
  Path script;

  @Option(
      names = "--interpreter",
      description = "Interpreter for --script (default: ${DEFAULT-VALUE}).",
      defaultValue = "bash")
  String interpreter;

  @Option(names = {"-q", "--quiet"}, description = "Print only the job's output.")
  boolean quiet;

  @Parameters(paramLabel = "CMD", description = "The program and its arguments, after --.")
  List<String> command = new ArrayList<>();

  /** Job output goes to this process's stdout and stderr as bytes, not through {@code out}. */
  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    JobDefinition definition = definition();
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

  private JobDefinition definition() {
    CommandSpec commandSpec;
    if (script != null) {
      if (!command.isEmpty()) {
        throw new HodeiCli.UserError("give either --script FILE or a command after --, not both", 64);
      }
      try {
        commandSpec =
            CommandSpec.newBuilder()
                .setScript(
                    ScriptCommand.newBuilder()
                        .setInterpreter(interpreter)
                        .setContent(Files.readString(script)))
                .build();
      } catch (IOException e) {
        throw new HodeiCli.UserError("cannot read script " + script + ": " + e.getMessage(), 66);
      }
    } else {
      if (command.isEmpty()) {
        throw new HodeiCli.UserError("nothing to run: give a command after -- or --script FILE", 64);
      }
      commandSpec =
          CommandSpec.newBuilder()
              .setShell(ShellCommand.newBuilder().setCmd(command.getFirst()).addAllArgs(command.subList(1, command.size())))
              .build();
    }
    var b =
        JobDefinition.newBuilder()
            .setName(name != null ? name : defaultName())
            .setCommand(commandSpec)
            .putAllEnv(env)
            .putAllLabels(labels);
    if (retries < 0) {
      throw new HodeiCli.UserError("--retries must not be negative", 64);
    }
    if (retries > 0) {
      b.setRetryPolicy(
          RetryPolicy.newBuilder()
              .setMaxAttempts(retries + 1)
              .setInitialBackoff(WireMapping.toWire(retryBackoff))
              .setBackoffMultiplier(2.0)
              .setMaxBackoff(WireMapping.toWire(Duration.ofMinutes(10))));
    }
    if (timeout != null) {
      b.setTimeout(WireMapping.toWire(timeout));
    }
    if (workingDir != null) {
      b.setWorkingDir(workingDir);
    }
    return b.build();
  }

  private String defaultName() {
    String base = script != null ? script.getFileName().toString() : String.join(" ", command);
    return base.length() > 80 ? base.substring(0, 80) : base;
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
