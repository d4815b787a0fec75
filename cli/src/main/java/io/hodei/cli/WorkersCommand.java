package io.hodei.cli;

import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import java.util.Locale;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei workers list | top | drain | deregister}. */
@Command(
    name = "workers",
    mixinStandardHelpOptions = true,
    description = "Shows workers.",
    subcommands = {
      WorkersCommand.ListWorkers.class,
      WorkersTop.class,
      WorkersCommand.Drain.class,
      WorkersCommand.Deregister.class
    })
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
              w.getWaitingReason().isEmpty()
                  ? String.join(",", w.getRunningJobIdsList())
                  : "waiting: " + w.getWaitingReason());
        }
      }
      return 0;
    }
  }

  @Command(
      name = "drain",
      mixinStandardHelpOptions = true,
      description = "No new jobs go to the worker; it stops once its running jobs end.")
  static final class Drain extends ClientCommand {
    @picocli.CommandLine.Parameters(paramLabel = "WORKER_ID")
    String workerId;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var worker =
          SchedulerServiceGrpc.newBlockingStub(channel)
              .drainWorker(io.hodei.api.v1.DrainWorkerRequest.newBuilder().setWorkerId(workerId).build())
              .getWorker();
      out.println(
          "draining worker " + workerId + ": " + worker.getRunningJobIdsCount() + " job(s) still running");
      return 0;
    }
  }

  @Command(
      name = "deregister",
      mixinStandardHelpOptions = true,
      description = "Removes the worker now; jobs it was running are retried or failed.")
  static final class Deregister extends ClientCommand {
    @picocli.CommandLine.Parameters(paramLabel = "WORKER_ID")
    String workerId;

    @Option(names = "--reason", paramLabel = "TEXT", defaultValue = "", description = "Why; recorded.")
    String reason;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      SchedulerServiceGrpc.newBlockingStub(channel)
          .deregisterWorker(
              io.hodei.api.v1.DeregisterWorkerRequest.newBuilder().setWorkerId(workerId).setReason(reason).build());
      out.println("deregistered worker " + workerId);
      return 0;
    }
  }
}
