package io.hodei.cli;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.ListAuditEventsRequest;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei audit}: the security events, oldest first (admins only). */
@Command(
    name = "audit",
    mixinStandardHelpOptions = true,
    description = "Shows security events (admins only).")
final class AuditCommand extends ClientCommand {
  @Option(
      names = "--since",
      paramLabel = "DURATION",
      description = "How far back, such as 1h or 7d (default: ${DEFAULT-VALUE}).",
      defaultValue = "24h",
      converter = Durations.Converter.class)
  Duration since;

  @Option(
      names = "--kind",
      description = "Only this kind, such as permission_denied or token_created.")
  String kind;

  @Option(
      names = {"-o", "--output"},
      description = "table or json (default: ${DEFAULT-VALUE}).",
      defaultValue = "table")
  JobsCommand.Output output;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    Instant from = Instant.now().minus(since);
    var request =
        ListAuditEventsRequest.newBuilder()
            .setSince(
                Timestamp.newBuilder().setSeconds(from.getEpochSecond()).setNanos(from.getNano()));
    if (kind != null) {
      request.setKind(kind);
    }
    var events = AdminServiceGrpc.newBlockingStub(channel).listAuditEvents(request.build());
    if (output == JobsCommand.Output.json) {
      out.println(JobsCommand.json(events));
      return 0;
    }
    String format = "%-24s  %-22s  %-16s  %-24s  %s%n";
    out.printf(format, "AT", "KIND", "ACTOR", "TARGET", "DETAIL");
    for (var e : events.getEventsList()) {
      out.printf(
          format,
          Instant.ofEpochSecond(e.getAt().getSeconds(), e.getAt().getNanos()),
          e.getKind().toLowerCase(java.util.Locale.ROOT),
          e.getActor(),
          e.getTarget(),
          e.getDetail() + (e.getRemote().isEmpty() ? "" : " (from " + e.getRemote() + ")")
              + (e.getRepeats() > 1
                  ? " ×" + e.getRepeats() + " until " + Instant.ofEpochSecond(e.getLastAt().getSeconds(), e.getLastAt().getNanos())
                  : ""));
    }
    return 0;
  }
}
