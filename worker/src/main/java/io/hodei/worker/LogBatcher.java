package io.hodei.worker;

import com.google.protobuf.ByteString;
import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Numbers one execution's output lines and groups them into {@link LogBatch}es. A batch is handed
 * to the sink when it reaches {@code maxBatchLines} lines or {@code maxBatchBytes} bytes of line
 * data, {@code maxBatchDelay} after its first line, and on {@link #close()}.
 *
 * <p>Thread-safety and invariants: {@link #append} may be called from several threads (one per
 * output stream); a single lock guards the open batch and the sequence counter. Sequence numbers
 * are 0, 1, 2, ... in the order lines are appended, across streams, so each stream's own order is
 * kept. Batches are handed to the sink while the lock is held, which makes batches leave in
 * sequence order and makes a blocking sink (a full outbox) block every producer: output waits in
 * the job's pipes rather than in memory. One virtual thread sends batches whose delay has expired.
 * After {@link #close()} returns, every appended line has been handed to the sink, and later
 * appends are discarded.
 */
final class LogBatcher {
  private static final Logger log = LoggerFactory.getLogger(LogBatcher.class);

  /** Where finished batches go. May block; that is the backpressure. */
  @FunctionalInterface
  interface BatchSink {
    void send(LogBatch batch) throws InterruptedException;
  }

  private final String jobId;
  private final String executionId;
  private final WorkerConfig.LogBatching limits;
  private final BatchSink sink;
  /** Under the drop policy: hands a batch over only if that needs no waiting; null when lossless. */
  private final java.util.function.Predicate<LogBatch> offer;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition batchOpened = lock.newCondition();
  private Thread flusher;

  // Guarded by lock.
  private final List<LogLine> lines = new ArrayList<>();
  private int batchBytes;
  private long batchDeadlineNanos;
  private long nextSequence;
  private long linesSent;
  private long linesDiscarded;
  private long linesDropped;
  private boolean closed;

  private LogBatcher(
      String jobId,
      String executionId,
      WorkerConfig.LogBatching limits,
      BatchSink sink,
      java.util.function.Predicate<LogBatch> offer) {
    this.jobId = jobId;
    this.executionId = executionId;
    this.limits = limits;
    this.sink = sink;
    this.offer = offer;
  }

  /** A lossless batcher (a full sink blocks the producers) whose timed flushes run on a new virtual thread. */
  static LogBatcher start(
      String jobId, String executionId, WorkerConfig.LogBatching limits, BatchSink sink) {
    return start(jobId, executionId, limits, sink, null);
  }

  /**
   * A batcher under the drop policy: each batch goes to {@code offer}, and one it refuses (the
   * sink is full) is dropped and its lines counted ({@link #linesDropped}) instead of blocking the
   * producers. The final batch, sent by {@link #close}, goes to {@code sink} and is never dropped.
   * Dropped lines give their sequence numbers back, so the lines sent stay numbered 0, 1, 2, ...
   * without gaps.
   */
  static LogBatcher startDropping(
      String jobId,
      String executionId,
      WorkerConfig.LogBatching limits,
      BatchSink sink,
      java.util.function.Predicate<LogBatch> offer) {
    return start(jobId, executionId, limits, sink, java.util.Objects.requireNonNull(offer));
  }

  private static LogBatcher start(
      String jobId,
      String executionId,
      WorkerConfig.LogBatching limits,
      BatchSink sink,
      java.util.function.Predicate<LogBatch> offer) {
    LogBatcher batcher = new LogBatcher(jobId, executionId, limits, sink, offer);
    batcher.flusher =
        Thread.ofVirtual().name("log-flush-" + executionId).start(batcher::flushExpiredBatches);
    return batcher;
  }

  /** Adds one line (copying the bytes), stamped now; may block while the sink is full. */
  void append(LogStream stream, byte[] bytes, int offset, int length)
      throws InterruptedException {
    append(stream, Protos.timestamp(Instant.now()), bytes, offset, length);
  }

  /**
   * Adds one line (copying the bytes) stamped {@code at}; may block while the sink is full. The
   * readers pass the instant of the pipe read that brought the line, shared by every line of that
   * read: one timestamp object per read instead of a clock read and two objects per line.
   */
  void append(LogStream stream, com.google.protobuf.Timestamp at, byte[] bytes, int offset, int length)
      throws InterruptedException {
    append(stream, at, bytes, offset, length, true);
  }

  /** As above; {@code newline} false marks a piece the job wrote no newline after ({@code no_newline}). */
  void append(
      LogStream stream, com.google.protobuf.Timestamp at, byte[] bytes, int offset, int length, boolean newline)
      throws InterruptedException {
    lock.lock();
    try {
      if (closed) {
        linesDiscarded++;
        return;
      }
      LogLine line =
          LogLine.newBuilder()
              .setSequence(nextSequence++)
              .setStream(stream)
              .setData(ByteString.copyFrom(bytes, offset, length))
              .setAt(at)
              .setNoNewline(!newline)
              .build();
      if (lines.isEmpty()) {
        batchDeadlineNanos = System.nanoTime() + limits.maxBatchDelay().toNanos();
        batchOpened.signal();
      }
      lines.add(line);
      batchBytes += length;
      if (lines.size() >= limits.maxBatchLines() || batchBytes >= limits.maxBatchBytes()) {
        sendBatchLocked();
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends what is left and stops the timer. Returns the number of lines handed to the sink for
   * this execution.
   */
  long close() throws InterruptedException {
    lock.lock();
    try {
      if (!closed) {
        closed = true;
        batchOpened.signal();
        sendBatchLocked();
      }
    } finally {
      lock.unlock();
    }
    flusher.join();
    return linesSent();
  }

  long linesSent() {
    lock.lock();
    try {
      return linesSent;
    } finally {
      lock.unlock();
    }
  }

  /** Lines dropped because the sink was full, under the drop policy. */
  long linesDropped() {
    lock.lock();
    try {
      return linesDropped;
    } finally {
      lock.unlock();
    }
  }

  /** Lines that arrived after {@link #close()}, from processes that outlived the job. */
  long linesDiscarded() {
    lock.lock();
    try {
      return linesDiscarded;
    } finally {
      lock.unlock();
    }
  }

  private void flushExpiredBatches() {
    lock.lock();
    try {
      while (!closed) {
        if (lines.isEmpty()) {
          batchOpened.await();
        } else {
          long wait = batchDeadlineNanos - System.nanoTime();
          if (wait > 0) {
            batchOpened.await(wait, TimeUnit.NANOSECONDS);
          } else {
            sendBatchLocked();
          }
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("log flusher of {} interrupted; batches now go out by size and at exit", executionId);
    } finally {
      lock.unlock();
    }
  }

  private void sendBatchLocked() throws InterruptedException {
    if (lines.isEmpty()) {
      return;
    }
    LogBatch batch =
        LogBatch.newBuilder()
            .setJobId(jobId)
            .setExecutionId(executionId)
            .addAllLines(lines)
            .build();
    int count = lines.size();
    lines.clear();
    batchBytes = 0;
    if (offer != null && !closed) {
      if (!offer.test(batch)) {
        linesDropped += count;
        nextSequence -= count; // the dropped lines were the newest: their numbers are reused
        return;
      }
    } else {
      sink.send(batch);
    }
    linesSent += count;
  }
}
