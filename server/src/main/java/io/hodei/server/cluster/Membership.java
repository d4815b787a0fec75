package io.hodei.server.cluster;

import io.hodei.core.replica.Replica;
import io.hodei.core.replica.ReplicaStore;
import io.hodei.server.ReplicaSettings;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This control plane as one replica among those sharing a database: it holds its replica row and
 * competes for the {@value #LEADER} lease and for the leases it was asked to {@link #compete} for
 * (one per worker pool, {@link #poolLease}), renewing them all every third of the lease. A lease
 * whose holder ran on this host and whose process is gone (killed) is taken over at once, as a
 * replica id is: only a holder on another host is waited out.
 *
 * <p>Invariants: while {@link #leader()} is true, this replica renewed the leader lease less than
 * a lease ago, so no other replica holds it (their clocks agree to within a fraction of the
 * lease); the singleton loops (sweeps, retention, orphan removal) check it before each round. A
 * renewal that finds its row taken by another incarnation means this process was paused for
 * longer than the lease and someone took its id over: it is fenced, gives leadership up and logs
 * it, and takes its id back only once that holder is gone.
 *
 * <p>A store that fails to answer does not end leadership at once: it ends when the lease would
 * have run out since the last successful renewal, as it does for the other replicas.
 */
public final class Membership implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Membership.class);
  public static final String LEADER = "leader";

  private final ReplicaStore store;
  private final ReplicaSettings settings;
  private final Clock clock;
  private final String incarnation = UUID.randomUUID().toString();
  private final String host = localHost();
  private final Instant startedAt;
  private volatile String address = "";
  /** Each lease competed for, and until when this replica holds it (EPOCH: it does not). */
  private final java.util.Map<String, Instant> heldUntil = new java.util.concurrent.ConcurrentHashMap<>();
  /** For each lease competed for, whether this replica may hold it now (the leader's: always). */
  private final java.util.Map<String, java.util.function.BooleanSupplier> eligible = new java.util.concurrent.ConcurrentHashMap<>();
  /** Each lease's holder when this replica last tried it, if another replica holds it. */
  private final java.util.Map<String, String> heldBy = new java.util.concurrent.ConcurrentHashMap<>();
  private volatile boolean fenced;
  private volatile boolean running;
  private Thread renewer;

  public Membership(ReplicaStore store, ReplicaSettings settings, Clock clock) {
    this.store = store;
    this.settings = settings;
    this.clock = clock;
    this.startedAt = clock.instant();
    heldUntil.put(LEADER, Instant.EPOCH);
  }

  /** The lease of worker pool {@code pool}: who holds it starts the pool's workers. */
  public static String poolLease(String pool) {
    return "pool:" + pool;
  }

  /**
   * Competes for {@code lease} too, from the next renewal (or from {@link #join}, if called before
   * it), while {@code eligible} says so: a replica that is not gives the lease up at its next
   * renewal, so that one that is can take it (a pool whose provider is unhealthy here).
   */
  public void compete(String lease, java.util.function.BooleanSupplier eligible) {
    this.eligible.put(lease, eligible);
    heldUntil.putIfAbsent(lease, Instant.EPOCH);
  }

  /** Whether this replica holds {@code lease} now (renewed less than a lease ago). */
  public boolean holds(String lease) {
    return clock.instant().isBefore(heldUntil.getOrDefault(lease, Instant.EPOCH));
  }

  /** The replica that held {@code lease} when this one last tried to take it, if not this one. */
  public Optional<String> heldElsewhere(String lease) {
    return holds(lease) ? Optional.empty() : Optional.ofNullable(heldBy.get(lease));
  }

  /**
   * Takes this replica's row, then starts renewing it and competing for leadership.
   *
   * @throws ReplicaIdInUseException when a live process holds the id
   */
  public synchronized void join(String advertisedAddress) {
    this.address = advertisedAddress;
    Instant now = clock.instant();
    var holder = store.join(self(now.plus(settings.lease())), now, this::isStale);
    if (holder.isPresent()) {
      Replica h = holder.get();
      throw new ReplicaIdInUseException(
          "replica id " + settings.id() + " is in use by a live replica at " + h.address() + " (host " + h.host()
              + ", pid " + h.pid() + ", its lease runs " + Duration.between(now, h.expiresAt()).toSeconds()
              + " s more): give each replica its own --replica-id");
    }
    log.info("replica {} joined (lease {})", settings.id(), io.hodei.core.DurationText.format(settings.lease()));
    running = true;
    holdLeases(now);
    renewer = Thread.ofPlatform().name("renew-replica-lease").daemon().start(this::renewLoop);
  }

  public String id() {
    return settings.id();
  }

  /** Whether this replica runs the singleton loops now. */
  public boolean leader() {
    return holds(LEADER);
  }

  /** The replicas alive now, this one included. */
  public List<Replica> live() {
    return store.live(clock.instant());
  }

  private volatile List<Replica> lastLive = List.of();
  private volatile Instant liveReadAt = Instant.EPOCH;

  /**
   * The ids of the live replicas, read from the store at most once a second; on a store that
   * cannot answer, the last ones read.
   */
  public java.util.Set<String> liveIds() {
    Instant now = clock.instant();
    if (!now.isBefore(liveReadAt.plusSeconds(1))) {
      try {
        lastLive = live();
      } catch (RuntimeException e) {
        log.debug("replica {}: cannot list the live replicas: {}", settings.id(), e.getMessage());
      }
      liveReadAt = now;
    }
    return lastLive.stream().map(Replica::id).collect(java.util.stream.Collectors.toUnmodifiableSet());
  }

  /** Whether another replica is alive (as of {@link #liveIds()}): what only one replica may do must then be led. */
  public boolean shared() {
    var ids = liveIds();
    return ids.size() > 1 || (ids.size() == 1 && !ids.contains(settings.id()));
  }

  /** The leader now, if any replica holds the lease. */
  public Optional<String> leaderId() {
    return store.leaseHolder(LEADER, clock.instant());
  }

  private Replica self(Instant until) {
    return new Replica(settings.id(), incarnation, address, host, ProcessHandle.current().pid(), startedAt, until);
  }

  /** A holder on this host whose process is gone (killed): restarted here, we need not wait out its lease. */
  private boolean isStale(Replica holder) {
    return !holder.incarnation().equals(incarnation)
        && holder.host().equals(host)
        && holder.pid() != ProcessHandle.current().pid()
        && ProcessHandle.of(holder.pid()).map(p -> !p.isAlive()).orElse(true);
  }

  private void renewLoop() {
    Duration every = settings.lease().dividedBy(3);
    while (running) {
      try {
        Thread.sleep(every);
      } catch (InterruptedException e) {
        return;
      }
      Instant now = clock.instant();
      try {
        if (fenced) {
          if (store.join(self(now.plus(settings.lease())), now, this::isStale).isEmpty()) {
            fenced = false;
            log.warn("replica {}: took its id back", settings.id());
          }
        } else if (!store.renew(settings.id(), incarnation, now, now.plus(settings.lease()))) {
          fenced = true;
          heldUntil.replaceAll((lease, until) -> Instant.EPOCH);
          log.error(
              "replica {}: another process took this replica's id over (this one was paused past its lease);"
                  + " it is no longer the leader", settings.id());
          continue;
        }
        if (!fenced) {
          holdLeases(now);
        }
      } catch (RuntimeException e) {
        log.warn("replica {}: could not renew its lease: {}", settings.id(), e.getMessage());
      }
    }
  }

  private void holdLeases(Instant now) {
    for (String lease : List.copyOf(heldUntil.keySet())) {
      hold(lease, now);
    }
  }

  private void hold(String lease, Instant now) {
    boolean had = holds(lease);
    if (!eligible.getOrDefault(lease, () -> true).getAsBoolean()) {
      if (had) {
        store.releaseLease(lease, settings.id());
        log.info("replica {} gives lease {} up: it cannot do what the lease is for now", settings.id(), lease);
      }
      heldUntil.put(lease, Instant.EPOCH);
      store.leaseHolder(lease, now).filter(h -> !h.equals(settings.id()))
          .ifPresentOrElse(h -> heldBy.put(lease, h), () -> heldBy.remove(lease));
      return;
    }
    Instant until = now.plus(settings.lease());
    boolean held = store.holdLease(lease, settings.id(), now, until);
    if (!held) {
      var holder = store.leaseHolder(lease, now);
      var stale = holder.flatMap(h -> store.live(now).stream().filter(r -> r.id().equals(h)).findFirst()).filter(this::isStale);
      if (stale.isPresent()) {
        store.releaseLease(lease, stale.get().id());
        held = store.holdLease(lease, settings.id(), now, until);
        if (held) {
          log.info("replica {} took lease {} over from replica {}, whose process (pid {}) is gone",
              settings.id(), lease, stale.get().id(), stale.get().pid());
        }
      }
      if (!held) {
        holder = store.leaseHolder(lease, now);
      }
      holder.filter(h -> !h.equals(settings.id())).ifPresentOrElse(h -> heldBy.put(lease, h), () -> heldBy.remove(lease));
    } else {
      heldBy.remove(lease);
    }
    heldUntil.put(lease, held ? until : Instant.EPOCH);
    if (held != had) {
      if (lease.equals(LEADER)) {
        log.info(held ? "replica {} is the leader now" : "replica {} is no longer the leader", settings.id());
      } else {
        log.info(held ? "replica {} holds lease {} now" : "replica {} no longer holds lease {}", settings.id(), lease);
      }
    }
  }

  /** Gives leadership and the id up at once, so that another replica takes over without waiting out the lease. */
  @Override
  public synchronized void close() {
    if (!running) {
      return;
    }
    running = false;
    if (renewer != null) {
      renewer.interrupt();
      try {
        renewer.join(Duration.ofSeconds(2));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    var held = heldUntil.keySet().stream().filter(this::holds).toList();
    heldUntil.replaceAll((lease, until) -> Instant.EPOCH);
    try {
      if (!fenced) { // when fenced, the id and its leases are another process's now
        held.forEach(lease -> store.releaseLease(lease, settings.id()));
        store.leave(settings.id(), incarnation, clock.instant());
      }
    } catch (RuntimeException e) {
      log.warn("replica {}: could not give its lease up ({}); the others take over when it expires", settings.id(), e.getMessage());
    }
  }

  private static String localHost() {
    try {
      return java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      return "unknown";
    }
  }
}
