package io.hodei.worker;

import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.WorkerMessage;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Everything the worker sends goes through here, and one thread, the sender, writes it: gRPC
 * stream observers are not thread-safe, so no other thread ever calls {@code onNext}, {@code
 * onCompleted} or {@code cancel} on a request stream.
 *
 * <p>Two lanes:
 *
 * <ul>
 *   <li>The <b>job lane</b> ({@link #enqueue}) carries {@code job_started}, {@code log_batch} and
 *       {@code job_result}, first in first out, and outlives streams: while the worker is
 *       disconnected its messages wait for the next attached stream. It is bounded; a producer
 *       blocks while it is full, which stops a job's reader threads and so the job itself on its
 *       pipe. Nothing is dropped and nothing grows without bound.
 *   <li>Each stream's <b>control lane</b> ({@link #sendNow}) carries {@code attach}, heartbeats,
 *       acks and re-sent results. It never blocks, is served first, and dies with its stream.
 * </ul>
 *
 * <p>The sender writes only to the current stream, only while {@code isReady()} (it sleeps until
 * the stream's on-ready handler calls {@link #wake}), and only control messages until the server
 * acknowledged the attach. A job message taken for a stream that broke before it could be written
 * is kept and goes first on the next stream.
 *
 * <p>Results are remembered from the moment they are written until the server acknowledges them
 * ({@link #acknowledgeResult}); on every attach the remembered ones are sent again, ahead of the
 * job lane. Log batches are not acknowledged by the protocol: those written to a stream that then
 * broke may be lost; the result's {@code log_lines} lets the server see it.
 *
 * <p>All state below, including the {@code control}, {@code isAttached} and {@code isEnded} fields
 * of every {@link StreamSession}, is guarded by {@link #lock}. The lock is never held while writing
 * to a stream, only while asking {@code isReady()}.
 */
final class Outbox {
  private static final Logger log = LoggerFactory.getLogger(Outbox.class);

  private final int capacity;
  private final ReentrantLock lock = new ReentrantLock();
  /** Signalled on anything the sender or {@link #awaitSettled} may be waiting for. */
  private final Condition changed = lock.newCondition();
  /** Signalled when the job lane has room or the outbox closes. */
  private final Condition notFull = lock.newCondition();

  private final ArrayDeque<WorkerMessage> jobLane = new ArrayDeque<>();
  private WorkerMessage heldBack;
  private final Map<String, JobResult> unacknowledged = new LinkedHashMap<>();
  private final ArrayDeque<Termination> terminations = new ArrayDeque<>();
  private StreamSession current;
  private boolean closed;
  private boolean stopped;
  private long notReadyWaits;

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
   * Queues a job message, blocking while the job lane is full. Returns false, dropping the
   * message, once the outbox is closed.
   */
  boolean enqueue(WorkerMessage message) throws InterruptedException {
    lock.lockInterruptibly();
    try {
      while (!closed && jobLane.size() >= capacity) {
        notFull.await();
      }
      if (closed) {
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
   * The server acknowledged the attach: unacknowledged results are queued again on the stream,
   * and the job lane opens.
   */
  void markAttached(StreamSession session) {
    lock.lock();
    try {
      if (session.isEnded || session != current) {
        return;
      }
      if (!unacknowledged.isEmpty()) {
        log.info("sending {} unacknowledged result(s) again", unacknowledged.size());
      }
      for (JobResult result : unacknowledged.values()) {
        session.control.add(WorkerMessage.newBuilder().setJobResult(result).build());
      }
      session.isAttached = true;
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** The stream is over: its control lane is dropped, the sender waits for the next one. */
  void markEnded(StreamSession session) {
    lock.lock();
    try {
      session.isEnded = true;
      session.control.clear();
      if (current == session) {
        current = null;
      }
      changed.signalAll();
    } finally {
      lock.unlock();
    }
  }

  void acknowledgeResult(String executionId) {
    lock.lock();
    try {
      if (unacknowledged.remove(executionId) == null) {
        log.debug("ack for a result not awaiting one: {}", executionId);
      }
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
   * Waits until every job message has been written and every written result acknowledged.
   * Returns false if that did not happen in time.
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

  /** Results written but not yet acknowledged, oldest first. */
  List<JobResult> unacknowledgedResults() {
    lock.lock();
    try {
      return new ArrayList<>(unacknowledged.values());
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
    boolean hasWork =
        !session.control.isEmpty()
            || (session.isAttached && (heldBack != null || !jobLane.isEmpty()));
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
    if (heldBack != null) {
      message = heldBack;
      heldBack = null;
    } else {
      message = jobLane.poll();
      notFull.signal();
    }
    if (message.hasJobResult()) {
      // Before the write: the ack may come back before the sender is done writing.
      unacknowledged.put(message.getJobResult().getExecutionId(), message.getJobResult());
    }
    return new Outgoing(session, message, true);
  }

  private void write(Outgoing outgoing) {
    try {
      outgoing.session().write(outgoing.message());
    } catch (RuntimeException e) {
      log.warn("could not write {}: {}", outgoing.message().getPayloadCase(), e.toString());
      lock.lock();
      try {
        if (outgoing.fromJobLane()) {
          heldBack = outgoing.message();
          if (heldBack.hasJobResult()) {
            unacknowledged.remove(heldBack.getJobResult().getExecutionId());
          }
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

  private boolean settledLocked() {
    boolean controlDrained = current == null || current.control.isEmpty();
    return jobLane.isEmpty() && heldBack == null && unacknowledged.isEmpty() && controlDrained;
  }
}
