package io.hodei.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hodei server}: the control plane of {@code hodei dev}, for a network: it listens on every
 * interface by default and will not serve plaintext unless told {@code --insecure}.
 */
@Command(
    name = "server",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the control plane for a network: like dev, but binds --bind (default 0.0.0.0) and"
          + " requires --tls-dir.",
      "--insecure serves plaintext instead: anyone who reaches the port can run commands on your"
          + " workers."
    })
final class ServerCommand extends DevCommand {
  @Option(
      names = "--bind",
      paramLabel = "HOST",
      description = "Interface to listen on (default: ${DEFAULT-VALUE}).",
      defaultValue = "0.0.0.0")
  String bind;

  @Option(
      names = "--advertised-address",
      paramLabel = "HOST:PORT",
      description = {
        "Where workers reach this server, when not at the bound address (env HODEI_ADVERTISED_ADDRESS):"
            + " a Kubernetes Service's name, or a host behind NAT."
      })
  String advertisedAddress;

  @Option(
      names = "--insecure",
      description = "Serve plaintext gRPC without --tls-dir (no authentication, no encryption).")
  boolean insecure;

  @Override
  String commandName() {
    return "hodei server";
  }

  /**
   * A networked server leaves its workers running on a clean stop, exactly as after a kill -9:
   * they go on with their jobs and attach to the next server on this address.
   */
  @Override
  io.hodei.server.HodeiServer.OnStop onStop() {
    return io.hodei.server.HodeiServer.OnStop.LEAVE_WORKERS_RUNNING;
  }

  /**
   * Nobody, ever: a networked server's loopback is not its operator's (a job on a local worker, a
   * proxy or a port-forward reaches it too). Its callers bring a certificate or a token.
   */
  @Override
  io.hodei.core.auth.Role anonymousRole() {
    return io.hodei.core.auth.Role.NONE;
  }

  /** A networked server keeps no token file: its admins use certificates or issued tokens. */
  @Override
  boolean issuesAdminToken() {
    return false;
  }

  @Override
  java.util.Optional<String> advertisedAddress(Settings settings) {
    String value = settings.value("--advertised-address", advertisedAddress, "HODEI_ADVERTISED_ADDRESS", x -> x, null);
    if (value == null || value.isBlank()) {
      return java.util.Optional.empty();
    }
    var m = java.util.regex.Pattern.compile("(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9.-]+):(\\d{1,5})").matcher(value.strip());
    if (!m.matches() || Integer.parseInt(m.group(2)) < 1 || Integer.parseInt(m.group(2)) > 65535) {
      throw new HodeiCli.UserError(
          "--advertised-address: expected HOST:PORT (a name, an IPv4 address or [IPv6], and a port 1-65535), not '" + value.strip() + "'", 64);
    }
    return java.util.Optional.of(value.strip());
  }

  @Override
  String bindHost() {
    return bind;
  }

  @Override
  void checkTransport() {
    if (tlsDir == null && !insecure) {
      throw new HodeiCli.UserError(
          "hodei server needs --tls-dir DIR (create it with hodei pki init --dir DIR --san <this"
              + " host>); --insecure serves plaintext to anyone who reaches "
              + bind,
          64);
    }
    if (tlsDir == null) {
      System.out.println(
          "hodei server: warning: --insecure: plaintext gRPC on "
              + bind
              + ", no authentication, no encryption");
    }
  }
}
