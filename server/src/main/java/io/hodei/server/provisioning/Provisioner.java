package io.hodei.server.provisioning;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerCredentials;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.workers.WorkerRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Creates workers on demand and stops them when they are no longer needed (seed UC10, UC14,
 * UC16).
 *
 * <p>Invariants, all under this object's monitor:
 *
 * <ul>
 *   <li>A worker is counted against its pool from the moment its creation is decided until it is
 *       destroyed, so concurrent demand never over-provisions: workers being created count.
 *   <li>Each worker id is in at most one of {@code starting} (created, not yet registered) and
 *       {@code live}.
 * </ul>
 *
 * <p>A worker that this object stops tracking, whatever the reason (destroyed, vanished, exited
 * before it registered, failed to be created, shut down), has its registration OTP {@link
 * OtpService#revoke revoked} (outside the monitor, before the provider destroys it): an OTP never
 * outlives its worker.
 *
 * Provider calls (which may block for seconds) run on virtual threads outside the monitor.
 */
public final class Provisioner implements io.hodei.server.workers.WorkerLifecycle.Pools {
  private static final Logger log = LoggerFactory.getLogger(Provisioner.class);

  /**
   * A provider, the policy of its pool, and what its workers will offer: the scheduler's view of
   * a worker that does not exist yet, to decide whether starting one helps a job.
   */
  public record Pool(WorkerProvider provider, PoolPolicy policy, WorkerProfile profile) {
    /** Workers that run shell commands and scripts, with no labels and unstated capacity. */
    public Pool(WorkerProvider provider, PoolPolicy policy) {
      this(provider, policy, WorkerProfile.SHELL);
    }

    public String name() {
      return provider.name();
    }
  }

  /**
   * What a pool's workers offer. Zero capacity in a dimension means "not stated".
   *
   * @param placedLabelKeys label keys the provider places a worker by when a job requires one
   *     value of them (a Kubernetes pool's node selectors an admin allows): the worker it starts
   *     for that job carries the label
   */
  public record WorkerProfile(
      java.util.Set<String> capabilities,
      Map<String, String> labels,
      List<io.hodei.core.worker.Taint> taints,
      io.hodei.core.job.Resources capacity,
      java.util.Set<String> placedLabelKeys) {
    public static final WorkerProfile SHELL =
        new WorkerProfile(
            java.util.Set.of("shell", "script"), Map.of(), List.of(), io.hodei.core.job.Resources.NONE);

    public WorkerProfile {
      capabilities = java.util.Set.copyOf(capabilities);
      labels = Map.copyOf(labels);
      taints = List.copyOf(taints);
      placedLabelKeys = java.util.Set.copyOf(placedLabelKeys);
    }

    /** A profile whose provider places workers by no label. */
    public WorkerProfile(
        java.util.Set<String> capabilities, Map<String, String> labels, List<io.hodei.core.worker.Taint> taints,
        io.hodei.core.job.Resources capacity) {
      this(capabilities, labels, taints, capacity, java.util.Set.of());
    }

    /**
     * The labels of a worker started for {@code spec}: the pool's, and each placed key the job
     * requires exactly one value of.
     */
    public Map<String, String> labelsFor(io.hodei.core.job.JobSpec spec) {
      if (placedLabelKeys.isEmpty()) {
        return labels;
      }
      var all = new java.util.TreeMap<>(labels);
      for (var r : spec.constraints().labelSelector()) {
        boolean one =
            r.operator() == io.hodei.core.job.LabelRequirement.Operator.EQUALS
                || (r.operator() == io.hodei.core.job.LabelRequirement.Operator.IN && r.values().size() == 1);
        if (one && placedLabelKeys.contains(r.key()) && !r.values().isEmpty()) {
          all.put(r.key(), r.values().getFirst());
        }
      }
      return all;
    }
  }

  private final Map<String, List<String>> isolation = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * A pool whose workers keep failing at start (exiting before they register, not registering in
   * time, or not being created): how many in a row, the last one's own words, and when the next
   * may be started. Cleared by a registration. Guarded by {@code this}.
   */
  private static final class StartFailures {
    int inARow;
    String error = "";
    Instant retryAt = Instant.MIN;
  }

  private final Map<String, StartFailures> startFailures = new HashMap<>();
  /** Backoff between start attempts of a pool whose workers keep failing: 1 s, doubling, at most this. */
  static final java.time.Duration MAX_START_BACKOFF = java.time.Duration.ofMinutes(1);

  /** Counts a failed start of one of {@code pool}'s workers; call holding {@code this}. */
  private void startFailed(Pool pool, String error) {
    StartFailures f = startFailures.computeIfAbsent(pool.name(), k -> new StartFailures());
    f.inARow++;
    f.error = error;
    long seconds = 1L << Math.min(f.inARow - 1, 16);
    java.time.Duration delay = java.time.Duration.ofSeconds(seconds);
    if (delay.compareTo(MAX_START_BACKOFF) > 0) {
      delay = MAX_START_BACKOFF;
    }
    f.retryAt = clock.instant().plus(delay);
    if (f.inARow >= 2) {
      log.warn("pool {}: {} workers in a row failed at start; next try in {}: {}",
          pool.name(), f.inARow, io.hodei.core.DurationText.format(delay), error);
    }
  }

  /** Why {@code pool} may not start a worker now, if it is backing off; call holding {@code this}. */
  private Optional<String> backingOff(Pool pool) {
    StartFailures f = startFailures.get(pool.name());
    if (f == null || f.inARow < 2 || !clock.instant().isBefore(f.retryAt)) {
      return Optional.empty();
    }
    return Optional.of("provider " + pool.name() + ": its last " + f.inARow + " workers failed at start (next try in "
        + io.hodei.core.DurationText.format(java.time.Duration.between(clock.instant(), f.retryAt).withNanos(0)) + "): " + f.error);
  }

  private static final class Tracked {
    final Pool pool;
    final Instant since;
    WorkerHandle handle; // null while the provider is still creating it

    Tracked(Pool pool, Instant since) {
      this.pool = pool;
      this.since = since;
    }
  }

  /**
   * A worker this server started is only ever stopped because the server decided so (idle,
   * deregistered, shutting down), with its jobs already settled or about to be: it must not drain
   * them first, as a worker stopped by someone else does.
   */
  private static final Map<String, String> MANAGED_WORKER_ENV = Map.of("HODEI_DRAIN_TIMEOUT", "0s");

  private final List<Pool> pools;
  private final OtpService otps;
  private final WorkerRegistry registry;
  private final Supplier<String> serverAddress;
  private final WorkerCredentials credentials;
  private final Clock clock;
  private final Runnable capacityChanged;
  private final java.util.function.Function<String, Optional<String>> startedElsewhere;
  private final Map<WorkerId, Tracked> starting = new HashMap<>();
  private final Map<WorkerId, Tracked> live = new HashMap<>();
  /** Last known health per pool; written outside the monitor, because asking a provider may block. */
  private final Map<String, ProviderHealth> health = new java.util.concurrent.ConcurrentHashMap<>();
  private String lastFailure = "";
  private boolean shutdown;

  /**
   * @param serverAddress where new workers reach the control plane (known once it is bound)
   * @param capacityChanged called when workers appear or disappear, to wake the dispatcher
   */
  public Provisioner(
      List<Pool> pools,
      OtpService otps,
      WorkerRegistry registry,
      Supplier<String> serverAddress,
      Clock clock,
      Runnable capacityChanged) {
    this(pools, otps, registry, serverAddress, WorkerCredentials.NONE, clock, capacityChanged, pool -> Optional.empty());
  }

  /**
   * @param credentials transport credentials each new worker starts with, beside its one-time
   *     token
   * @param startedElsewhere for a pool's name, the replica that starts that pool's workers if it
   *     is not this one (among replicas, one per pool does)
   */
  public Provisioner(
      List<Pool> pools,
      OtpService otps,
      WorkerRegistry registry,
      Supplier<String> serverAddress,
      WorkerCredentials credentials,
      Clock clock,
      Runnable capacityChanged,
      java.util.function.Function<String, Optional<String>> startedElsewhere) {
    this.startedElsewhere = startedElsewhere;
    this.pools = List.copyOf(pools);
    this.credentials = credentials;
    this.otps = otps;
    this.registry = registry;
    this.serverAddress = serverAddress;
    this.clock = clock;
    this.capacityChanged = capacityChanged;
  }

  public List<Pool> pools() {
    return pools;
  }

  /**
   * Makes sure a worker exists or is coming for each job that found no free worker, from a pool
   * whose workers would fit it (the job's preferred provider first), within each pool's limit.
   * Workers already being started are counted before new ones are asked for, so concurrent demand
   * never over-provisions. Returns, per job and in the same order, what it now waits for.
   */
  public synchronized List<String> ensureCapacity(List<io.hodei.core.job.JobSpec> unplaced) {
    List<String> reasons = new ArrayList<>(unplaced.size());
    if (shutdown) {
      unplaced.forEach(j -> reasons.add("the control plane is shutting down"));
      return reasons;
    }
    // Workers being started, oldest first, each claimed by one waiting job.
    Map<Pool, java.util.ArrayDeque<Map.Entry<WorkerId, Tracked>>> unclaimed = new HashMap<>();
    for (Pool pool : pools) {
      unclaimed.put(pool, new java.util.ArrayDeque<>());
    }
    starting.entrySet().stream()
        .sorted(java.util.Comparator.comparing(e -> e.getValue().since))
        .forEach(e -> unclaimed.get(e.getValue().pool).add(e));
    for (var spec : unplaced) {
      List<String> refusals = new ArrayList<>();
      String reason = null;
      for (Pool pool : inPreferenceOrder(spec)) {
        ProviderHealth h = healthOf(pool);
        if (!h.canProvision()) {
          refusals.add("provider " + pool.name() + ": " + describe(h));
          continue;
        }
        var misfit = io.hodei.core.scheduling.Scheduler.whyNot(spec, candidateOf(pool, spec));
        if (misfit.isPresent()) {
          refusals.add("provider " + pool.name() + ": its workers would not fit: " + misfit.get());
          continue;
        }
        var claimed = unclaimed.get(pool).poll();
        if (claimed != null) {
          reason = "waiting for worker " + claimed.getKey() + " being started by provider " + pool.name()
              + waitingReasonOf(claimed.getValue()).map(r -> ": " + r).orElse("");
          break;
        }
        var starter = startedElsewhere.apply(pool.name());
        if (starter.isPresent()) {
          refusals.add("provider " + pool.name() + ": its workers are started by replica " + starter.get());
          continue;
        }
        var backoff = backingOff(pool);
        if (backoff.isPresent()) {
          refusals.add(backoff.get());
          continue;
        }
        if (count(pool) < pool.policy().maxWorkers() && !fullElsewhere(pool)) {
          WorkerId id = startWorker(pool, Optional.of(io.hodei.core.provider.WorkerDemand.of(spec)));
          reason = "waiting for worker " + id + " being started by provider " + pool.name();
          break;
        }
        refusals.add(
            "provider " + pool.name() + ": at its limit of " + pool.policy().maxWorkers() + " workers"
                + (fullElsewhere(pool) ? " across replicas" : ""));
      }
      if (reason == null) {
        reason =
            "waiting for a free worker; "
                + (refusals.isEmpty() ? "no provider is configured" : String.join("; ", refusals))
                + (lastFailure.isEmpty() || refusals.stream().anyMatch(r -> r.contains(lastFailure)) ? "" : "; last failure: " + lastFailure);
      }
      reasons.add(reason);
    }
    return reasons;
  }

  /**
   * Refuses, naming the field, a request for more cpu, memory, disk or gpu than any pool's
   * workers offer and than any of {@code live} (the workers there are now) has: such a job could
   * only wait forever. A pool that does not state a dimension (0 cpu, memory or disk) offers any
   * amount of it; gpus are counted, and none stated is none. Without pools nothing is refused: who
   * starts workers by hand may start a larger one.
   */
  public void requireCouldEverFit(
      io.hodei.core.job.Resources wanted, Supplier<java.util.Collection<io.hodei.core.job.Resources>> live) {
    if (pools.isEmpty()) {
      return;
    }
    List<io.hodei.core.job.Resources> offers = new ArrayList<>();
    pools.forEach(p -> offers.add(p.profile().capacity()));
    if (couldFit(wanted, offers)) {
      return; // the common case, without looking at every worker
    }
    offers.addAll(live.get());
    check("cpu_cores", wanted.cpuCores(), offers.stream().mapToDouble(r -> r.cpuCores() == 0 ? Double.POSITIVE_INFINITY : r.cpuCores()).max().orElse(0),
        v -> trim(v) + " cores");
    check("memory_bytes", wanted.memoryBytes(), offers.stream().mapToDouble(r -> r.memoryBytes() == 0 ? Double.POSITIVE_INFINITY : r.memoryBytes()).max().orElse(0),
        v -> (long) v + " bytes (" + ((long) v >> 20) + " MiB)");
    check("disk_bytes", wanted.diskBytes(), offers.stream().mapToDouble(r -> r.diskBytes() == 0 ? Double.POSITIVE_INFINITY : r.diskBytes()).max().orElse(0),
        v -> (long) v + " bytes (" + ((long) v >> 20) + " MiB)");
    check("gpu", wanted.gpu(), offers.stream().mapToDouble(io.hodei.core.job.Resources::gpu).max().orElse(0), v -> (long) v + " gpu");
  }

  private static boolean couldFit(io.hodei.core.job.Resources wanted, List<io.hodei.core.job.Resources> offers) {
    for (var r : offers) {
      if ((r.cpuCores() == 0 || wanted.cpuCores() <= r.cpuCores())
          && (r.memoryBytes() == 0 || wanted.memoryBytes() <= r.memoryBytes())
          && (r.diskBytes() == 0 || wanted.diskBytes() <= r.diskBytes())
          && wanted.gpu() <= r.gpu()) {
        return true;
      }
    }
    return false;
  }

  private static void check(String field, double wanted, double largest, java.util.function.DoubleFunction<String> show) {
    if (wanted > largest) {
      throw new io.hodei.core.error.UnsatisfiableException(
          "definition.resources." + field,
          "asks for " + show.apply(wanted) + ", more than any pool or worker here offers: at most " + show.apply(largest));
    }
  }

  private static String trim(double v) {
    return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : Double.toString(v);
  }

  private List<Pool> inPreferenceOrder(io.hodei.core.job.JobSpec spec) {
    var preferred = spec.constraints().preferredProvider();
    return pools.stream()
        .sorted(java.util.Comparator.comparing((Pool p) -> preferred.filter(p.name()::equals).isEmpty()))
        .toList();
  }

  /** A worker the pool would start, as a scheduling candidate. */
  public static io.hodei.core.scheduling.Candidate candidateOf(Pool pool) {
    return candidateOf(pool, pool.profile().labels());
  }

  /** The worker the pool would start for {@code spec}, as a scheduling candidate. */
  public static io.hodei.core.scheduling.Candidate candidateOf(Pool pool, io.hodei.core.job.JobSpec spec) {
    return candidateOf(pool, pool.profile().labelsFor(spec));
  }

  private static io.hodei.core.scheduling.Candidate candidateOf(Pool pool, Map<String, String> labels) {
    var profile = pool.profile();
    return new io.hodei.core.scheduling.Candidate(
        new WorkerId("w-new"),
        pool.name(),
        labels,
        profile.taints(),
        profile.capabilities(),
        profile.capacity(),
        io.hodei.core.job.Resources.NONE,
        0);
  }

  /** The pool that created a worker, and the provider's reference to it if already known. */
  public record Origin(String pool, String handleReference) {}

  /**
   * A worker proved its OTP. Returns where it came from, if this server created it. It still
   * counts as starting until it {@link #attached attaches}: until then no job can use it.
   */
  public synchronized Optional<Origin> registered(WorkerId id) {
    Tracked tracked = starting.containsKey(id) ? starting.get(id) : live.get(id);
    if (tracked != null) {
      startFailures.remove(tracked.pool.name());
    }
    return Optional.ofNullable(tracked)
        .map(t -> new Origin(t.pool.name(), t.handle == null ? "" : t.handle.reference()));
  }

  /**
   * Fences a worker presumed lost: stops tracking it, revokes its OTP and has its provider kill it
   * with everything it started ({@link WorkerProvider#fence}), returning only once that is done,
   * so that its jobs can be handed to other workers without ever running twice at once. A worker
   * this server does not track (started before a restart and not back since) is found through
   * {@code origin}, what the store recorded at its registration.
   *
   * @return true if the worker is known to be gone, or no provider of this server made it (an
   *     external worker, which nothing here can stop); false if its provider could not be asked,
   *     in which case its jobs must wait for the next try
   */
  public boolean fence(WorkerId id, Optional<Origin> origin) {
    Tracked tracked;
    synchronized (this) {
      tracked = live.remove(id);
      if (tracked == null) {
        tracked = starting.remove(id);
      }
    }
    revokeOtp(id);
    Optional<Pool> pool = Optional.empty();
    Optional<WorkerHandle> handle = Optional.empty();
    if (tracked != null) {
      pool = Optional.of(tracked.pool);
      handle = Optional.ofNullable(tracked.handle);
    } else if (origin.isPresent() && !origin.get().handleReference().isEmpty()) {
      pool = pools.stream().filter(p -> p.name().equals(origin.get().pool())).findFirst();
      handle = Optional.of(new WorkerHandle(id, origin.get().pool(), origin.get().handleReference()));
    }
    if (pool.isEmpty() || handle.isEmpty()) {
      if (tracked != null) {
        capacityChanged.run();
      }
      return true;
    }
    try {
      pool.get().provider().fence(handle.get());
      log.info("fenced worker {} of {} before settling its jobs", id, pool.get().name());
      return true;
    } catch (RuntimeException e) {
      log.warn("provider {} could not fence worker {}: {}; its jobs wait for the next try",
          pool.get().name(), id, e.getMessage());
      return false;
    } finally {
      capacityChanged.run();
    }
  }

  /**
   * Takes charge again of a worker created before this server (re)started, so that it counts
   * against its pool and is stopped when idle. No-op for a worker already tracked or whose pool
   * no longer exists.
   */
  public synchronized void adopt(WorkerId id, String poolName, String handleReference) {
    adopt(id, poolName, handleReference, true);
  }

  /**
   * As above; unless {@code evenOverLimit}, a worker that would take its pool past its maximum is
   * not adopted. Returns whether the pool counts it now (false also for a pool this server lacks).
   */
  public synchronized boolean adopt(WorkerId id, String poolName, String handleReference, boolean evenOverLimit) {
    if (live.containsKey(id) || starting.containsKey(id)) {
      return true;
    }
    for (Pool pool : pools) {
      if (pool.name().equals(poolName)) {
        if (!evenOverLimit && count(pool) >= pool.policy().maxWorkers()) {
          log.info("worker {} of {} came back after a restart beyond the pool's limit of {} workers",
              id, poolName, pool.policy().maxWorkers());
          return false;
        }
        Tracked tracked = new Tracked(pool, clock.instant());
        tracked.handle = handleOf(id, pool, handleReference).orElse(null);
        if (tracked.handle == null) {
          log.warn("worker {} of {} came back, but its provider cannot find it: the pool counts it and cannot stop it", id, poolName);
        }
        live.put(id, tracked);
        log.info("adopted worker {} of {} after a restart", id, poolName);
        return true;
      }
    }
    return false;
  }

  /**
   * Asks every pool's provider to remove the workers it runs that nobody here tracks (see {@link
   * WorkerProvider#removeOrphans}). A worker {@code mayReturn} vouches for, one registered before a
   * restart whose session can still resume, is kept. A provider that cannot be asked is logged and
   * skipped; the next pass tries again. Provider calls run outside this object's monitor.
   *
   * @return the workers removed
   */
  public List<WorkerId> removeOrphans(java.util.function.Predicate<WorkerId> mayReturn) {
    List<WorkerId> removed = new ArrayList<>();
    for (Pool pool : pools) {
      try {
        var gone = pool.provider().removeOrphans(id -> tracks(id) || mayReturn.test(id));
        if (!gone.isEmpty()) {
          log.info("provider {}: removed {} orphaned worker(s): {}", pool.name(), gone.size(), gone);
        }
        removed.addAll(gone);
      } catch (RuntimeException e) {
        log.warn("provider {}: could not look for orphaned workers: {}", pool.name(), e.getMessage());
      }
    }
    return removed;
  }

  private synchronized boolean tracks(WorkerId id) {
    return live.containsKey(id) || starting.containsKey(id);
  }

  /** Workers being created or not yet attached: their ids, pools and since when. */
  public synchronized List<Map.Entry<WorkerId, String>> startingWorkers() {
    return starting.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue().pool.name()))
        .toList();
  }

  /**
   * A worker being created or not yet attached, and why it has not started yet in its provider's
   * words (a pod's "Unschedulable: 0/3 nodes are available: 3 Insufficient cpu"), if it says.
   */
  public record Starting(WorkerId id, String pool, Instant since, Optional<String> waitingReason) {}

  /** The workers being started, oldest first, with what their providers say of them. */
  public List<Starting> starting() {
    List<Map.Entry<WorkerId, Tracked>> now;
    synchronized (this) {
      now = new ArrayList<>(starting.entrySet());
    }
    return now.stream()
        .sorted(java.util.Comparator.comparing(e -> e.getValue().since))
        .map(e -> new Starting(e.getKey(), e.getValue().pool.name(), e.getValue().since, waitingReasonOf(e.getValue())))
        .toList();
  }

  /** What the provider says of a worker it is starting; never throws. */
  private static Optional<String> waitingReasonOf(Tracked t) {
    if (t.handle == null) {
      return Optional.empty();
    }
    try {
      return t.pool.provider().waitingReason(t.handle).map(r -> io.hodei.core.auth.LogSafe.text(r, 300));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The worker's stream is attached: it is live and can take jobs. */
  public synchronized void attached(WorkerId id) {
    Tracked tracked = starting.remove(id);
    if (tracked != null) {
      live.put(id, tracked);
    }
  }

  /** The worker left on its own (unregistered or vanished); forget it and free its slot. */
  @Override
  public void gone(WorkerId id) {
    Tracked tracked;
    synchronized (this) {
      tracked = live.remove(id);
      if (tracked == null) {
        tracked = starting.remove(id);
      }
    }
    if (tracked != null && tracked.handle != null) {
      destroyLater(tracked.handle, tracked.pool);
    } else if (tracked != null) {
      revokeOtp(id); // still being created: the creating thread destroys it (and revokes again)
    }
    capacityChanged.run();
  }

  /**
   * One pass of housekeeping: destroys workers that never registered, notices workers whose
   * process vanished, stops workers idle past their pool's timeout. Returns the ids of vanished
   * workers; the caller removes them from the registry and settles their jobs.
   */
  public List<WorkerId> reap() {
    Instant now = clock.instant();
    List<WorkerId> vanished = new ArrayList<>();
    List<Map.Entry<WorkerId, Tracked>> toDestroy = new ArrayList<>();
    List<WorkerId> toRevoke = new ArrayList<>();
    List<Tracked> vanishedHandles = new ArrayList<>();
    synchronized (this) {
      for (var it = starting.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        Tracked t = e.getValue();
        if (t.handle != null && !t.pool.provider().isAlive(t.handle)) {
          String said = t.pool.provider().lastWords(t.handle).map(w -> ": " + io.hodei.core.auth.LogSafe.text(w, 300)).orElse(" (see its log)");
          lastFailure = "worker " + e.getKey() + " exited before it registered" + said;
          log.warn("{} ({})", lastFailure, t.pool.name());
          startFailed(t.pool, lastFailure);
          toRevoke.add(e.getKey());
          it.remove();
          continue;
        }
        if (t.handle != null && now.isAfter(t.since.plus(t.pool.policy().registrationTimeout()))) {
          lastFailure =
              "worker " + e.getKey() + " did not register within " + io.hodei.core.DurationText.format(t.pool.policy().registrationTimeout())
                  + waitingReasonOf(t).map(r -> ": " + r).orElse("");
          log.warn("{} ({}); destroying it", lastFailure, t.pool.name());
          startFailed(t.pool, lastFailure);
          toDestroy.add(e);
          it.remove();
        }
      }
      // Idle workers per pool, counted once and kept up to date below: counting them again for
      // every live worker made a pass cost the square of the fleet (10,000 workers: 10^8 registry
      // look-ups a second, which starved the dispatcher).
      Map<Pool, Integer> idle = new HashMap<>();
      for (Pool pool : pools) {
        idle.put(pool, idleCount(pool));
      }
      for (var it = live.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        Tracked t = e.getValue();
        if (t.handle != null && !t.pool.provider().isAlive(t.handle)) {
          log.warn("worker {} of {} is no longer running", e.getKey(), t.pool.name());
          if (isFree(e.getKey())) {
            idle.merge(t.pool, -1, Integer::sum);
          }
          vanished.add(e.getKey());
          vanishedHandles.add(e.getValue());
          it.remove();
          continue;
        }
        var policy = t.pool.policy();
        if (!policy.maxLifetime().isZero() && now.isAfter(t.since.plus(policy.maxLifetime()))) {
          boolean wasFree = isFree(e.getKey());
          registry.draining(e.getKey()); // retired by the server once its jobs end
          if (wasFree) {
            idle.merge(t.pool, -1, Integer::sum);
          }
        }
        if (idle.getOrDefault(t.pool, 0) > policy.minIdle()
            && registry.removeIfIdleSince(e.getKey(), now.minus(policy.idleTimeout()))) {
          idle.merge(t.pool, -1, Integer::sum);
          log.info(
              "worker {} idle for {}, stopping it", e.getKey(), t.pool.policy().idleTimeout());
          toDestroy.add(e);
          it.remove();
        }
      }
    }
    toRevoke.addAll(vanished);
    toRevoke.forEach(this::revokeOtp);
    // Its process is gone; what it started may not be. Killed before the caller settles its jobs.
    for (Tracked t : vanishedHandles) {
      try {
        t.pool.provider().fence(t.handle);
      } catch (RuntimeException e) {
        log.warn("provider {} could not fence vanished worker {}: {}", t.pool.name(), t.handle.workerId(), e.getMessage());
      }
    }
    toDestroy.forEach(e -> destroyLater(e.getValue().handle, e.getValue().pool));
    keepWarm();
    if (!toDestroy.isEmpty() || !vanished.isEmpty()) {
      capacityChanged.run();
    }
    return vanished;
  }

  /** Starts workers until each pool started here has its minimum of idle (or starting) workers. */
  private synchronized void keepWarm() {
    if (shutdown) {
      return;
    }
    for (Pool pool : pools) {
      if (startedElsewhere.apply(pool.name()).isPresent()) {
        continue;
      }
      int warm = idleCount(pool) + starting(pool);
      ProviderHealth h = healthOf(pool);
      while (h.canProvision() && backingOff(pool).isEmpty() && warm < pool.policy().minIdle()
          && count(pool) < pool.policy().maxWorkers()) {
        startWorker(pool, Optional.empty());
        warm++;
      }
    }
  }

  private boolean isFree(WorkerId id) {
    return registry.find(id).map(WorkerRegistry.WorkerView::isFree).orElse(false);
  }

  /** Live workers of the pool that are free right now. */
  private synchronized int idleCount(Pool pool) {
    return (int)
        live.entrySet().stream()
            .filter(e -> e.getValue().pool == pool)
            .filter(e -> registry.find(e.getKey()).map(WorkerRegistry.WorkerView::isFree).orElse(false))
            .count();
  }

  /** How many jobs a worker of the named pool runs at once; 1 for workers of no known pool. */
  public int slotsFor(String poolName) {
    return pools.stream()
        .filter(p -> p.name().equals(poolName))
        .mapToInt(p -> p.policy().ephemeral() ? 1 : p.policy().jobsPerWorker())
        .findFirst()
        .orElse(1);
  }

  /** Whether the worker belongs to a pool whose workers run one job each. */
  @Override
  public synchronized boolean isEphemeral(WorkerId id) {
    Tracked t = live.get(id);
    return t != null && t.pool.policy().ephemeral();
  }

  /** Re-checks every provider's health now. */
  public Map<String, ProviderHealth> checkHealth() {
    Map<String, ProviderHealth> now = new java.util.LinkedHashMap<>();
    for (Pool pool : pools) {
      health.put(pool.name(), withIsolation(pool.name(), pool.provider().health()));
      now.put(pool.name(), healthOf(pool));
    }
    return now;
  }

  /**
   * What the newest worker of {@code pool} said, when it registered, about how it isolates its
   * jobs (empty: fully). A pool whose workers cannot isolate their jobs is at best Degraded, with
   * their reasons: it still runs jobs, but does not pretend they are apart.
   */
  public void isolationReported(String pool, List<String> gaps) {
    List<String> before = isolation.put(pool, List.copyOf(gaps));
    if (!List.copyOf(gaps).equals(before)) {
      for (Pool p : pools) {
        if (p.name().equals(pool)) {
          health.put(pool, withIsolation(pool, p.provider().health()));
        }
      }
    }
  }

  private ProviderHealth withIsolation(String pool, ProviderHealth health) {
    List<String> gaps = isolation.getOrDefault(pool, List.of());
    if (gaps.isEmpty() || !(health instanceof ProviderHealth.Healthy)) {
      return health;
    }
    return new ProviderHealth.Degraded("jobs are not fully isolated: " + String.join("; ", gaps));
  }

  /** The pool's last known health; Unknown (not provisioned from) until first checked. */
  /** Whether this control plane's provider for pool {@code poolName} can start workers now. */
  public boolean canStart(String poolName) {
    return pools.stream().filter(p -> p.name().equals(poolName)).findFirst().map(p -> healthOf(p).canProvision()).orElse(false);
  }

    private ProviderHealth healthOf(Pool pool) {
    return withStartFailures(pool.name(), health.getOrDefault(pool.name(), new ProviderHealth.Unknown()));
  }

  /** A pool whose workers keep failing at start is at best Degraded, with the last one's own words. */
  private synchronized ProviderHealth withStartFailures(String pool, ProviderHealth h) {
    StartFailures f = startFailures.get(pool);
    if (f == null || f.inARow < 2 || h instanceof ProviderHealth.Unhealthy || h instanceof ProviderHealth.Unknown) {
      return h;
    }
    String why = "its last " + f.inARow + " workers failed at start: " + f.error;
    return new ProviderHealth.Degraded(h instanceof ProviderHealth.Degraded d ? d.reason() + "; " + why : why);
  }

  /** Workers alive or being started, per pool. */
  public synchronized int count(Pool pool) {
    return (int)
        (starting.values().stream().filter(t -> t.pool == pool).count()
            + live.values().stream().filter(t -> t.pool == pool).count());
  }

  public synchronized int starting(Pool pool) {
    return (int) starting.values().stream().filter(t -> t.pool == pool).count();
  }

  /** Whether this server has a pool of that name. */
  public boolean hasPool(String poolName) {
    return pools.stream().anyMatch(p -> p.name().equals(poolName));
  }

  /** Stops a worker of an earlier life that its pool will not take back (beyond its limit). */
  public void stopAdopted(WorkerId id, String poolName, String handleReference) {
    for (Pool pool : pools) {
      if (pool.name().equals(poolName)) {
        handleOf(id, pool, handleReference).ifPresent(handle -> destroyLater(handle, pool));
      }
    }
  }

  /**
   * The handle recorded for a worker of an earlier life, or, when none was (it registered after a
   * crash, before its handle was stored), the one its provider finds from its id.
   */
  private static Optional<WorkerHandle> handleOf(WorkerId id, Pool pool, String handleReference) {
    if (!handleReference.isEmpty()) {
      return Optional.of(new WorkerHandle(id, pool.name(), handleReference));
    }
    try {
      return pool.provider().find(id);
    } catch (RuntimeException e) {
      log.warn("provider {} could not look for worker {}: {}", pool.name(), id, e.getMessage());
      return Optional.empty();
    }
  }

  /** Whether this server started {@code id} (and would stop it in {@link #shutdown}). */
  public synchronized boolean manages(WorkerId id) {
    return live.containsKey(id) || starting.containsKey(id);
  }

  /** Refuses to create more workers, and leaves every one alive: for a stop that keeps them running. */
  public synchronized void stopProvisioning() {
    shutdown = true;
  }

  /** Destroys every worker and refuses to create more. Blocks until the providers are done. */
  public void shutdown() {
    List<Tracked> all;
    synchronized (this) {
      shutdown = true;
      all = new ArrayList<>(live.values());
      all.addAll(starting.values());
      live.clear();
      starting.clear();
    }
    all.stream()
        .filter(t -> t.handle != null)
        .map(t -> Thread.ofVirtual().start(() -> destroy(t.handle, t.pool)))
        .toList()
        .forEach(
            thread -> {
              try {
                thread.join(Duration.ofSeconds(15));
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            });
  }

  /** After other replicas were found to fill a pool, how long before this one asks again. */
  private static final Duration FULL_ELSEWHERE_PAUSE = Duration.ofSeconds(2);

  /** Pools that other replicas fill, until when this one does not try to start their workers; guarded by this. */
  private final Map<String, Instant> fullElsewhereUntil = new HashMap<>();

  private synchronized boolean fullElsewhere(Pool pool) {
    var until = fullElsewhereUntil.get(pool.name());
    return until != null && clock.instant().isBefore(until);
  }

  /**
   * Starts a worker of {@code pool}.
   *
   * @param demand what the job it is started for asks (the provider may size the worker by it);
   *     empty for one started ahead of demand
   */
  private WorkerId startWorker(Pool pool, Optional<io.hodei.core.provider.WorkerDemand> demand) {
    WorkerId id = WorkerId.random();
    Tracked tracked = new Tracked(pool, clock.instant());
    starting.put(id, tracked);
    Thread.ofVirtual()
        .name("provision-" + id)
        .start(
            () -> {
              MDC.put("workerId", id.value());
              try {
                int own;
                synchronized (this) {
                  own = count(pool) - 1; // this worker is counted as starting already
                }
                var issued = otps.issueWithinPoolLimit(id, pool.name(), own, pool.policy().maxWorkers());
                if (issued.isEmpty()) {
                  // Other replicas run or start the rest of the pool's workers.
                  log.info("pool {} is at its limit of {} workers across replicas; worker {} is not started",
                      pool.name(), pool.policy().maxWorkers(), id);
                  synchronized (this) {
                    starting.remove(id);
                    fullElsewhereUntil.put(pool.name(), clock.instant().plus(FULL_ELSEWHERE_PAUSE));
                  }
                  return;
                }
                var otp = issued.get();
                var bootstrap =
                    new io.hodei.core.provider.WorkerBootstrap(otp.token(), credentials.issueFor(id));
                WorkerHandle handle =
                    pool.provider()
                        .create(new WorkerLaunch(id, serverAddress.get(), bootstrap, MANAGED_WORKER_ENV, demand));
                boolean keep;
                synchronized (this) {
                  tracked.handle = handle;
                  keep = !shutdown && (starting.get(id) == tracked || live.get(id) == tracked);
                }
                if (!keep) {
                  destroy(handle, pool);
                }
              } catch (RuntimeException e) {
                log.warn("provider {} could not create worker {}: {}", pool.name(), id, e.getMessage());
                revokeOtp(id);
                synchronized (this) {
                  starting.remove(id);
                  lastFailure = "provider " + pool.name() + " failed to create a worker: " + e.getMessage();
                  startFailed(pool, lastFailure);
                }
                health.put(pool.name(), withIsolation(pool.name(), pool.provider().health()));
                capacityChanged.run();
              } finally {
                MDC.remove("workerId");
              }
            });
    return id;
  }

  private void destroyLater(WorkerHandle handle, Pool pool) {
    Thread.ofVirtual().name("destroy-" + handle.workerId()).start(() -> destroy(handle, pool));
  }

  /** Revokes the worker's OTP, then asks its provider to destroy it. */
  private void destroy(WorkerHandle handle, Pool pool) {
    revokeOtp(handle.workerId());
    try {
      pool.provider().destroy(handle);
    } catch (RuntimeException e) {
      log.warn("provider {} could not destroy worker {}: {}", pool.name(), handle.workerId(), e.getMessage());
    }
  }

  /**
   * Makes the worker's registration OTP unusable. A store that cannot be reached is logged: the
   * OTP then expires on its own within its lifetime.
   */
  private void revokeOtp(WorkerId id) {
    try {
      otps.revoke(id);
    } catch (RuntimeException e) {
      log.warn("could not revoke the registration token of worker {}: {}", id, e.getMessage());
    }
  }

  public static String describe(ProviderHealth h) {
    return switch (h) {
      case ProviderHealth.Healthy x -> "healthy";
      case ProviderHealth.Degraded d -> "degraded: " + d.reason();
      case ProviderHealth.Unhealthy u -> "unhealthy: " + u.reason();
      case ProviderHealth.Unknown x -> "health unknown";
    };
  }
}
