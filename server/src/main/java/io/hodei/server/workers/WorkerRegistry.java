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
    /** The class it is filed under in the free index; null when it is not there. */
    io.hodei.core.scheduling.WorkerClass indexedAs;
    /** Found silent (not heard from within the limit): out of the free index until heard from. */
    boolean parked;

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
  /**
   * The free index: every registered worker that is attached, not draining, not reserved, with a
   * job slot left and not found silent, filed by {@link io.hodei.core.scheduling.WorkerClass}
   * with its id. Kept up to date by every method that changes one of those facts (see {@link
   * #reindex}), so that placing a job costs time in the number of classes, not of workers. Silence
   * comes with time rather than with a call: {@link #parkSilent} files it out lazily, and {@link
   * #schedule} re-checks the worker it reserves.
   */
  private final Map<io.hodei.core.scheduling.WorkerClass, java.util.TreeSet<String>> freeIndex = new HashMap<>();
  /** Additions to the free index so far: see {@link #freedCount}. */
  private long freed;
  /** Workers not parked, least recently heard from first: the silent ones are at the head. */
  private final LinkedHashMap<WorkerId, Entry> bySeen = new LinkedHashMap<>();
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
    Entry entry = new Entry(info, provider, Math.max(1, slots), clock.instant());
    Entry previous = workers.put(info.id(), entry);
    if (previous != null) {
      unindex(previous);
      bySeen.remove(info.id());
    }
    heard(entry);
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
    heard(entry);
    reindex(entry);
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
      reindex(entry);
    }
  }

  public synchronized void seen(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry != null) {
      heard(entry);
    }
  }

  /** The worker was heard from now: to the tail of {@link #bySeen}, and back in the index if it was parked. */
  private void heard(Entry entry) {
    entry.lastSeenAt = clock.instant();
    WorkerId id = entry.info.id();
    bySeen.remove(id);
    bySeen.put(id, entry);
    if (entry.parked) {
      entry.parked = false;
      reindex(entry);
    }
  }

  /** Files silent workers out of the free index; cost in the number of newly silent workers. */
  private void parkSilent(Instant now) {
    var oldest = bySeen.values().iterator();
    while (oldest.hasNext()) {
      Entry e = oldest.next();
      if (!e.lastSeenAt.plus(silenceLimit).isBefore(now)) {
        return;
      }
      oldest.remove();
      park(e);
    }
  }

  private void park(Entry e) {
    bySeen.remove(e.info.id());
    e.parked = true;
    reindex(e);
  }

  /** Files {@code e} under its current class if it can take a job, and nowhere otherwise. */
  private void reindex(Entry e) {
    boolean eligible =
        workers.get(e.info.id()) == e
            && e.link != null
            && !e.draining
            && !e.reserved
            && !e.parked
            && e.running.size() < e.slots;
    var now = eligible ? classOf(e) : null;
    if (java.util.Objects.equals(now, e.indexedAs)) {
      return;
    }
    unindex(e);
    if (now != null) {
      freeIndex.computeIfAbsent(now, k -> new java.util.TreeSet<>()).add(e.info.id().value());
      e.indexedAs = now;
      freed++;
    }
  }

  /**
   * Free job slots among the workers that can take a job now, counted up to {@code cap} (the
   * count stops there, so the cost is bounded by {@code cap}, not by the fleet). A silent worker
   * not yet dropped from the index may be counted; the dispatcher uses this as a size hint only.
   */
  public synchronized int freeSlots(int cap) {
    int free = 0;
    for (var members : freeIndex.values()) {
      for (String id : members) {
        Entry e = workers.get(new WorkerId(id));
        if (e != null) {
          free += Math.max(0, e.slots - e.running.size());
          if (free >= cap) {
            return cap;
          }
        }
      }
    }
    return free;
  }

  /**
   * How many times a worker has become able to take a job (attached, released, finished a job,
   * heard from again...) since this registry was made. A placement that failed can only succeed
   * after this grows or the job changes.
   */
  public synchronized long freedCount() {
    return freed;
  }

  private void unindex(Entry e) {
    if (e.indexedAs == null) {
      return;
    }
    var members = freeIndex.get(e.indexedAs);
    if (members != null) {
      members.remove(e.info.id().value());
      if (members.isEmpty()) {
        freeIndex.remove(e.indexedAs);
      }
    }
    e.indexedAs = null;
  }

  private static io.hodei.core.scheduling.WorkerClass classOf(Entry e) {
    return new io.hodei.core.scheduling.WorkerClass(
        e.provider,
        e.info.labels(),
        e.info.taints(),
        e.info.capabilities(),
        e.info.capacity(),
        e.allocatedTotal(),
        e.running.size());
  }

  /** A placement and, when it chose a worker, that worker reserved for the caller. */
  public record Scheduled(io.hodei.core.scheduling.Scheduler.Placement placement, Optional<Reservation> reservation) {}

  /**
   * Places {@code spec} among the workers that can take a job now and reserves the chosen one, in
   * one step: the same decision as {@code scheduler.place(spec, freeCandidates())} followed by
   * {@link #reserve}, in time that grows with the number of worker classes rather than of
   * workers. The caller must {@link #confirm} or {@link #release} a reservation.
   */
  public synchronized Scheduled schedule(io.hodei.core.job.JobSpec spec, io.hodei.core.scheduling.Scheduler scheduler) {
    Instant now = clock.instant();
    parkSilent(now);
    while (true) {
      List<io.hodei.core.scheduling.CandidateClass> classes = new ArrayList<>(freeIndex.size());
      freeIndex.forEach(
          (traits, ids) ->
              classes.add(new io.hodei.core.scheduling.CandidateClass(traits, java.util.Collections.unmodifiableNavigableSet(ids))));
      var placement = scheduler.placeAmong(spec, classes);
      if (placement.worker().isEmpty()) {
        return new Scheduled(placement, Optional.empty());
      }
      Entry chosen = workers.get(placement.worker().get());
      if (chosen == null) {
        // Cannot happen while every removal unindexes; if it did, forget the id and decide again.
        freeIndex.values().forEach(ids -> ids.remove(placement.worker().get().value()));
        freeIndex.values().removeIf(java.util.Set::isEmpty);
        continue;
      }
      if (chosen.view(now, silenceLimit).canTakeMore()) {
        chosen.reserved = true;
        reindex(chosen);
        return new Scheduled(placement, Optional.of(new Reservation(chosen.info.id(), chosen.link)));
      }
      // Indexed but silent (heard from out of order with the clock): park it and decide again.
      park(chosen);
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
    reindex(entry);
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
      reindex(entry);
    }
  }

  /** The reservation came to nothing; the worker is free again. */
  public synchronized void release(WorkerId id) {
    Entry entry = workers.get(id);
    if (entry != null) {
      entry.reserved = false;
      reindex(entry);
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
    if (entry != null) {
      reindex(entry);
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
      reindex(entry);
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
    unindex(entry);
    bySeen.remove(id);
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
