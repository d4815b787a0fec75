package io.hodei.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei logs JOB_ID [--follow]}. */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = "Prints a job's output: stdout lines to stdout, stderr lines to stderr.")
final class LogsCommand implements Callable<Integer>, ServerOptions.HasServer {
  @Mixin ServerOptions server = new ServerOptions();

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the job ends.")
  boolean follow;

  @Option(names = "--from", paramLabel = "N", description = "Start at line N (default: 0).", defaultValue = "0")
  long from;

  @Override
  public ServerOptions serverOptions() {
    return server;
  }

  @Override
  public Integer call() {
    var channel = server.channel();
    try {
      new LogFollower(channel, System.out, System.err, from).print(jobId, follow);
      return 0;
    } finally {
      ServerOptions.close(channel);
    }
  }
}
