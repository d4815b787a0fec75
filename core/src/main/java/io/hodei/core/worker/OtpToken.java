package io.hodei.core.worker;

import java.time.Instant;
import java.util.Optional;

/**
 * A one-time registration token as stored: only its hash, never the token; and the pool that
 * started its worker (empty for one started by hand), so that a worker that registers with a
 * later life of the control plane is still counted as that pool's.
 */
public record OtpToken(
    String tokenHash, WorkerId workerId, Instant expiresAt, Optional<Instant> consumedAt, String pool) {
  /** A token issued by no pool (a worker started by hand). */
  public OtpToken(String tokenHash, WorkerId workerId, Instant expiresAt, Optional<Instant> consumedAt) {
    this(tokenHash, workerId, expiresAt, consumedAt, "");
  }
}
