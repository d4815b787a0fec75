package io.hodei.core.replica;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The storage port of control-plane replicas: who is alive (a row per replica, held by renewing
 * it) and who holds a named lease (the leader of the singleton loops).
 *
 * <p>Every verb is one conditional statement, so that of concurrent callers on any number of
 * processes exactly one wins a row; the loser learns it from the result and changes nothing.
 * Expiry is decided by the caller's {@code now}: replicas must keep their clocks within a small
 * fraction of the lease's length of each other (NTP does).
 */
public interface ReplicaStore {
  /**
   * Takes the row of {@code replica.id()} for {@code replica.incarnation()} until {@code
   * replica.expiresAt()}: when no row holds that id, when its lease has expired, or when {@code
   * stale} says its holder is gone (a process of the same host that no longer runs).
   *
   * @return empty when taken; otherwise the live replica that holds the id
   */
  Optional<Replica> join(Replica replica, Instant now, java.util.function.Predicate<Replica> stale);

  /**
   * Extends the row of {@code id} to {@code until}, if {@code incarnation} still holds it.
   *
   * @return false when another incarnation took it over (this one is fenced and must stop acting
   *     as that replica)
   */
  boolean renew(String id, String incarnation, Instant now, Instant until);

  /** Ends the row of {@code id} now, if {@code incarnation} holds it: a clean stop. */
  void leave(String id, String incarnation, Instant now);

  /** The replicas whose lease runs past {@code now}, by id. */
  List<Replica> live(Instant now);

  /**
   * Takes or extends the lease {@code name} for {@code holder} until {@code until}: when nobody
   * holds it, when its holder is {@code holder}, or when its lease has expired.
   *
   * @return whether {@code holder} holds it now
   */
  boolean holdLease(String name, String holder, Instant now, Instant until);

  /** Gives the lease {@code name} up at once, if {@code holder} holds it. */
  void releaseLease(String name, String holder);

  /** The holder of the lease {@code name} at {@code now}, if any. */
  Optional<String> leaseHolder(String name, Instant now);

  /** Leaves {@code command} for its replica. */
  void send(WorkerCommand command);

  /** Takes (removes and returns) the commands left for {@code replicaId}, oldest first. */
  List<WorkerCommand> take(String replicaId);

  /**
   * Tells replica {@code replicaId} at once that something for it is waiting (a command, a cancel
   * request), where the database can (PostgreSQL's {@code NOTIFY}); elsewhere nothing happens, and
   * the replica finds it at its next poll.
   */
  void nudge(String replicaId);

  /**
   * Waits up to {@code max} for a {@link #nudge} of {@code replicaId}. Returns early, true, when
   * nudged; false when the time passed (or the database cannot nudge: then it just waits).
   */
  boolean awaitNudge(String replicaId, java.time.Duration max) throws InterruptedException;
}
