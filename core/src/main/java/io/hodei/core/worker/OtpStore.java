package io.hodei.core.worker;

import java.time.Instant;
import java.util.Optional;

/**
 * Storage of one-time registration tokens, by hash.
 *
 * <p>A token is used up only by {@link #consume}, which checks in the same atomic step everything
 * that makes a registration valid (hash, worker, unconsumed, unexpired): a presentation that fails
 * any of them leaves the token as it was.
 */
public interface OtpStore {

  void save(OtpToken token);

  /**
   * Saves {@code token}, for a worker of {@code token.pool()} that replica {@code replicaId} starts,
   * only if the pool then stays within {@code limit} workers across replicas: {@code ownCount}
   * (what this replica runs or starts of the pool, the new worker not included) plus what the other
   * live replicas run (active workers of the pool attached to them) and start (their outstanding
   * tokens for it). The count and the save are one transaction, taken in turn per pool, so that
   * replicas starting workers at the same moment never pass the limit together.
   *
   * @return whether the token was saved
   */
  boolean saveWithinPoolLimit(OtpToken token, String replicaId, int ownCount, int limit, Instant now);

  /** The token with this hash as stored now, consumed or not, expired or not. */
  Optional<OtpToken> find(String tokenHash);

  /**
   * Atomically marks the token consumed at {@code now} if, and only if, it exists, was issued for
   * {@code worker}, is not consumed yet and has not expired at {@code now}. Of any number of
   * concurrent callers, at most one is told {@code true}.
   *
   * @return whether this call consumed it
   */
  boolean consume(String tokenHash, WorkerId worker, Instant now);

  /**
   * Removes every token issued for {@code worker}, used or not: its worker is gone, so nothing may
   * register under that id with them any more.
   *
   * @return how many tokens were removed
   */
  int revoke(WorkerId worker);

  /** Whether {@code worker} has a token that is neither consumed nor expired at {@code now}. */
  boolean hasOutstanding(WorkerId worker, Instant now);
}
