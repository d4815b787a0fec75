package io.hodei.cli;

import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code hodei cancel JOB_ID [--reason TEXT]}. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = {
      "Cancels a job. A pending job never runs; a running one is stopped on its worker",
      "(SIGTERM to its whole process group, SIGKILL after the grace period)."
    })
final class CancelCommand implements Callable<Integer>, ServerOptions.HasServer {
  @Mixin ServerOptions server = new ServerOptions();
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why; recorded with the job.", defaultValue = "")
  String reason;

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
              .cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).setReason(reason).build())
              .getJob();
      spec.commandLine()
          .getOut()
          .println(
              job.getState() == JobState.JOB_STATE_CANCELLED
                  ? "cancelled job " + jobId
                  : "cancelling job " + jobId + ": its worker is stopping it");
      spec.commandLine().getOut().flush();
      return 0;
    } finally {
      ServerOptions.close(channel);
    }
  }
}
