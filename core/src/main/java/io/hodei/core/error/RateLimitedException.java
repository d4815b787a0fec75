package io.hodei.core.error;

import java.time.Duration;

/** Too many attempts from one source: the caller may try again after {@link #retryAfter()}. */
public final class RateLimitedException extends HodeiException {
  private final Duration retryAfter;

  public RateLimitedException(String message, Duration retryAfter) {
    super(message + "; retry in " + Math.max(1, retryAfter.toSeconds()) + "s");
    this.retryAfter = retryAfter;
  }

  public Duration retryAfter() {
    return retryAfter;
  }
}
