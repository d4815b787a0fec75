package io.hodei.cli;

import io.grpc.ManagedChannel;
import io.hodei.api.v1.ScheduleJobRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hodei schedule [job options] -- CMD}: where the job would run, and why; nothing is queued. */
@Command(
    name = "schedule",
    mixinStandardHelpOptions = true,
    description = {
      "Shows where a job would run now and why every other worker and provider was not chosen.",
      "Takes the same job options as run; nothing is queued."
    })
final class ScheduleCommand extends ClientCommand {
  @Mixin JobOptions job = new JobOptions();

  @Option(names = {"-o", "--output"}, description = "table or json (default: ${DEFAULT-VALUE}).", defaultValue = "table")
  JobsCommand.Output output;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    var decision =
        SchedulerServiceGrpc.newBlockingStub(channel)
            .scheduleJob(ScheduleJobRequest.newBuilder().setDefinition(job.definition()).build())
            .getDecision();
    if (output == JobsCommand.Output.json) {
      out.println(JobsCommand.json(decision));
      return 0;
    }
    out.println(decision.getSummary());
    for (var r : decision.getRejectionsList()) {
      out.println("  " + r.getCandidate() + ": " + r.getReason());
    }
    return 0;
  }
}
