package io.hodei.cli;

import io.grpc.ManagedChannel;
import io.hodei.api.v1.ListProvidersRequest;
import io.hodei.api.v1.ProviderServiceGrpc;
import java.io.PrintWriter;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei providers list|health}. */
@Command(
    name = "providers",
    mixinStandardHelpOptions = true,
    description = "Shows the providers that create workers, and their health.",
    subcommands = {ProvidersCommand.ListProviders.class, ProvidersCommand.Health.class})
final class ProvidersCommand {

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Lists providers with their workers and limits.")
  static final class ListProviders extends ClientCommand {
    @Option(names = {"-o", "--output"}, description = "table or json (default: ${DEFAULT-VALUE}).", defaultValue = "table")
    JobsCommand.Output output;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var providers =
          ProviderServiceGrpc.newBlockingStub(channel).listProviders(ListProvidersRequest.getDefaultInstance());
      if (output == JobsCommand.Output.json) {
        out.println(JobsCommand.json(providers));
        return 0;
      }
      String format = "%-12s  %-10s  %-10s  %7s  %8s  %3s  %s%n";
      out.printf(format, "PROVIDER", "TYPE", "HEALTH", "WORKERS", "STARTING", "MAX", "REASON");
      for (var p : providers.getProvidersList()) {
        out.printf(
            format,
            p.getName(),
            p.getType(),
            health(p.getHealth().getStatus()),
            p.getWorkers(),
            p.getProvisioning(),
            p.getMaxWorkers(),
            p.getHealth().getReason());
      }
      return 0;
    }
  }

  @Command(name = "health", mixinStandardHelpOptions = true, description = "Checks every provider now; exits 1 if one is unhealthy.")
  static final class Health extends ClientCommand {
    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var providers =
          ProviderServiceGrpc.newBlockingStub(channel).listProviders(ListProvidersRequest.getDefaultInstance());
      boolean allHealthy = true;
      for (var p : providers.getProvidersList()) {
        String status = health(p.getHealth().getStatus());
        allHealthy &= !status.equals("unhealthy");
        out.println(p.getName() + ": " + status + (p.getHealth().getReason().isEmpty() ? "" : ": " + p.getHealth().getReason()));
      }
      return allHealthy ? 0 : 1;
    }
  }

  static String health(io.hodei.api.v1.HealthStatus status) {
    return status.name().substring("HEALTH_STATUS_".length()).toLowerCase(Locale.ROOT);
  }
}
