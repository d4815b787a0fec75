package io.hodei.core.auth;

import java.time.Instant;
import java.util.Optional;

/**
 * A stored API token: never the token, only its SHA-256 (hex).
 *
 * @param name unique; also the name of the principal the token authenticates
 */
public record ApiToken(
    String name,
    String tokenHash,
    Role role,
    Instant createdAt,
    Optional<Instant> expiresAt,
    Optional<Instant> revokedAt) {

  /** Whether the token authenticates at {@code now}: not revoked and not expired. */
  public boolean validAt(Instant now) {
    return revokedAt.isEmpty() && expiresAt.map(now::isBefore).orElse(true);
  }
}
