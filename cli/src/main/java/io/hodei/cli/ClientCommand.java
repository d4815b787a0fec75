package io.hodei.cli;

import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/**
 * A command that talks to the control plane: it gets {@code --server}, a channel that is closed
 * when it ends, and picocli's output writer. Failures of the call are mapped to messages and exit
 * codes by {@link HodeiCli}.
 */
abstract class ClientCommand implements Callable<Integer>, ServerOptions.HasServer {
  @Mixin ServerOptions server = new ServerOptions();
  @Mixin TokenOptions token = new TokenOptions();
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public ServerOptions serverOptions() {
    return server;
  }

  @Override
  public final Integer call() {
    ManagedChannel channel = token.attachTo(server.channel(), server.address());
    try {
      PrintWriter out = spec.commandLine().getOut();
      int code = run(channel, out);
      out.flush();
      return code;
    } finally {
      ServerOptions.close(channel);
    }
  }

  /** Does the command's work over {@code channel}; returns the exit code. */
  abstract int run(ManagedChannel channel, PrintWriter out);
}
