package io.hodei.cli;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageOrBuilder;
import com.google.protobuf.util.JsonFormat;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.wire.WireMapping;
import java.io.PrintWriter;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei jobs list|get}. */
@Command(
    name = "jobs",
    mixinStandardHelpOptions = true,
    description = "Lists jobs and shows one in detail.",
    subcommands = {JobsCommand.ListJobs.class, JobsCommand.GetJob.class})
final class JobsCommand {

  enum Output {
    table,
    json
  }

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists jobs, newest first.")
  static final class ListJobs extends ClientCommand {
    @Option(names = "--state", paramLabel = "STATE", split = ",", description = "Only jobs in these states: pending, scheduled, running, succeeded, failed, cancelled, timeout.")
    List<String> states = new ArrayList<>();

    @Option(names = "--label", paramLabel = "K=V", description = "Only jobs with this label; repeatable.")
    java.util.Map<String, String> labels = new java.util.LinkedHashMap<>();

    @Option(names = "--name", paramLabel = "PREFIX", description = "Only jobs whose name starts with PREFIX.")
    String namePrefix;

    @Option(
        names = "--since",
        paramLabel = "DURATION",
        description = "Only jobs created within this long (e.g. 1h).",
        converter = Durations.Converter.class)
    java.time.Duration since;

    @Option(names = "--limit", description = "At most this many jobs (default: ${DEFAULT-VALUE}).", defaultValue = "50")
    int limit;

    @Option(names = {"-o", "--output"}, description = "table or json (default: ${DEFAULT-VALUE}).", defaultValue = "table")
    Output output;

    @Override
    int run(io.grpc.ManagedChannel channel, PrintWriter out) {
      var request = ListJobsRequest.newBuilder().setPageSize(Math.min(limit, 500));
      for (String state : states) {
        request.addStates(parseState(state));
      }
      request.putAllLabels(labels);
      if (namePrefix != null) {
        request.setNamePrefix(namePrefix);
      }
      if (since != null) {
        request.setCreatedAfter(WireMapping.toWire(java.time.Instant.now().minus(since)));
      }
      List<Job> jobs = new ArrayList<>();
      var stub = JobExecutionServiceGrpc.newBlockingStub(channel);
      String token = "";
      do {
        var page = stub.listJobs(request.setPageToken(token).build());
        jobs.addAll(page.getJobsList());
        token = page.getNextPageToken();
      } while (!token.isEmpty() && jobs.size() < limit);
      if (jobs.size() > limit) {
        jobs = jobs.subList(0, limit);
      }
      if (output == Output.json) {
        out.println("[");
        for (int i = 0; i < jobs.size(); i++) {
          out.print(json(jobs.get(i)));
          out.println(i + 1 < jobs.size() ? "," : "");
        }
        out.println("]");
      } else {
        String format = "%-36s  %-10s  %4s  %-19s  %s%n";
        out.printf(format, "JOB ID", "STATE", "EXIT", "CREATED", "NAME");
        for (Job job : jobs) {
          out.printf(
              format,
              job.getJobId(),
              stateName(job.getState()),
              job.hasExitCode() ? Integer.toString(job.getExitCode()) : "-",
              TIME.format(WireMapping.toDomain(job.getCreatedAt())),
              job.getDefinition().getName());
        }
      }
      return 0;
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Shows one job and its attempts.")
  static final class GetJob extends ClientCommand {
    @Parameters(paramLabel = "JOB_ID")
    String jobId;

    @Option(names = {"-o", "--output"}, description = "table or json (default: ${DEFAULT-VALUE}).", defaultValue = "table")
    Output output;

    @Override
    int run(io.grpc.ManagedChannel channel, PrintWriter out) {
      Job job =
          JobExecutionServiceGrpc.newBlockingStub(channel)
              .getJob(GetJobRequest.newBuilder().setJobId(jobId).build())
              .getJob();
      if (output == Output.json) {
        out.println(json(job));
      } else {
        printDetail(out, job);
      }
      return 0;
    }

    private static void printDetail(PrintWriter out, Job job) {
      var d = job.getDefinition();
      out.printf("Job:       %s%n", job.getJobId());
      out.printf("Name:      %s%n", d.getName());
      out.printf("State:     %s%n", stateName(job.getState()));
      if (!job.getWaitingReason().isEmpty()) {
        out.printf("Waiting:   %s%n", job.getWaitingReason());
      }
      out.printf(
          "Command:   %s%n",
          d.getCommand().hasScript()
              ? d.getCommand().getScript().getInterpreter() + " script"
              : (d.getCommand().getShell().getCmd() + " " + String.join(" ", d.getCommand().getShell().getArgsList())).strip());
      if (d.getSecretsCount() > 0) {
        out.printf("Secrets:   %s (values never shown; redacted from the output)%n", String.join(", ", new java.util.TreeSet<>(d.getSecretsMap().keySet())));
      }
      if (d.getLogPolicy() == io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP) {
        out.printf("Logs:      drop lines the server cannot take in time%n");
      }
      out.printf("Created:   %s%n", TIME.format(WireMapping.toDomain(job.getCreatedAt())));
      if (job.hasFinishedAt()) {
        out.printf("Finished:  %s%n", TIME.format(WireMapping.toDomain(job.getFinishedAt())));
      }
      if (job.hasExitCode()) {
        out.printf("Exit code: %d%n", job.getExitCode());
      }
      if (!job.getErrorMessage().isEmpty()) {
        out.printf("Error:     %s%n", job.getErrorMessage());
      }
      if (job.getProgressPercentage() > 0 || !job.getProgressMessage().isEmpty()) {
        out.printf("Progress:  %.0f%% %s%n", job.getProgressPercentage(), job.getProgressMessage());
      }
      if (!job.getCancelledBy().isEmpty()) {
        out.printf(
            "Cancel:    by %s%s%n",
            job.getCancelledBy(),
            job.getCancelReason().isEmpty() ? "" : ": " + job.getCancelReason());
      }
      if (job.getMaxAttempts() > 1) {
        out.printf("Retries:   attempt %d of %d%n", job.getAttempt(), job.getMaxAttempts());
      }
      if (job.hasNotBefore()) {
        out.printf("Next try:  %s%n", TIME.format(WireMapping.toDomain(job.getNotBefore())));
      }
      if (job.getAttemptsCount() > 0) {
        out.printf("Attempts:%n");
        for (var a : job.getAttemptsList()) {
          out.printf(
              "  #%d  %-10s  worker %-14s  %s  exit %s%s%n",
              a.getNumber(),
              stateName(a.getState()),
              a.getWorkerId(),
              a.hasStartedAt()
                  ? TIME.format(WireMapping.toDomain(a.getStartedAt()))
                      + (a.hasFinishedAt()
                          ? " (" + java.time.Duration.between(WireMapping.toDomain(a.getStartedAt()), WireMapping.toDomain(a.getFinishedAt())).toMillis() + " ms)"
                          : " (running)")
                  : "not started",
              a.hasExitCode() ? Integer.toString(a.getExitCode()) : "-",
              a.getErrorMessage().isEmpty() ? "" : "  (" + a.getErrorMessage() + ")");
          if (a.getDeliveredSecretsCount() > 0) {
            out.printf("        secrets delivered: %s%n", String.join(", ", a.getDeliveredSecretsList()));
          }
          if (a.getDroppedLogLines() > 0) {
            out.printf("        log lines dropped: %d%n", a.getDroppedLogLines());
          }
        }
      }
    }
  }

  static JobState parseState(String text) {
    try {
      return JobState.valueOf("JOB_STATE_" + text.strip().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError(
          "unknown state '" + text + "'; use pending, scheduled, running, succeeded, failed, cancelled or timeout",
          64);
    }
  }

  static String stateName(JobState state) {
    return state.name().substring("JOB_STATE_".length()).toLowerCase(Locale.ROOT);
  }

  static String json(MessageOrBuilder message) {
    try {
      return JsonFormat.printer().print(message);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }
}
