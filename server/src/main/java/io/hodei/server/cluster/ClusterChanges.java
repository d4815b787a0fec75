package io.hodei.server.cluster;

import io.hodei.server.api.JobSignals;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What this replica must learn of changes other replicas make, while another is alive:
 *
 * <ul>
 *   <li>the commands other replicas left for workers attached here (drain, deregister) are taken
 *       and carried out every {@link #EVERY};
 *   <li>followers here ({@code WatchJob}, {@code StreamLogs}) are woken every {@link #EVERY} to
 *       re-read the store;
 *   <li>a job cancelled through another replica while it runs on a worker attached here is
 *       cancelled on that worker: every {@link #CANCELS_EVERY}, the jobs running here are read
 *       back, and a cancel request on the attempt a worker runs is forwarded to it, once.
 * </ul>
 *
 * A replica alone pays nothing: its own changes reach its followers and workers directly.
 *
 * <p>Polling, not {@code LISTEN/NOTIFY}: a follower's re-read is one indexed read, works on every
 * database and cannot miss a change, so it bounds the delay (one tick plus a read) by itself.
 */
public final class ClusterChanges implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterChanges.class);
  /** How often followers re-read while other replicas are alive. */
  public static final Duration EVERY = Duration.ofMillis(250);

  /** How often the jobs running on this replica's workers are read back for cancel requests. */
  public static final Duration CANCELS_EVERY = Duration.ofSeconds(1);

  private final io.hodei.core.job.JobStore jobs;
  private final io.hodei.core.replica.ReplicaStore replicas;
  private final java.util.function.Supplier<java.util.List<String>> replicaAddresses;
  /** The live replicas the workers here were last told of; the loop's thread only. */
  private java.util.Set<String> told = java.util.Set.of();
  private final io.hodei.server.workers.WorkerRegistry registry;
  private final io.hodei.server.workers.WorkerLifecycle lifecycle;
  private final JobSignals signals;
  private final Membership membership;
  /** Executions whose cancel request was forwarded; the loop's thread only. */
  private final java.util.Set<io.hodei.core.job.ExecutionId> forwarded = new java.util.HashSet<>();
  private final Clock clock;
  private volatile boolean running;
  private Thread thread;

  public ClusterChanges(
      io.hodei.core.job.JobStore jobs,
      io.hodei.server.workers.WorkerRegistry registry,
      io.hodei.server.workers.WorkerLifecycle lifecycle,
      JobSignals signals,
      Membership membership,
      io.hodei.core.replica.ReplicaStore replicas,
      java.util.function.Supplier<java.util.List<String>> replicaAddresses,
      Clock clock) {
    this.replicaAddresses = replicaAddresses;
    this.replicas = replicas;
    this.jobs = jobs;
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.signals = signals;
    this.membership = membership;
    this.clock = clock;
  }

  public synchronized void start() {
    running = true;
    thread = Thread.ofVirtual().name("wake-followers-for-peers").start(this::loop);
  }

  private void loop() {
    Instant cancelsReadAt = Instant.EPOCH;
    while (running) {
      try {
        Instant now = clock.instant();
        boolean peers = membership.shared();
        tellWorkersIfReplicasChanged();
        if (peers && signals.anyWaiting()) {
          signals.signalAll();
        }
        if (peers) {
          carryOut(replicas.take(membership.id()));
        }
        if (peers && !now.isBefore(cancelsReadAt.plus(CANCELS_EVERY))) {
          cancelsReadAt = now;
          forwardCancels();
        }
      } catch (RuntimeException e) {
        log.debug("could not read what other replicas changed: {}", e.getMessage());
      }
      try {
        // Woken early by a nudge (a command or a cancel for a worker here): read back at once.
        if (membership.shared() ? replicas.awaitNudge(membership.id(), EVERY) : sleep(EVERY)) {
          cancelsReadAt = Instant.EPOCH;
        }
      } catch (InterruptedException e) {
        return;
      } catch (RuntimeException e) {
        log.debug("could not wait for nudges: {}", e.getMessage());
      }
    }
  }

  private static boolean sleep(Duration d) throws InterruptedException {
    Thread.sleep(d);
    return false;
  }

  @Override
  public synchronized void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }

  /**
   * When a replica joins or leaves, tells every worker attached here the new list, so that each
   * knows where to go when this replica goes (a worker knows only the replicas it was told of).
   */
  void tellWorkersIfReplicasChanged() {
    var live = membership.liveIds();
    if (live.equals(told)) {
      return;
    }
    told = live;
    var message = io.hodei.server.workers.WorkerCommands.replicas(replicaAddresses.get());
    for (var worker : registry.snapshot()) {
      if (worker.attached()) {
        registry.link(worker.info().id()).ifPresent(link -> link.send(message));
      }
    }
  }

  /** Carries out the commands other replicas left for workers attached here. */
  void carryOut(java.util.List<io.hodei.core.replica.WorkerCommand> commands) {
    for (var command : commands) {
      switch (command.kind()) {
        case DRAIN -> {
          if (registry.draining(command.worker())) {
            log.info("worker {} drains, as asked through another replica: {}", command.worker(), command.reason());
          }
        }
        case DEREGISTER -> {
          if (registry.find(command.worker()).filter(w -> w.terminatedAt().isEmpty()).isPresent()) {
            lifecycle.retire(command.worker(), "deregistered" + (command.reason().isBlank() ? "" : ": " + command.reason()));
          }
        }
      }
    }
  }

  /** Forwards to the workers attached here the cancel requests made through other replicas. */
  void forwardCancels() {
    java.util.Set<io.hodei.core.job.ExecutionId> runningHere = new java.util.HashSet<>();
    for (var worker : registry.snapshot()) {
      for (var run : worker.running().entrySet()) {
        var execution = run.getKey();
        runningHere.add(execution);
        if (forwarded.contains(execution)) {
          continue;
        }
        var job = jobs.find(run.getValue());
        if (job.isEmpty() || job.get().cancel().isEmpty() || !job.get().executionId().equals(java.util.Optional.of(execution))) {
          continue;
        }
        var request = job.get().cancel().get();
        if (lifecycle.forwardCancel(worker.info().id(), run.getValue().value(), execution.value(), request.reason())) {
          forwarded.add(execution);
          log.info("job {}: cancel requested through another replica, forwarded to worker {}", run.getValue(), worker.info().id());
        }
      }
    }
    forwarded.retainAll(runningHere);
  }
}
