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
}
