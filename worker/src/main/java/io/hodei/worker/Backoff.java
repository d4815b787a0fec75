package io.hodei.worker;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with jitter: the n-th delay is {@code initial * 2^n}, capped at {@code max},
 * then spread by ±20% so that many workers losing the same server don't return in lockstep. The
 * spread never goes above {@code max}.
 *
 * <p>Not thread-safe: one retry loop owns one instance.
 */
final class Backoff {
  private static final double JITTER = 0.2;

  private final long initialNanos;
  private final long maxNanos;
  private final RandomGenerator random;
  private long currentNanos;

  Backoff(Duration initial, Duration max, RandomGenerator random) {
    if (initial.isNegative() || initial.isZero() || max.compareTo(initial) < 0) {
      throw new IllegalArgumentException("need 0 < initial <= max: " + initial + ", " + max);
    }
    this.initialNanos = initial.toNanos();
    this.maxNanos = max.toNanos();
    this.random = random;
    this.currentNanos = initialNanos;
  }

  Backoff(Duration initial, Duration max) {
    this(initial, max, RandomGenerator.getDefault());
  }

  /** The delay before the next try; the one after it will be about twice as long. */
  Duration nextDelay() {
    long base = currentNanos;
    currentNanos = base > maxNanos / 2 ? maxNanos : base * 2;
    double factor = 1 - JITTER + 2 * JITTER * random.nextDouble();
    return Duration.ofNanos(Math.min(maxNanos, (long) (base * factor)));
  }

  /** After a success: the next delay starts from the initial one again. */
  void reset() {
    currentNanos = initialNanos;
  }
}
