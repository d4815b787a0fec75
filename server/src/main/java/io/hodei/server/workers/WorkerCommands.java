package io.hodei.server.workers;

import io.hodei.api.v1.CancelJobCommand;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.ServerMessage;
import io.hodei.core.job.Job;
import io.hodei.core.job.LogPolicy;
import io.hodei.wire.WireMapping;
import java.util.Map;

/** The commands the control plane sends down a worker's stream, built in one place. */
public final class WorkerCommands {
  private WorkerCommands() {}

  /**
   * Run {@code job}'s current attempt, with the secret values it is to receive on stdin. The
   * message is never logged.
   */
  public static ServerMessage run(Job job, Map<String, String> secrets) {
    var attempt = job.current().orElseThrow();
    var b =
        RunJobCommand.newBuilder()
            .setJobId(job.id().value())
            .setExecutionId(attempt.executionId().value())
            .setAttempt(attempt.number())
            .setCommand(WireMapping.toWire(job.spec().command()))
            .putAllEnv(job.spec().env())
            .putAllSecrets(secrets)
            .setLogPolicy(
                job.spec().logPolicy() == LogPolicy.DROP
                    ? io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP
                    : io.hodei.api.v1.LogPolicy.LOG_POLICY_LOSSLESS)
            .setWorkingDir(job.spec().workingDir().orElse(""))
            .setResources(WireMapping.toWire(job.spec().resources()));
    job.spec().timeout().ifPresent(t -> b.setTimeout(WireMapping.toWire(t)));
    return ServerMessage.newBuilder().setRunJob(b).build();
  }

  /** Stop {@code executionId} of {@code jobId} (empty when unknown), saying why. */
  public static ServerMessage cancel(String jobId, String executionId, String reason) {
    return ServerMessage.newBuilder()
        .setCancelJob(
            CancelJobCommand.newBuilder().setJobId(jobId).setExecutionId(executionId).setReason(reason))
        .build();
  }

  /** Where the worker attaches when this replica goes: every live replica, this one first. */
  public static ServerMessage replicas(java.util.List<String> addresses) {
    return ServerMessage.newBuilder()
        .setReplicas(io.hodei.api.v1.ReplicaList.newBuilder().addAllAddresses(addresses))
        .build();
  }
}
