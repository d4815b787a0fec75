package io.hodei.server.provisioning;

import java.time.Duration;

/**
 * How many workers a provider may run and how long they live.
 *
 * @param maxWorkers workers alive or being created, at most
 * @param idleTimeout a worker idle this long is stopped (never below {@code minIdle})
 * @param registrationTimeout a created worker that has not registered by then is destroyed
 * @param minIdle warm workers kept ready even with no work queued
 * @param maxLifetime a worker older than this takes no new jobs and is stopped once idle; zero
 *     means no limit
 * @param ephemeral each worker runs one job, then is stopped
 * @param jobsPerWorker jobs one worker runs at once, at most (within its resources)
 */
public record PoolPolicy(
    int maxWorkers,
    Duration idleTimeout,
    Duration registrationTimeout,
    int minIdle,
    Duration maxLifetime,
    boolean ephemeral,
    int jobsPerWorker) {

  public static final PoolPolicy DEFAULT =
      new PoolPolicy(4, Duration.ofMinutes(2), Duration.ofSeconds(60));

  public PoolPolicy {
    if (maxWorkers < 1) {
      throw new IllegalArgumentException("max workers must be at least 1, got " + maxWorkers);
    }
    if (jobsPerWorker < 1) {
      throw new IllegalArgumentException("jobs per worker must be at least 1, got " + jobsPerWorker);
    }
    if (idleTimeout.isNegative()) {
      throw new IllegalArgumentException("idle timeout must not be negative, got " + io.hodei.core.DurationText.format(idleTimeout));
    }
    if (registrationTimeout.isNegative() || registrationTimeout.isZero()) {
      throw new IllegalArgumentException("registration timeout must be positive, got " + io.hodei.core.DurationText.format(registrationTimeout));
    }
    if (maxLifetime.isNegative()) {
      throw new IllegalArgumentException("max lifetime must not be negative (0 for none), got " + io.hodei.core.DurationText.format(maxLifetime));
    }
    if (minIdle < 0 || minIdle > maxWorkers) {
      throw new IllegalArgumentException(
          "min idle must be between 0 and max workers (" + maxWorkers + "), got " + minIdle);
    }
  }

  /** No warm workers, no lifetime limit, workers reused across jobs. */
  public PoolPolicy(int maxWorkers, Duration idleTimeout, Duration registrationTimeout) {
    this(maxWorkers, idleTimeout, registrationTimeout, 0, Duration.ZERO, false, 1);
  }

  public PoolPolicy withMinIdle(int warm) {
    return new PoolPolicy(maxWorkers, idleTimeout, registrationTimeout, warm, maxLifetime, ephemeral, jobsPerWorker);
  }

  public PoolPolicy withMaxLifetime(Duration lifetime) {
    return new PoolPolicy(maxWorkers, idleTimeout, registrationTimeout, minIdle, lifetime, ephemeral, jobsPerWorker);
  }

  public PoolPolicy asEphemeral() {
    return new PoolPolicy(maxWorkers, idleTimeout, registrationTimeout, minIdle, maxLifetime, true, jobsPerWorker);
  }

  public PoolPolicy withJobsPerWorker(int jobs) {
    return new PoolPolicy(maxWorkers, idleTimeout, registrationTimeout, minIdle, maxLifetime, ephemeral, jobs);
  }
}
