package io.hodei.server.scheduling;

import io.hodei.core.job.Job;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobStore;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.server.workers.WorkerLifecycle;
import io.hodei.server.workers.WorkerRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scheduling loop: hands pending jobs, in queue order, to free workers through the {@link
 * WorkerLifecycle}, and asks the {@link Provisioner} for workers when none is free.
 *
 * <p>One thread runs the loop, so two passes never compete for the same job; a pass is triggered
 * by {@link #wake()} (a job was queued, a worker became free) or by a periodic tick that makes a
 * lost wake-up cost latency only. Correctness does not rest on that single thread: assignment is
 * a compare-and-set in the store, and a worker is reserved in the registry before its job is
 * assigned.
 */
public final class Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);
  private static final int BATCH = 200;
  /** The smallest head of the queue a pass reads while some slot is free. */
  private static final int MIN_WINDOW = 8;
  /**
   * After a pass that found jobs waiting and placed none, wake-ups are coalesced for this long unless a worker becomes
   * free: see {@link #settle}.
   */
  static final Duration SETTLE = Duration.ofMillis(100);

  private final java.util.function.BooleanSupplier notesWaiting;
  private final JobStore jobs;
  private final JobService jobService;
  private final WorkerRegistry registry;
  private final Provisioner provisioner;
  private final WorkerLifecycle lifecycle;
  private final io.hodei.core.scheduling.Scheduler scheduler;
  private final Duration tick;
  private final java.time.Clock clock;
  private final Semaphore wakeups = new Semaphore(0);
  private volatile boolean running;
  private Thread thread;
  // Written by each pass, read by the loop between passes (the same thread, or a test's).
  private boolean lastPassStuck;
  /** The next pass reads the whole batch: the last narrow window held jobs that fit no free slot. Dispatcher thread only. */
  private boolean widen;
  private long freedAtLastPass;
  private long lastPassEnded;

  /**
   * @param notesWaiting whether this dispatcher writes why jobs wait: among replicas only the
   *     leader does, since each would name its own pools and they would overwrite each other's
   */
  public Dispatcher(
      JobStore jobs,
      JobService jobService,
      WorkerRegistry registry,
      Provisioner provisioner,
      WorkerLifecycle lifecycle,
      io.hodei.core.scheduling.Scheduler scheduler,
      Duration tick,
      java.time.Clock clock,
      java.util.function.BooleanSupplier notesWaiting) {
    this.notesWaiting = notesWaiting;
    this.jobs = jobs;
    this.jobService = jobService;
    this.registry = registry;
    this.provisioner = provisioner;
    this.lifecycle = lifecycle;
    this.scheduler = scheduler;
    this.tick = tick;
    this.clock = clock;
  }

  public synchronized void start() {
    running = true;
    thread = Thread.ofPlatform().name("dispatch-pending-jobs").daemon().start(this::loop);
  }

  /** Asks for a pass soon. Cheap and callable from any thread. */
  public void wake() {
    if (wakeups.availablePermits() == 0) {
      wakeups.release();
    }
  }

  public void shutdown() {
    running = false;
    wake();
    Thread t;
    synchronized (this) {
      t = thread;
    }
    if (t != null) {
      try {
        t.join(Duration.ofSeconds(5));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void loop() {
    while (running) {
      try {
        while (running && dispatchPass()) {
          // A full batch was placed; more may be waiting.
        }
      } catch (RuntimeException e) {
        log.error("dispatch pass failed; retrying on the next tick", e);
      }
      try {
        boolean woken = wakeups.tryAcquire(tick.toMillis(), TimeUnit.MILLISECONDS);
        if (woken) {
          settle();
        }
        wakeups.drainPermits();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Every QueueJob wakes the dispatcher, and each pass reads the head of the queue (up to {@value
   * #BATCH} jobs), checks each against the free workers and the pools, and notes why it waits. A
   * queue that cannot move (no free worker fits its head) would have that whole pass repeated for
   * every job queued behind it, which halved the submit rate of a deep queue. So, after a pass that
   * found jobs waiting and placed none of them, the next one waits until {@link #SETTLE} has passed since, unless a worker
   * became free meanwhile: the only thing a pass without a new free worker can place is a job
   * queued since the last one, and that job waits at most {@code SETTLE} longer. A pass that
   * placed something is followed at once, as before.
   */
  private void settle() throws InterruptedException {
    if (!lastPassStuck) {
      return;
    }
    long until = lastPassEnded + SETTLE.toNanos();
    while (running && System.nanoTime() < until && registry.freedCount() == freedAtLastPass) {
      Thread.sleep(Math.max(1, Math.min(5, (until - System.nanoTime()) / 1_000_000)));
    }
  }

  /** The rejections of a placement, in words; empty when there simply was no free worker. */
  static String explain(io.hodei.core.scheduling.Scheduler.Placement placement) {
    if (placement.rejections().isEmpty()) {
      return "";
    }
    return placement.summary()
        + ": "
        + String.join("; ", placement.rejections().stream().map(Object::toString).toList());
  }

  /** One pass over the head of the queue. Returns true if it should run again at once. */
  boolean dispatchPass() {
    long freed = registry.freedCount();
    Pass result = new Pass(0, false, false);
    try {
      result = pass();
    } finally {
      lastPassStuck = result.stuck();
      freedAtLastPass = freed;
      lastPassEnded = System.nanoTime();
    }
    return (result.placed() > 0 && result.batchFull()) || widen;
  }

  /** What a pass did: how many jobs it placed, and whether it read a full batch. */
  private record Pass(int placed, boolean batchFull, boolean stuck) {}

  private Pass pass() {
    // Reading and decoding the head of the queue costs per job read, and a pass places at most
    // one job per free slot: with a few free slots (a busy pool, one job just finished) it reads
    // a small window. The whole batch is read when no slot is free (the pools then see every
    // waiting job they may start workers for) and after a window whose jobs fit no free slot
    // (so that they do not hold back the jobs behind them).
    int freeSlots = registry.freeSlots(BATCH);
    int window = freeSlots == 0 || widen ? BATCH : Math.min(BATCH, MIN_WINDOW + 2 * freeSlots);
    List<Job> pending = jobs.pending(window, clock.instant());
    if (pending.isEmpty()) {
      widen = false;
      return new Pass(0, false, false);
    }
    List<Job> unplaced = new ArrayList<>();
    // By position in unplaced: a map keyed by Job would hash whole specs.
    List<String> why = new ArrayList<>();
    int placed = 0;
    for (Job job : pending) {
      // In queue order; a job that fits no free worker does not hold back the ones behind it
      // that do (aging in the queue order keeps it from starving).
      var dispatch = lifecycle.dispatch(job, scheduler);
      switch (dispatch.result()) {
        case UNPLACED -> {
          unplaced.add(job);
          why.add(explain(dispatch.placement()));
        }
        case SENT -> placed++;
        case BACK_IN_QUEUE, FAILED_TO_START, NOT_DISPATCHED -> {}
      }
    }
    if (!unplaced.isEmpty()) {
      List<String> provisioning =
          provisioner.ensureCapacity(unplaced.stream().map(Job::spec).toList());
      for (int i = 0; i < unplaced.size() && notesWaiting.getAsBoolean(); i++) {
        Job job = unplaced.get(i);
        String placement = why.get(i);
        jobService.noteWaiting(
            job, placement.isEmpty() ? provisioning.get(i) : provisioning.get(i) + "; " + placement);
      }
    }
    // Stuck: jobs wait and none could be placed. (An empty queue is not stuck: the next job must
    // not wait for SETTLE.)
    boolean windowFull = pending.size() == window;
    // Jobs left in a full narrow window while slots are still free: read the whole batch next.
    widen = window < BATCH && windowFull && !unplaced.isEmpty() && registry.freeSlots(1) > 0;
    return new Pass(placed, windowFull, placed == 0 && !widen);
  }
}
