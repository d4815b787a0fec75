package io.hodei.cli;

import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import java.util.Locale;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei workers list}. */
@Command(
    name = "workers",
    mixinStandardHelpOptions = true,
    description = "Shows workers.",
    subcommands = {WorkersCommand.ListWorkers.class})
final class WorkersCommand {

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists workers and what they run.")
  static final class ListWorkers extends ClientCommand {
    @Option(names = {"-o", "--output"}, description = "table or json (default: ${DEFAULT-VALUE}).", defaultValue = "table")
    JobsCommand.Output output;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var workers =
          SchedulerServiceGrpc.newBlockingStub(channel)
              .listWorkers(ListWorkersRequest.getDefaultInstance());
      if (output == JobsCommand.Output.json) {
        out.println(JobsCommand.json(workers));
      } else {
        String format = "%-16s  %-10s  %-8s  %-12s  %s%n";
        out.printf(format, "WORKER", "STATE", "PROVIDER", "HOST", "RUNNING");
        for (var w : workers.getWorkersList()) {
          out.printf(
              format,
              w.getInfo().getWorkerId(),
              w.getStatus().name().substring("WORKER_STATUS_".length()).toLowerCase(Locale.ROOT),
              w.getProvider(),
              w.getInfo().getHostname(),
              String.join(",", w.getRunningJobIdsList()));
        }
      }
      return 0;
    }
  }
}
