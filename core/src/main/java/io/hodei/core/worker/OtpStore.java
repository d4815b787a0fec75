package io.hodei.core.worker;

import java.time.Instant;
import java.util.Optional;

/** Storage of one-time registration tokens, by hash. */
public interface OtpStore {

  void save(OtpToken token);

  /**
   * Atomically marks the token consumed at {@code now} unless it already was, and returns it as it
   * was <em>before</em> this call: a present {@code consumedAt} means someone consumed it earlier.
   * Of two concurrent callers, at most one sees an unconsumed token. Empty when no such token.
   */
  Optional<OtpToken> consume(String tokenHash, Instant now);
}
