package io.hodei.cli;

import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.grpc.ManagedChannel;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei cancel JOB_ID [--reason TEXT]}. */
@Command(
    name = "cancel",
    mixinStandardHelpOptions = true,
    description = {
      "Cancels a job. A pending job never runs; a running one is stopped on its worker",
      "(SIGTERM to its whole process group, SIGKILL after the grace period)."
    })
final class CancelCommand extends ClientCommand {
  @Parameters(paramLabel = "JOB_ID")
  String jobId;

  @Option(names = "--reason", paramLabel = "TEXT", description = "Why; recorded with the job.", defaultValue = "")
  String reason;

  @Override
  int run(ManagedChannel channel, PrintWriter out) {
    var job =
        JobExecutionServiceGrpc.newBlockingStub(channel)
            .cancelJob(CancelJobRequest.newBuilder().setJobId(jobId).setReason(reason).build())
            .getJob();
    out.println(
        job.getState() == JobState.JOB_STATE_CANCELLED
            ? "cancelled job " + jobId
            : "cancelling job " + jobId + ": its worker is stopping it");
    return 0;
  }
}
