package io.hodei.server.api;

import static io.hodei.wire.WireMapping.toWire;

import io.hodei.api.v1.JobAttempt;
import io.hodei.api.v1.WorkerStatus;
import io.hodei.core.job.Attempt;
import io.hodei.core.job.Job;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStream;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.wire.WireMapping;
import java.util.List;

/** Domain values to API messages, for the server's own views (jobs, workers). */
public final class ApiMapper {
  private ApiMapper() {}

  public static io.hodei.api.v1.Job toApi(Job job, List<Attempt> attempts) {
    var b =
        io.hodei.api.v1.Job.newBuilder()
            .setJobId(job.id().value())
            .setDefinition(WireMapping.toWire(job.spec()))
            .setState(toWire(job.state()))
            .setAttempt(job.attempts())
            .setCreatedAt(toWire(job.createdAt()))
            .setUpdatedAt(toWire(job.updatedAt()))
            .setWaitingReason(job.waitingReason())
            .setProgressPercentage(job.progress().percent())
            .setProgressMessage(job.progress().message())
            .setMaxAttempts(job.spec().retryPolicy().maxAttempts())
            .setOwner(job.owner());
    job.notBefore().ifPresent(t -> b.setNotBefore(toWire(t)));
    job.cancel()
        .ifPresent(c -> b.setCancelReason(c.reason()).setCancelledBy(c.requestedBy()));
    job.finishedAt().ifPresent(t -> b.setFinishedAt(toWire(t)));
    job.exitCode().ifPresent(b::setExitCode);
    job.errorMessage().ifPresent(b::setErrorMessage);
    job.workerId().ifPresent(w -> b.setWorkerId(w.value()));
    job.current()
        .ifPresent(
            a -> {
              b.setScheduledAt(toWire(a.scheduledAt()));
              a.startedAt().ifPresent(t -> b.setStartedAt(toWire(t)));
              if (b.getWorkerId().isEmpty()) {
                b.setWorkerId(a.workerId().value());
              }
            });
    attempts.forEach(a -> b.addAttempts(toApi(a)));
    return b.build();
  }

  public static JobAttempt toApi(Attempt a) {
    var b =
        JobAttempt.newBuilder()
            .setNumber(a.number())
            .setExecutionId(a.executionId().value())
            .setWorkerId(a.workerId().value())
            .setState(toWire(a.state()))
            .setScheduledAt(toWire(a.scheduledAt()));
    a.startedAt().ifPresent(t -> b.setStartedAt(toWire(t)));
    a.finishedAt().ifPresent(t -> b.setFinishedAt(toWire(t)));
    a.exitCode().ifPresent(b::setExitCode);
    a.errorMessage().ifPresent(b::setErrorMessage);
    b.setDroppedLogLines(a.droppedLogLines());
    return b.build();
  }

  public static io.hodei.api.v1.LogLine toApi(LogLine line) {
    return io.hodei.api.v1.LogLine.newBuilder()
        .setSequence(line.sequence())
        .setAttempt(line.attempt())
        .setStream(
            line.stream() == LogStream.STDERR
                ? io.hodei.api.v1.LogStream.LOG_STREAM_STDERR
                : io.hodei.api.v1.LogStream.LOG_STREAM_STDOUT)
        .setData(com.google.protobuf.ByteString.copyFrom(line.data()))
        .setAt(toWire(line.at()))
        .setNoNewline(line.noNewline())
        .build();
  }

  public static io.hodei.api.v1.Worker toApi(WorkerRegistry.WorkerView w) {
    return io.hodei.api.v1.Worker.newBuilder(toApiWithoutStatus(w)).setStatus(status(w)).build();
  }

  static WorkerStatus status(WorkerRegistry.WorkerView w) {
    if (w.terminatedAt().isPresent()) {
      return WorkerStatus.WORKER_STATUS_TERMINATED;
    }
    if (w.draining()) {
      return WorkerStatus.WORKER_STATUS_DRAINING;
    }
    if (!w.isHealthy()) {
      return WorkerStatus.WORKER_STATUS_UNHEALTHY;
    }
    return w.running().isEmpty() && !w.reserved()
        ? WorkerStatus.WORKER_STATUS_READY
        : WorkerStatus.WORKER_STATUS_BUSY;
  }

  private static io.hodei.api.v1.Worker toApiWithoutStatus(WorkerRegistry.WorkerView w) {
    return io.hodei.api.v1.Worker.newBuilder()
        .setInfo(WireMapping.toWire(w.info()))
        .setProvider(w.provider())
        .addAllRunningJobIds(w.running().values().stream().map(id -> id.value()).sorted().toList())
        .setRegisteredAt(toWire(w.registeredAt()))
        .setLastHeartbeatAt(toWire(w.lastSeenAt()))
        .build();
  }
}
