package io.hodei.server.api;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.StreamLogsResponse;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobService;
import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStore;
import io.hodei.wire.WireMapping;
import java.time.Duration;
import java.util.List;

/**
 * Serves a job's log from the store: history from any offset, then, with {@code follow}, live
 * lines as they are persisted, at the pace the reader takes them (gRPC flow control), until the
 * job is final (with no retry coming) and every line has been sent. Because it reads only the
 * store, it behaves the same during the job, after it and after a restart.
 *
 * <p>Threads: the call is checked (arguments, visibility) on gRPC's call thread, which then
 * returns; the log is streamed by a virtual thread of the call's own. It must not be streamed on
 * the call thread: grpc-java runs a call's callbacks, the on-ready handler included, one at a
 * time on that thread, so a handler that waits there for "ready" never hears of it and sleeps
 * until its re-check timeout instead (before this change a follower got about three messages a
 * second). The streaming thread is the only one that calls {@code onNext}, {@code onCompleted}
 * or {@code onError}; it stops when the call is cancelled.
 */
public final class LogStreamApi extends LogStreamServiceGrpc.LogStreamServiceImplBase {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(LogStreamApi.class);
  /**
   * At least a worker's largest batch (WorkerConfig.LogBatching: 4096 lines), which the store
   * keeps as one chunk: a read that stopped inside a chunk would decode all of it again for the
   * next message.
   */
  private static final int LINES_PER_MESSAGE = 4096;
  /**
   * A message is closed once its line data reach this, whatever its line count: long lines (up to
   * 64 KiB each) must not make a message larger than a client takes (gRPC's default: 4 MiB).
   */
  private static final int MAX_MESSAGE_BYTES = 1024 * 1024;

  private static final Duration MAX_WAIT = Duration.ofSeconds(1);

  private final JobService jobs;
  private final LogStore logs;
  private final JobSignals signals;
  private final io.hodei.server.auth.SecurityAudit audit;

  public LogStreamApi(
      JobService jobs, LogStore logs, JobSignals signals, io.hodei.server.auth.SecurityAudit audit) {
    this.jobs = jobs;
    this.logs = logs;
    this.signals = signals;
    this.audit = audit;
  }

  @Override
  public void streamLogs(StreamLogsRequest request, StreamObserver<StreamLogsResponse> response) {
    JobId id = JobExecutionApi.jobId(request.getJobId());
    if (request.getAttempt() < 0) {
      throw new InvalidSpecException("attempt", "must not be negative");
    }
    if (request.getFromSequence() < 0) {
      throw new InvalidSpecException("from_sequence", "must not be negative");
    }
    JobExecutionApi.visibleJob(jobs, id, audit); // NOT_FOUND or PERMISSION_DENIED before anything is streamed
    var call = (ServerCallStreamObserver<StreamLogsResponse>) response;
    // A slow reader holds the reading back instead of making the server buffer the whole log.
    var ready = new java.util.concurrent.Semaphore(0);
    call.setOnReadyHandler(ready::release);
    call.setOnCancelHandler(ready::release);
    Thread.ofVirtual()
        .name("stream-logs-" + id.value())
        .start(
            () -> {
              try {
                stream(id, request, call, ready);
              } catch (RuntimeException | Error e) {
                // Any failure ends the call: a client must never wait on a stream nobody feeds.
                if (!call.isCancelled()) {
                  try {
                    call.onError(GrpcErrors.toStatus(e));
                  } catch (RuntimeException closed) {
                    log.debug("could not report a failed log stream: {}", closed.toString());
                  }
                }
              }
            });
  }

  private void stream(
      JobId id,
      StreamLogsRequest request,
      ServerCallStreamObserver<StreamLogsResponse> call,
      java.util.concurrent.Semaphore ready) {
    long next = request.getFromSequence();
    while (!call.isCancelled()) {
      var change = signals.nextChange(id);
      // The job is loaded only once the reader has caught up (a read found nothing). If it is
      // still running, the follower waits: any line persisted after that read completes
      // `change`, taken before it. Otherwise the lines are read once more: lines are persisted
      // before the result that ends a job, so a final state seen before a read means that read
      // sees every line. While there is history to send, each message costs one log read and
      // no job read; while following live, one job read and two log reads per batch.
      Job job = null;
      List<LogLine> lines = logs.read(id, next, LINES_PER_MESSAGE);
      if (lines.isEmpty()) {
        job = jobs.get(id);
        if (!job.isSettled() && request.getFollow()) {
          JobSignals.await(change, MAX_WAIT);
          if (Thread.currentThread().isInterrupted()) {
            return;
          }
          continue;
        }
        lines = logs.read(id, next, LINES_PER_MESSAGE);
      }
      if (!lines.isEmpty()) {
        var b = StreamLogsResponse.newBuilder();
        long bytes = 0;
        long consumed = next - 1;
        for (LogLine line : lines) {
          consumed = line.sequence();
          if (request.getAttempt() == 0 || line.attempt() == request.getAttempt()) {
            b.addLines(toApi(line));
            bytes += line.data().length;
          }
          if (bytes >= MAX_MESSAGE_BYTES) {
            break; // the rest goes in the next message
          }
        }
        if (b.getLinesCount() > 0) {
          if (!awaitReady(call, ready)) {
            return;
          }
          call.onNext(b.build());
          io.hodei.server.metrics.LogTraffic.responseSent(b.getLinesCount());
        }
        next = consumed + 1;
        continue;
      }
      // Caught up, and the job is settled or the reader does not follow: the log is complete.
      var last = StreamLogsResponse.newBuilder();
      if (job.isSettled()) {
        last.setFinalState(WireMapping.toWire(job.state()));
      }
      call.onNext(last.build());
      call.onCompleted();
      return;
    }
  }

  /**
   * {@link ApiMapper#toApi(LogLine)} without copying the line's bytes: the store decoded them into
   * an array of their own, which nothing else holds or changes, so the message may share it.
   */
  private static io.hodei.api.v1.LogLine toApi(LogLine line) {
    return io.hodei.api.v1.LogLine.newBuilder()
        .setSequence(line.sequence())
        .setAttempt(line.attempt())
        .setStream(
            line.stream() == io.hodei.core.log.LogStream.STDERR
                ? io.hodei.api.v1.LogStream.LOG_STREAM_STDERR
                : io.hodei.api.v1.LogStream.LOG_STREAM_STDOUT)
        .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(line.data()))
        .setAt(WireMapping.toWire(line.at()))
        .setNoNewline(line.noNewline())
        .build();
  }

  /**
   * Waits until gRPC's outbound buffer has room; false if the call ended or the thread was
   * interrupted first. The on-ready (and on-cancel) handler releases a permit; the one-second
   * re-check only covers a wake-up lost between {@code isReady} and the wait.
   */
  private static boolean awaitReady(
      ServerCallStreamObserver<?> call, java.util.concurrent.Semaphore ready) {
    while (!call.isReady()) {
      if (call.isCancelled()) {
        return false;
      }
      try {
        ready.tryAcquire(1, java.util.concurrent.TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    ready.drainPermits();
    return !call.isCancelled();
  }
}
