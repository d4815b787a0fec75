package io.hodei.cli;

import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.RetryJobRequest;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code hodei retry JOB_ID}. */
@Command(
    name = "retry",
    mixinStandardHelpOptions = true,
    description = "Runs a failed, timed-out or cancelled job again, as a new attempt.")
final class RetryCommand extends ClientCommand {
  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @picocli.CommandLine.Option(
      names = "--secret",
      paramLabel = "NAME[=VALUE|=@FILE]",
      description = {
        "A value for one of the job's secrets, repeatable, as for hodei run: a job that had secrets needs all of them"
            + " again, since their values were deleted when it ended."
      })
  java.util.List<String> secrets = new java.util.ArrayList<>();

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    var options = new JobOptions();
    options.secrets = secrets;
    var job =
        JobExecutionServiceGrpc.newBlockingStub(channel)
            .retryJob(RetryJobRequest.newBuilder().setJobId(jobId).putAllSecrets(options.secretValues(System.getenv())).build())
            .getJob();
    out.println("job " + jobId + " queued again (attempt " + (job.getAttempt() + 1) + ")");
    return 0;
  }
}
