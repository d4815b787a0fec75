package io.hodei.core.worker;

import io.hodei.core.error.AuthenticationException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * Issues and redeems the single-use tokens with which provisioned workers register (seed UC4).
 * A token is a random UUID v4, valid for {@link #DEFAULT_TTL}, bound to the worker id it was issued
 * for, and stored only as a hash.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>Only a successful redemption, by the worker the token was issued for, uses it up. A
 *       presentation with the wrong worker id, or of a wrong token, changes nothing, so nobody who
 *       lacks the token can lock its worker out by burning it.
 *   <li>A token works at most once: of concurrent redemptions at most one succeeds.
 *   <li>Once its worker is destroyed, a token is {@link #revoke revoked} and works no more.
 * </ul>
 */
public final class OtpService {
  public static final Duration DEFAULT_TTL = Duration.ofMinutes(5);
  private static final Pattern UUID_V4 =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");

  private final OtpStore store;
  private final Clock clock;
  private final Duration ttl;
  private final String replicaId;

  public OtpService(OtpStore store, Clock clock, Duration ttl) {
    this(store, clock, ttl, "");
  }

  /** @param replicaId the control-plane replica that issues the tokens, for counting pools across replicas */
  public OtpService(OtpStore store, Clock clock, Duration ttl, String replicaId) {
    this.store = store;
    this.clock = clock;
    this.ttl = ttl;
    this.replicaId = replicaId;
  }

  /** An OTP and when it stops working. */
  public record IssuedOtp(String token, Instant expiresAt) {}

  public IssuedOtp issue(WorkerId worker) {
    return issue(worker, "");
  }

  /** An OTP for a worker that {@code pool} starts. */
  public IssuedOtp issue(WorkerId worker, String pool) {
    String token = UUID.randomUUID().toString();
    Instant expiresAt = clock.instant().plus(ttl);
    store.save(new OtpToken(Secrets.sha256Hex(token), worker, expiresAt, java.util.Optional.empty(), pool));
    return new IssuedOtp(token, expiresAt);
  }

  /**
   * An OTP for a worker that {@code pool} starts, unless the pool would pass {@code limit} workers
   * across the replicas of the store: {@code ownCount} is what this replica runs or starts of it,
   * that worker not included (see {@link OtpStore#saveWithinPoolLimit}).
   */
  public java.util.Optional<IssuedOtp> issueWithinPoolLimit(WorkerId worker, String pool, int ownCount, int limit) {
    String token = UUID.randomUUID().toString();
    Instant now = clock.instant();
    Instant expiresAt = now.plus(ttl);
    var otp = new OtpToken(Secrets.sha256Hex(token), worker, expiresAt, java.util.Optional.empty(), pool);
    return store.saveWithinPoolLimit(otp, replicaId, ownCount, limit, now)
        ? java.util.Optional.of(new IssuedOtp(token, expiresAt))
        : java.util.Optional.empty();
  }

  /**
   * Checks {@code token} for {@code claimedWorker} and, only if every check passes, consumes it.
   *
   * @throws AuthenticationException if the token is malformed, unknown, already used, expired or
   *     issued for another worker
   * @return the pool that started the worker (empty for one started by hand)
   */
  public String redeem(String token, WorkerId claimedWorker) {
    if (token == null || !UUID_V4.matcher(token).matches()) {
      throw new AuthenticationException("registration token is not a valid OTP");
    }
    Instant now = clock.instant();
    String hash = Secrets.sha256Hex(token);
    OtpToken stored =
        store
            .find(hash)
            // The store finds by hash; comparing again in constant time keeps a store that matches
            // loosely (case, collation) from accepting a near miss, without a timing signal.
            .filter(
                t ->
                    java.security.MessageDigest.isEqual(
                        t.tokenHash().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                        hash.getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
            .orElseThrow(() -> new AuthenticationException("registration token is unknown or revoked"));
    if (stored.consumedAt().isPresent()) {
      throw new AuthenticationException("registration token was already used");
    }
    if (!now.isBefore(stored.expiresAt())) {
      throw new AuthenticationException("registration token expired at " + stored.expiresAt());
    }
    if (!stored.workerId().equals(claimedWorker)) {
      throw new AuthenticationException(
          "registration token was issued for another worker, not " + claimedWorker);
    }
    // Checked again, atomically, by the store: a concurrent redemption or revocation wins.
    if (!store.consume(hash, claimedWorker, now)) {
      throw new AuthenticationException("registration token was already used or revoked");
    }
    return stored.pool();
  }

  /** Makes every token issued for {@code worker} unusable: its worker has been destroyed. */
  public void revoke(WorkerId worker) {
    store.revoke(worker);
  }

  /** Whether a token issued for {@code worker} could still register it now. */
  public boolean hasOutstanding(WorkerId worker) {
    return store.hasOutstanding(worker, clock.instant());
  }
}
