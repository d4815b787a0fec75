package io.hodei.core.job;

import java.time.Duration;

/**
 * How often a failed or timed-out job is tried again. {@code maxAttempts} counts the first attempt,
 * so 1 means no retry.
 */
public record RetryPolicy(
    int maxAttempts, Duration initialBackoff, double backoffMultiplier, Duration maxBackoff) {

  public static final RetryPolicy NONE =
      new RetryPolicy(1, Duration.ofSeconds(1), 2.0, Duration.ofMinutes(5));

  /**
   * How long to wait before attempt {@code nextAttempt} (2 for the first retry): the initial
   * backoff times the multiplier per earlier retry, capped at the maximum, with "equal jitter" —
   * half of it fixed and half random — so retries of jobs that failed together spread out.
   */
  public Duration backoffBefore(int nextAttempt, java.util.random.RandomGenerator random) {
    double base = initialBackoff.toMillis() * Math.pow(backoffMultiplier, Math.max(0, nextAttempt - 2));
    long capped = (long) Math.min(base, maxBackoff.toMillis());
    long half = capped / 2;
    return Duration.ofMillis(half + (half > 0 ? random.nextLong(half + 1) : 0));
  }
}
