package io.hodei.core.auth;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Persistence of API tokens, by hash. Implementations are thread-safe; a token's name is unique.
 */
public interface TokenStore {
  /**
   * Saves a new token.
   *
   * @throws io.hodei.core.error.ConflictException if a token of that name exists, revoked or not
   */
  void save(ApiToken token);

  /** The token whose hash is {@code tokenHash}, valid or not. */
  Optional<ApiToken> findByHash(String tokenHash);

  /** Every token, oldest first. */
  List<ApiToken> list();

  /**
   * Marks the token named {@code name} revoked at {@code at}; a revoked token stays revoked.
   *
   * @return false if there is no token of that name
   */
  boolean revoke(String name, Instant at);
}
