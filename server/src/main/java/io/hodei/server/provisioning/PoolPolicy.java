package io.hodei.server.provisioning;

import java.time.Duration;

/**
 * How many workers a provider may run and how long they live.
 *
 * @param maxWorkers workers alive or being created, at most
 * @param idleTimeout a worker idle this long is stopped
 * @param registrationTimeout a created worker that has not registered by then is destroyed
 */
public record PoolPolicy(int maxWorkers, Duration idleTimeout, Duration registrationTimeout) {
  public static final PoolPolicy DEFAULT =
      new PoolPolicy(4, Duration.ofMinutes(2), Duration.ofSeconds(60));

  public PoolPolicy {
    if (maxWorkers < 1) {
      throw new IllegalArgumentException("max workers must be at least 1, got " + maxWorkers);
    }
  }
}
