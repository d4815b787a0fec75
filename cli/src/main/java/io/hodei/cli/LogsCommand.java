package io.hodei.cli;

import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei logs JOB_ID [--follow]}. */
@Command(
    name = "logs",
    mixinStandardHelpOptions = true,
    description = "Prints a job's output: stdout lines to stdout, stderr lines to stderr.")
final class LogsCommand extends ClientCommand {
  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = {"-f", "--follow"}, description = "Keep printing new output until the job ends.")
  boolean follow;

  @Option(names = "--from", paramLabel = "N", description = "Start at line N (default: 0).", defaultValue = "0")
  long from;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    new LogFollower(channel, System.out, System.err, from).print(jobId, follow);
    return 0;
  }
}
