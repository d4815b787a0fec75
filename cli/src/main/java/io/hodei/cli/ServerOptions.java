package io.hodei.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Where a client command finds the control plane. */
final class ServerOptions {
  static final String DEFAULT = "localhost:50051";

  @Option(
      names = "--server",
      paramLabel = "HOST:PORT",
      description = "Control plane address (default: env HODEI_SERVER, then " + DEFAULT + ").")
  String server;

  String address() {
    if (server != null && !server.isBlank()) {
      return server;
    }
    String env = System.getenv("HODEI_SERVER");
    return env != null && !env.isBlank() ? env : DEFAULT;
  }

  /** A plaintext channel to the server; callers close it. */
  ManagedChannel channel() {
    return NettyChannelBuilder.forTarget(address())
        .usePlaintext()
        .keepAliveTime(30, TimeUnit.SECONDS)
        .build();
  }

  static String addressOf(CommandLine commandLine) {
    Object command = commandLine.getCommand();
    if (command instanceof HasServer withServer) {
      return withServer.serverOptions().address();
    }
    return new ServerOptions().address();
  }

  /** Commands that talk to a server expose their options for error messages. */
  interface HasServer {
    ServerOptions serverOptions();
  }

  static void close(ManagedChannel channel) {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
