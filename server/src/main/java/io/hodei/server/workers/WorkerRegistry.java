package io.hodei.server.workers;

import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.JobId;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The control plane's live view of registered workers: which are attached, which are free, what
 * each runs. In memory only; the durable registration is in the worker store.
 *
 * <p>Thread-safe: every method holds the registry's monitor for a short, I/O-free section. A
 * worker <em>can take a job</em> when it is attached, not silent (heard from within the heartbeat
 * timeout), not draining, not reserved, and runs fewer jobs than its slots; it is <em>free</em>
 * when it also runs nothing. {@link #reserve} hands such a worker to exactly one dispatcher,
 * which must then call {@link #confirm} or {@link #release}.
 */
public final class WorkerRegistry {

  /** What the registry knows about one worker, as a snapshot. */
  public record WorkerView(
      WorkerInfo info,
      String provider,
      boolean attached,
      boolean reserved,
      Map<ExecutionId, JobId> running,
      Instant registeredAt,
      Instant lastSeenAt,
      Instant idleSince,
      boolean silent,
      boolean draining,
      java.util.Optional<Instant> terminatedAt,
      int slots,
      io.hodei.core.job.Resources allocated) {

    /** Attached, healthy, taking jobs, and running nothing. */
    public boolean isFree() {
      return canTakeMore() && running.isEmpty();
    }

    /** Attached, healthy, taking jobs, with a job slot left. */
    public boolean canTakeMore() {
      return attached && !silent && !draining && !reserved && running.size() < slots;
    }

    /** Attached and heard from recently. */
    public boolean isHealthy() {
      return attached && !silent;
    }
  }

  /** A free worker handed to one dispatcher, and the link to send its job on. */
  public record Reservation(WorkerId workerId, WorkerLink link) {}

  private static final class Entry {
    final WorkerInfo info;
    final String provider;
    final Instant registeredAt;
    WorkerLink link;
    boolean reserved;
    final Map<ExecutionId, JobId> running = new LinkedHashMap<>();
    final Map<ExecutionId, io.hodei.core.job.Resources> allocated = new HashMap<>();
    final int slots;
    Instant lastSeenAt;
    Instant idleSince;
    boolean draining;
    Instant terminatedAt;

    Entry(WorkerInfo info, String provider, int slots, Instant now) {
      this.info = info;
      this.slots = slots;
      this.provider = provider;
      this.registeredAt = now;
      this.lastSeenAt = now;
      this.idleSince = now;
    }

    WorkerView view(Instant now, Duration silenceLimit) {
      return new WorkerView(
          info,
          provider,
          link != null,
          reserved,
          Map.copyOf(running),
          registeredAt,
          lastSeenAt,
          idleSince,
          lastSeenAt.plus(silenceLimit).isBefore(now),
          draining,
          java.util.Optional.ofNullable(terminatedAt),
          slots,
          allocatedTotal());
    }

    io.hodei.core.job.Resources allocatedTotal() {
      double cpu = 0;
      long memory = 0;
      long disk = 0;
      int gpu = 0;
      for (var r : allocated.values()) {
        cpu += r.cpuCores();
        memory += r.memoryBytes();
        disk += r.diskBytes();
        gpu += r.gpu();
      }
      return new io.hodei.core.job.Resources(cpu, memory, disk, gpu);
    }
  }

  private final Clock clock;
  private final Duration silenceLimit;
  private final Map<WorkerId, Entry> workers = new HashMap<>();
  /** Workers that left, newest last, kept a while so listings can show them as terminated. */
  private final java.util.ArrayDeque<Entry> terminated = new java.util.ArrayDeque<>();
  private static final int TERMINATED_KEPT = 50;
  private static final Duration TERMINATED_SHOWN_FOR = Duration.ofMinutes(10);

  /** @param silenceLimit a worker not heard from for this long is silent: no jobs go to it */
  public WorkerRegistry(Clock clock, Duration silenceLimit) {
    this.clock = clock;
    this.silenceLimit = silenceLimit;
  }

  /**
   * A worker has proven its identity; it becomes usable once it attaches its stream.
   *
   * @param slots how many jobs it may run at once (its pool's policy)
   */
  public synchronized void register(WorkerInfo info, String provider, int slots) {
    workers.put(info.id(), new Entry(info, provider, Math.max(1, slots), clock.instant()));
  }

  /**
   * Binds the worker's stream. A previous stream of the same worker is replaced (the worker
   * reconnected) and closed. Returns false if the worker is not registered.
   */
  public synchronized boolean attach(WorkerId id, WorkerLink link) {
    Entry entry = workers.get(id);
    if (entry == null) {
      return false;
    }
    WorkerLink previous = entry.link;
    entry.link = link;
    entry.lastSeenAt = clock.instant();
    if (previous != null && previous != link) {
      previous.close();
    }
    return true;
  }

  /** Unbinds {@code link} if it is still the worker's current stream. */
  public synchronized void detach(WorkerId id, WorkerLink link) {
    Entry entry = workers.get(id);
    if (entry != null && entry.link == link) {
      entry.link = null;
    }
  }

  public synchronized void seen(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.lastSeenAt = clock.instant();
    }
  }

  /**
   * The workers that can take a job now, as scheduling candidates: attached, healthy, not
   * draining, with a job slot left. Each carries what its running jobs requested, so the
   * scheduler fits new jobs into what is left.
   */
  public synchronized List<io.hodei.core.scheduling.Candidate> freeCandidates() {
    Instant now = clock.instant();
    List<io.hodei.core.scheduling.Candidate> free = new ArrayList<>();
    for (Entry e : workers.values()) {
      if (e.view(now, silenceLimit).canTakeMore()) {
        free.add(
            new io.hodei.core.scheduling.Candidate(
                e.info.id(),
                e.provider,
                e.info.labels(),
                e.info.taints(),
                e.info.capabilities(),
                e.info.capacity(),
                e.allocatedTotal(),
                e.running.size()));
      }
    }
    return free;
  }

  /** Reserves {@code id} for one dispatcher if it is still free. */
  public synchronized Optional<Reservation> reserve(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry == null || !entry.view(clock.instant(), silenceLimit).canTakeMore()) {
      return Optional.empty();
    }
    entry.reserved = true;
    return Optional.of(new Reservation(id, entry.link));
  }

  /** The reserved worker now runs {@code execution}, which asked for {@code requested}. */
  public synchronized void confirm(
      WorkerId id, JobId job, ExecutionId execution, io.hodei.core.job.Resources requested) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.reserved = false;
      entry.running.put(execution, job);
      entry.allocated.put(execution, requested);
    }
  }

  /** The reservation came to nothing; the worker is free again. */
  public synchronized void release(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.reserved = false;
    }
  }

  /** {@code execution} ended on the worker. */
  public synchronized void finished(WorkerId id, ExecutionId execution) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.allocated.remove(execution);
    }
    if (entry != null && entry.running.remove(execution) != null && entry.running.isEmpty()) {
      entry.idleSince = clock.instant();
    }
  }

  /**
   * The worker takes no new jobs (it is shutting down, or an admin drains it). Returns false if no
   * such worker is registered.
   */
  public synchronized boolean draining(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.draining = true;
    }
    return entry != null;
  }

  /** Draining workers that run nothing any more: they can be stopped. */
  public synchronized List<WorkerId> drained() {
    return workers.values().stream()
        .filter(e -> e.draining && e.running.isEmpty() && !e.reserved)
        .map(e -> e.info.id())
        .toList();
  }

  /** The worker is gone for good. Returns what it was running. */
  public synchronized Map<ExecutionId, JobId> remove(WorkerId id) {
    Entry entry = workers.remove(id);
    if (entry == null) {
      return Map.of();
    }
    if (entry.link != null) {
      entry.link.close();
      entry.link = null;
    }
    entry.terminatedAt = clock.instant();
    terminated.addLast(entry);
    while (terminated.size() > TERMINATED_KEPT) {
      terminated.removeFirst();
    }
    return Map.copyOf(entry.running);
  }

  /** Removes the worker if it is free and has been idle since before {@code cutoff}. */
  public synchronized boolean removeIfIdleSince(WorkerId id, Instant cutoff) {
    Entry entry = workers.get(id);
    if (entry == null || !entry.view(clock.instant(), silenceLimit).isFree() || !entry.idleSince.isBefore(cutoff)) {
      return false;
    }
    remove(id);
    return true;
  }

  public synchronized Optional<WorkerView> find(WorkerId id) {
    return Optional.ofNullable(workers.get(id)).map(e -> e.view(clock.instant(), silenceLimit));
  }

  public synchronized Optional<WorkerLink> link(WorkerId id) {
    return Optional.ofNullable(workers.get(id)).map(e -> e.link);
  }

  public synchronized List<WorkerView> snapshot() {
    List<WorkerView> views = new ArrayList<>();
    Instant now = clock.instant();
    workers.values().forEach(e -> views.add(e.view(now, silenceLimit)));
    terminated.removeIf(e -> e.terminatedAt.plus(TERMINATED_SHOWN_FOR).isBefore(now));
    terminated.stream()
        .filter(e -> !workers.containsKey(e.info.id()))
        .forEach(e -> views.add(e.view(now, silenceLimit)));
    views.sort(Comparator.comparing(v -> v.info().id().value()));
    return views;
  }
}
