package io.hodei.server.provisioning;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
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
 * Provider calls (which may block for seconds) run on virtual threads outside the monitor.
 */
public final class Provisioner {
  private static final Logger log = LoggerFactory.getLogger(Provisioner.class);

  /** A provider and the policy of its pool. */
  public record Pool(WorkerProvider provider, PoolPolicy policy) {
    public String name() {
      return provider.name();
    }
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

  private final List<Pool> pools;
  private final OtpService otps;
  private final WorkerRegistry registry;
  private final Supplier<String> serverAddress;
  private final Clock clock;
  private final Runnable capacityChanged;
  private final Map<WorkerId, Tracked> starting = new HashMap<>();
  private final Map<WorkerId, Tracked> live = new HashMap<>();
  private final Map<String, ProviderHealth> health = new HashMap<>();
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
    this.pools = List.copyOf(pools);
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
   * Makes sure workers exist or are coming for {@code unplacedJobs} jobs that found no free worker,
   * within each pool's limit. Returns, in words, what those jobs now wait for.
   */
  public synchronized String ensureCapacity(int unplacedJobs) {
    if (unplacedJobs <= 0 || shutdown) {
      return "";
    }
    int needed = unplacedJobs - starting.size();
    List<String> refusals = new ArrayList<>();
    for (Pool pool : pools) {
      ProviderHealth h = health.computeIfAbsent(pool.name(), n -> pool.provider().health());
      if (!h.canProvision()) {
        refusals.add("provider " + pool.name() + ": " + describe(h));
        continue;
      }
      while (needed > 0 && count(pool) < pool.policy().maxWorkers()) {
        startWorker(pool);
        needed--;
      }
      if (needed > 0) {
        refusals.add(
            "provider "
                + pool.name()
                + ": at its limit of "
                + pool.policy().maxWorkers()
                + " workers, all busy");
      }
    }
    if (!starting.isEmpty()) {
      return "waiting for "
          + starting.size()
          + " worker(s) being started ("
          + String.join(", ", starting.keySet().stream().map(WorkerId::value).sorted().toList())
          + ")";
    }
    String why = refusals.isEmpty() ? "no provider is configured" : String.join("; ", refusals);
    return "waiting for a free worker: " + why + (lastFailure.isEmpty() ? "" : "; last failure: " + lastFailure);
  }

  /** The pool that created a worker, and the provider's reference to it if already known. */
  public record Origin(String pool, String handleReference) {}

  /**
   * A worker proved its OTP. Returns where it came from, if this server created it. It still
   * counts as starting until it {@link #attached attaches}: until then no job can use it.
   */
  public synchronized Optional<Origin> registered(WorkerId id) {
    Tracked tracked = starting.containsKey(id) ? starting.get(id) : live.get(id);
    return Optional.ofNullable(tracked)
        .map(t -> new Origin(t.pool.name(), t.handle == null ? "" : t.handle.reference()));
  }

  /**
   * Takes charge again of a worker created before this server (re)started, so that it counts
   * against its pool and is stopped when idle. No-op for a worker already tracked or whose pool
   * no longer exists.
   */
  public synchronized void adopt(WorkerId id, String poolName, String handleReference) {
    if (live.containsKey(id) || starting.containsKey(id)) {
      return;
    }
    for (Pool pool : pools) {
      if (pool.name().equals(poolName)) {
        Tracked tracked = new Tracked(pool, clock.instant());
        if (!handleReference.isEmpty()) {
          tracked.handle = new WorkerHandle(id, poolName, handleReference);
        }
        live.put(id, tracked);
        log.info("adopted worker {} of {} after a restart", id, poolName);
        return;
      }
    }
  }

  /** Workers being created or not yet attached: their ids, pools and since when. */
  public synchronized List<Map.Entry<WorkerId, String>> startingWorkers() {
    return starting.entrySet().stream()
        .map(e -> Map.entry(e.getKey(), e.getValue().pool.name()))
        .toList();
  }

  /** The worker's stream is attached: it is live and can take jobs. */
  public synchronized void attached(WorkerId id) {
    Tracked tracked = starting.remove(id);
    if (tracked != null) {
      live.put(id, tracked);
    }
  }

  /** The worker left on its own (unregistered or vanished); forget it and free its slot. */
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
    synchronized (this) {
      for (var it = starting.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        Tracked t = e.getValue();
        if (t.handle != null && !t.pool.provider().isAlive(t.handle)) {
          lastFailure = "worker " + e.getKey() + " exited before it registered (see its log)";
          log.warn("{} ({})", lastFailure, t.pool.name());
          it.remove();
          continue;
        }
        if (t.handle != null && now.isAfter(t.since.plus(t.pool.policy().registrationTimeout()))) {
          lastFailure =
              "worker " + e.getKey() + " did not register within " + t.pool.policy().registrationTimeout();
          log.warn("{} ({}); destroying it", lastFailure, t.pool.name());
          toDestroy.add(e);
          it.remove();
        }
      }
      for (var it = live.entrySet().iterator(); it.hasNext(); ) {
        var e = it.next();
        Tracked t = e.getValue();
        if (t.handle != null && !t.pool.provider().isAlive(t.handle)) {
          log.warn("worker {} of {} is no longer running", e.getKey(), t.pool.name());
          vanished.add(e.getKey());
          it.remove();
          continue;
        }
        var policy = t.pool.policy();
        if (!policy.maxLifetime().isZero() && now.isAfter(t.since.plus(policy.maxLifetime()))) {
          registry.draining(e.getKey()); // retired by the server once its jobs end
        }
        if (idleCount(t.pool) > policy.minIdle()
            && registry.removeIfIdleSince(e.getKey(), now.minus(policy.idleTimeout()))) {
          log.info(
              "worker {} idle for {}, stopping it", e.getKey(), t.pool.policy().idleTimeout());
          toDestroy.add(e);
          it.remove();
        }
      }
    }
    toDestroy.forEach(e -> destroyLater(e.getValue().handle, e.getValue().pool));
    keepWarm();
    if (!toDestroy.isEmpty() || !vanished.isEmpty()) {
      capacityChanged.run();
    }
    return vanished;
  }

  /** Starts workers until each pool has its minimum of idle (or starting) workers. */
  private synchronized void keepWarm() {
    if (shutdown) {
      return;
    }
    for (Pool pool : pools) {
      int warm = idleCount(pool) + starting(pool);
      ProviderHealth h = health.computeIfAbsent(pool.name(), n -> pool.provider().health());
      while (h.canProvision() && warm < pool.policy().minIdle() && count(pool) < pool.policy().maxWorkers()) {
        startWorker(pool);
        warm++;
      }
    }
  }

  /** Live workers of the pool that are free right now. */
  private synchronized int idleCount(Pool pool) {
    return (int)
        live.entrySet().stream()
            .filter(e -> e.getValue().pool == pool)
            .filter(e -> registry.find(e.getKey()).map(WorkerRegistry.WorkerView::isFree).orElse(false))
            .count();
  }

  /** Whether the worker belongs to a pool whose workers run one job each. */
  public synchronized boolean isEphemeral(WorkerId id) {
    Tracked t = live.get(id);
    return t != null && t.pool.policy().ephemeral();
  }

  /** Re-checks every provider's health now. */
  public synchronized Map<String, ProviderHealth> checkHealth() {
    for (Pool pool : pools) {
      health.put(pool.name(), pool.provider().health());
    }
    return Map.copyOf(health);
  }

  public synchronized Optional<ProviderHealth> cachedHealth(String pool) {
    return Optional.ofNullable(health.get(pool));
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

  private void startWorker(Pool pool) {
    WorkerId id = WorkerId.random();
    Tracked tracked = new Tracked(pool, clock.instant());
    starting.put(id, tracked);
    Thread.ofVirtual()
        .name("provision-" + id)
        .start(
            () -> {
              MDC.put("workerId", id.value());
              try {
                var otp = otps.issue(id);
                WorkerHandle handle =
                    pool.provider()
                        .create(new WorkerLaunch(id, otp.token(), serverAddress.get(), Map.of()));
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
                synchronized (this) {
                  starting.remove(id);
                  lastFailure = "provider " + pool.name() + " failed to create a worker: " + e.getMessage();
                  health.put(pool.name(), pool.provider().health());
                }
                capacityChanged.run();
              } finally {
                MDC.remove("workerId");
              }
            });
  }

  private void destroyLater(WorkerHandle handle, Pool pool) {
    Thread.ofVirtual().name("destroy-" + handle.workerId()).start(() -> destroy(handle, pool));
  }

  private static void destroy(WorkerHandle handle, Pool pool) {
    try {
      pool.provider().destroy(handle);
    } catch (RuntimeException e) {
      log.warn("provider {} could not destroy worker {}: {}", pool.name(), handle.workerId(), e.getMessage());
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
