package io.hodei.server.workers;

import io.hodei.api.v1.CancelJobCommand;
import io.hodei.api.v1.ServerMessage;

/** The commands the control plane sends down a worker's stream, built in one place. */
public final class WorkerCommands {
  private WorkerCommands() {}

  /** Stop {@code executionId} of {@code jobId} (empty when unknown), saying why. */
  public static ServerMessage cancel(String jobId, String executionId, String reason) {
    return ServerMessage.newBuilder()
        .setCancelJob(
            CancelJobCommand.newBuilder().setJobId(jobId).setExecutionId(executionId).setReason(reason))
        .build();
  }
}
