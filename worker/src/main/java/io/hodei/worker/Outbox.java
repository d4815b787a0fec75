package io.hodei.worker;

import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.WorkerMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the worker sends goes through here, and one thread, the sender, writes it: gRPC
 * stream observers are not thread-safe, so no other thread ever calls {@code onNext}, {@code
 * onCompleted} or {@code cancel} on a request stream.
 *
 * <p>Lanes, served in this order:
 *
 * <ul>
 *   <li>Each stream's <b>control lane</b> ({@link #sendNow}) carries {@code attach}, heartbeats
 *       and acks. It never blocks, is served first, and dies with its stream.
 *   <li>Each stream's <b>replay lane</b>, filled when the server acknowledges the attach, carries
 *       what earlier streams carried and the server has not acknowledged: per execution, in
 *       execution order, its unacknowledged log batches in sequence order, then its result if
 *       that was written but not acknowledged. It dies with its stream (the next attach fills the
 *       next stream's lane anew).
 *   <li>The <b>job lane</b> ({@link #enqueue}) carries {@code job_started}, {@code log_batch} and
 *       {@code job_result}, first in first out, and outlives streams: while the worker is
 *       disconnected its messages wait for the next attached stream.
 * </ul>
 *
 * <p>Acknowledgements. A log batch is kept from the moment it is taken for writing until the
 * server acknowledges it ({@link #acknowledgeLogs}: every line of the execution below a sequence
 * number is stored); a result likewise until {@link #acknowledgeResult}, which also drops what is
 * left of its execution. So nothing written to a stream that then broke is lost: it is replayed on
 * the next. Replayed batches keep their lines' sequence numbers (the server de-duplicates by
 * them) and leave out lines already acknowledged.
 *
 * <p>Order: an execution's messages reach every stream in the order they were queued: its replay
 * comes before anything newer of it in the job lane, and its result after all its log batches. A
 * result never overtakes its own logs.
 *
 * <p>Bound: the job lane and the log batches awaiting acknowledgement together hold at most
 * {@code capacity} messages (results awaiting acknowledgement, one per execution and small, are
 * not counted). A producer blocks while that is reached, which stops a job's reader threads and so
 * the job itself on its pipe, until the stream takes messages and the server acknowledges them.
 * Nothing is dropped and nothing grows without bound; a server that never acknowledges log
 * batches stalls the jobs.
 *
 * <p>The sender writes only to the current stream, only while {@code isReady()} (it sleeps until
 * the stream's on-ready handler calls {@link #wake}), and only control messages until the server
 * acknowledged the attach. A {@code job_started} taken for a stream that broke before it could be
 * written is kept and goes out on the next stream before the job lane.
 *
 * <p>All state below, including the {@code control}, {@code replay}, {@code isAttached} and {@code
 * isEnded} fields of every {@link StreamSession}, is guarded by {@link #lock}. The lock is never
 * held while writing to a stream, only while asking {@code isReady()}.
 */
final class Outbox {
  private static final Logger log = LoggerFactory.getLogger(Outbox.class);

  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled on anything the sender or {@link #awaitSettled} may be waiting for. */
  private final Condition changed = lock.newCondition();
  /** Signalled when the bound may no longer be reached, or the outbox closes. */
  private final Condition notFull = lock.newCondition();

  private final ArrayDeque<WorkerMessage> jobLane = new ArrayDeque<>();
  /** A job message without acknowledgement whose write failed; goes out before the job lane. */
  private WorkerMessage heldBack;
  /** Per execution, in the order of their first write: what awaits the server's ack. */
  private final Map<String, Unacknowledged> unacknowledged = new LinkedHashMap<>();
  /** The log batches held in {@link #unacknowledged}, all executions together. */
  private int unacknowledgedBatches;
  /** Executions whose result was queued and not yet acknowledged. */
  private final Set<String> resultsAwaitingAck = new LinkedHashSet<>();
  private final ArrayDeque<Termination> terminations = new ArrayDeque<>();
  private StreamSession current;
  private boolean closed;
  private boolean stopped;
  private long notReadyWaits;

  /**
   * What the server has not yet acknowledged of one execution: the log batches written, in
   * sequence order, and the result once written. {@code storedBelow}: the server has every line
   * with a lower sequence number.
   */
  private static final class Unacknowledged {
    final ArrayDeque<LogBatch> batches = new ArrayDeque<>();
    long storedBelow;
    JobResult result;

    boolean isEmpty() {
      return batches.isEmpty() && result == null;
    }
  }

  /** A request to end a stream from the sender thread: half-close it, or cancel it. */
  private record Termination(StreamSession session, boolean cancel, String reason) {}

  /** A message taken for writing, and whether it came from the job lane. */
  private record Outgoing(StreamSession session, WorkerMessage message, boolean fromJobLane) {}

  Outbox(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
  }

  /**
   * Queues a job message, blocking while the bound is reached. Returns false, dropping the
   * message, once the outbox is closed.
   */
  boolean enqueue(WorkerMessage message) throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (!closed && isFullLocked()) {
        notFull.await();
      }
      if (closed) {
        return false;
      }
      jobLane.add(message);
      if (message.hasJobResult()) {
        resultsAwaitingAck.add(message.getJobResult().getExecutionId());
      }
      changed.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Queues a job message only if the bound leaves room now; never blocks. Returns false, leaving
   * the message to the caller, when the outbox is full or closed. For jobs whose log policy is to
   * drop rather than wait.
   */
  boolean offer(WorkerMessage message) {
    lock.lock();
    try {
      if (closed || isFullLocked()) {
        return false;
      }
      jobLane.add(message);
      changed.signalAll();
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** Queues a control message for {@code session}; dropped if that stream has ended. */
  void sendNow(StreamSession session, WorkerMessage message) {
    lock.lock();
    try {
      if (session.isEnded || session != current) {
        log.debug("stream gone, dropping {}", message.getPayloadCase());
        return;
      }
      session.control.add(message);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Queues a heartbeat on the current stream if it is attached, replacing one still waiting there
   * (only the newest state matters).
   */
  void offerHeartbeat(WorkerMessage heartbeat) {
    lock.lock();
    try {
      StreamSession session = current;
      if (session == null || !session.isAttached) {
        return;
      }
      session.control.removeIf(WorkerMessage::hasHeartbeat);
      session.control.add(heartbeat);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Makes {@code session} the stream to write to; {@code attach} goes first on it. */
  void bind(StreamSession session, WorkerMessage attach) {
    lock.lock();
    try {
      if (session.isEnded) {
        return;
      }
      current = session;
      session.control.add(attach);
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The server acknowledged the attach: what it has not acknowledged yet is queued again on the
   * stream's replay lane (per execution: log batches, then the result), and the job lane opens.
   */
  void markAttached(StreamSession session) {
    lock.lock();
    try {
      if (session.isEnded || session != current) {
        return;
      }
      int batches = 0;
      int results = 0;
      for (Unacknowledged execution : unacknowledged.values()) {
        for (LogBatch batch : execution.batches) {
          session.replay.add(
              WorkerMessage.newBuilder()
                  .setLogBatch(withoutStoredLines(batch, execution.storedBelow))
                  .build());
          batches++;
        }
        if (execution.result != null) {
          session.replay.add(WorkerMessage.newBuilder().setJobResult(execution.result).build());
          results++;
        }
      }
      if (batches + results > 0) {
        log.info(
            "sending again what the server has not acknowledged: {} log batch(es), {} result(s)",
            batches, results);
      }
      session.isAttached = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The stream is over: its control and replay lanes are dropped; the sender awaits the next. */
  void markEnded(StreamSession session) {
    lock.lock();
    try {
      session.isEnded = true;
      session.control.clear();
      session.replay.clear();
      if (current == session) {
        current = null;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The server stored every line of {@code executionId} with a sequence number below {@code
   * storedBelow}: the log batches holding only such lines are dropped.
   */
  void acknowledgeLogs(String executionId, long storedBelow) {
    lock.lock();
    try {
      Unacknowledged execution = unacknowledged.get(executionId);
      if (execution == null) {
        log.debug("log ack for an execution with nothing awaiting one: {}", executionId);
        return;
      }
      if (storedBelow <= execution.storedBelow) {
        return;
      }
      execution.storedBelow = storedBelow;
      while (!execution.batches.isEmpty()
          && lastSequence(execution.batches.peekFirst()) < storedBelow) {
        execution.batches.pollFirst();
        unacknowledgedBatches--;
      }
      if (execution.isEmpty()) {
        unacknowledged.remove(executionId);
      }
      notFull.signalAll();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The server has the result of {@code executionId}: nothing of that execution is sent again,
   * log batches included.
   */
  void acknowledgeResult(String executionId) {
    lock.lock();
    try {
      Unacknowledged execution = unacknowledged.get(executionId);
      if (execution == null || execution.result == null) {
        log.debug("ack for a result not awaiting one: {}", executionId);
        return;
      }
      unacknowledged.remove(executionId);
      unacknowledgedBatches -= execution.batches.size();
      resultsAwaitingAck.remove(executionId);
      notFull.signalAll();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Has the sender half-close ({@code cancel == false}) or cancel the stream. */
  void terminate(StreamSession session, boolean cancel, String reason) {
    lock.lock();
    try {
      terminations.add(new Termination(session, cancel, reason));
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Wakes the sender; the streams' on-ready handler. */
  void wake() {
    lock.lock();
    try {
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Waits until every job message has been written and the server acknowledged every result and
   * log batch. Returns false if that did not happen in time.
   */
  boolean awaitSettled(Duration timeout) throws InterruptedException {
    long left = timeout.toNanos();
    lock.lock();
    try {
      while (!settledLocked()) {
        if (left <= 0) {
          return false;
        }
        left = changed.awaitNanos(left);
      }
      return true;
    } finally {
      lock.unlock();
    }
  }

  /** No more job messages are taken; blocked producers return at once. */
  void close() {
    lock.lock();
    try {
      closed = true;
      notFull.signalAll();
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Ends the sender once it has carried out the pending terminations. */
  void stopSender() {
    lock.lock();
    try {
      stopped = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /**
   * Executions whose result was queued (written or not) and not yet acknowledged, oldest first.
   */
  List<String> resultsAwaitingAcknowledgement() {
    lock.lock();
    try {
      return List.copyOf(resultsAwaitingAck);
    } finally {
      lock.unlock();
    }
  }

  /** Log batches written and not yet acknowledged, all executions together. */
  int unacknowledgedLogBatches() {
    lock.lock();
    try {
      return unacknowledgedBatches;
    } finally {
      lock.unlock();
    }
  }

  /** How often the sender had something to write but found the stream not ready. */
  long notReadyWaits() {
    lock.lock();
    try {
      return notReadyWaits;
    } finally {
      lock.unlock();
    }
  }

  /** The sender's loop; runs on one thread until {@link #stopSender()}. */
  void runSender() {
    while (true) {
      Termination termination = null;
      Outgoing outgoing = null;
      lock.lock();
      try {
        while (termination == null && outgoing == null) {
          termination = terminations.poll();
          if (termination == null) {
            if (stopped) {
              return;
            }
            outgoing = takeNextLocked();
            if (outgoing == null) {
              changed.await();
            }
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.warn("sender interrupted; nothing more will be sent");
        return;
      } finally {
        lock.unlock();
      }
      if (termination != null) {
        carryOut(termination);
      } else {
        write(outgoing);
      }
    }
  }

  private Outgoing takeNextLocked() {
    StreamSession session = current;
    if (session == null || session.isEnded) {
      return null;
    }
    while (!session.replay.isEmpty() && isAcknowledgedLocked(session.replay.peekFirst())) {
      session.replay.pollFirst(); // acknowledged since the replay was queued
    }
    boolean hasWork =
        !session.control.isEmpty()
            || (session.isAttached
                && (!session.replay.isEmpty() || heldBack != null || !jobLane.isEmpty()));
    if (!hasWork) {
      return null;
    }
    if (!session.isReady()) {
      notReadyWaits++;
      return null;
    }
    WorkerMessage message = session.control.poll();
    if (message != null) {
      return new Outgoing(session, message, false);
    }
    message = session.replay.poll();
    if (message != null) {
      return new Outgoing(session, message, false);
    }
    if (heldBack != null) {
      message = heldBack;
      heldBack = null;
    } else {
      message = jobLane.poll();
      notFull.signalAll();
    }
    // Before the write: the ack may come back before the sender is done writing.
    awaitAcknowledgementLocked(message);
    return new Outgoing(session, message, true);
  }

  /** Keeps a log batch or result taken from the job lane until the server acknowledges it. */
  private void awaitAcknowledgementLocked(WorkerMessage message) {
    if (message.hasLogBatch()) {
      LogBatch batch = message.getLogBatch();
      unacknowledged
          .computeIfAbsent(batch.getExecutionId(), _ -> new Unacknowledged())
          .batches
          .addLast(batch);
      unacknowledgedBatches++;
    } else if (message.hasJobResult()) {
      JobResult result = message.getJobResult();
      unacknowledged.computeIfAbsent(result.getExecutionId(), _ -> new Unacknowledged()).result =
          result;
    }
  }

  /** Whether a replayed message was acknowledged since it was queued for replay. */
  private boolean isAcknowledgedLocked(WorkerMessage message) {
    if (message.hasLogBatch()) {
      Unacknowledged execution = unacknowledged.get(message.getLogBatch().getExecutionId());
      return execution == null || lastSequence(message.getLogBatch()) < execution.storedBelow;
    }
    if (message.hasJobResult()) {
      Unacknowledged execution = unacknowledged.get(message.getJobResult().getExecutionId());
      return execution == null || execution.result == null;
    }
    return false;
  }

  private void write(Outgoing outgoing) {
    try {
      outgoing.session().write(outgoing.message());
    } catch (RuntimeException e) {
      log.warn("could not write {}: {}", outgoing.message().getPayloadCase(), e.toString());
      lock.lock();
      try {
        WorkerMessage message = outgoing.message();
        // Log batches and results are kept until acknowledged: the next attach replays them.
        if (outgoing.fromJobLane() && !message.hasLogBatch() && !message.hasJobResult()) {
          heldBack = message;
        }
        markEnded(outgoing.session());
      } finally {
        lock.unlock();
      }
      return;
    }
    wake();
  }

  private void carryOut(Termination termination) {
    try {
      termination.session().end(termination.cancel(), termination.reason());
    } catch (RuntimeException e) {
      log.debug("ending the stream failed: {}", e.toString());
    }
  }

  private boolean isFullLocked() {
    return jobLane.size() + unacknowledgedBatches >= capacity;
  }

  private boolean settledLocked() {
    boolean lanesDrained =
        current == null || (current.control.isEmpty() && current.replay.isEmpty());
    return jobLane.isEmpty()
        && heldBack == null
        && unacknowledged.isEmpty()
        && resultsAwaitingAck.isEmpty()
        && lanesDrained;
  }

  /** The sequence number of the batch's last line; -1 for an empty batch. */
  private static long lastSequence(LogBatch batch) {
    int count = batch.getLinesCount();
    return count == 0 ? -1 : batch.getLines(count - 1).getSequence();
  }

  /** The batch without the lines the server has stored already; sequence numbers unchanged. */
  private static LogBatch withoutStoredLines(LogBatch batch, long storedBelow) {
    if (batch.getLinesCount() == 0 || batch.getLines(0).getSequence() >= storedBelow) {
      return batch;
    }
    LogBatch.Builder trimmed = batch.toBuilder().clearLines();
    for (LogLine line : batch.getLinesList()) {
      if (line.getSequence() >= storedBelow) {
        trimmed.addLines(line);
      }
    }
    return trimmed.build();
  }
}
