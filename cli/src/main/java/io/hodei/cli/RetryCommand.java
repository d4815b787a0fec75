package io.hodei.cli;

import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.RetryJobRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hodei retry JOB_ID}. */
@Command(
    name = "retry",
    mixinStandardHelpOptions = true,
    description = "Runs a failed, timed-out or cancelled job again, as a new attempt.")
final class RetryCommand implements Callable<Integer>, ServerOptions.HasServer {
  @Mixin ServerOptions server = new ServerOptions();
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Override
  public ServerOptions serverOptions() {
    return server;
  }

  @Override
  public Integer call() {
    var channel = server.channel();
    try {
      var job =
          JobExecutionServiceGrpc.newBlockingStub(channel)
              .retryJob(RetryJobRequest.newBuilder().setJobId(jobId).build())
              .getJob();
      spec.commandLine()
          .getOut()
          .println("job " + jobId + " queued again (attempt " + (job.getAttempt() + 1) + ")");
      spec.commandLine().getOut().flush();
      return 0;
    } finally {
      ServerOptions.close(channel);
    }
  }
}
