package io.hodei.server.auth;

import io.hodei.core.error.RateLimitedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Limits failed worker registrations per remote host: after {@code maxFailures} failures within
 * {@code window}, further attempts from that host are refused until the oldest failure leaves the
 * window. Memory is bounded: at most {@code maxHosts} hosts are tracked, least recently failed
 * evicted first, each with at most {@code maxFailures} timestamps.
 *
 * <p>Thread-safe: every method holds the instance's monitor; the work under it is constant-time.
 */
public final class RegistrationThrottle {
  public static final int DEFAULT_MAX_FAILURES = 5;
  public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
  private static final int DEFAULT_MAX_HOSTS = 10_000;

  private final Clock clock;
  private final int maxFailures;
  private final Duration window;
  private final Map<String, Deque<Instant>> failures;

  public RegistrationThrottle(Clock clock) {
    this(clock, DEFAULT_MAX_FAILURES, DEFAULT_WINDOW, DEFAULT_MAX_HOSTS);
  }

  public RegistrationThrottle(Clock clock, int maxFailures, Duration window, int maxHosts) {
    this.clock = clock;
    this.maxFailures = maxFailures;
    this.window = window;
    this.failures =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Deque<Instant>> eldest) {
            return size() > maxHosts;
          }
        };
  }

  /**
   * @throws RateLimitedException if {@code host} has failed too often lately
   */
  public synchronized void checkAllowed(String host) {
    Deque<Instant> recent = failures.get(host);
    if (recent == null) {
      return;
    }
    Instant now = clock.instant();
    prune(recent, now);
    if (recent.size() >= maxFailures) {
      Duration wait = Duration.between(now, recent.peekFirst().plus(window));
      throw new RateLimitedException(
          "too many failed registrations from " + host, wait.isNegative() ? Duration.ZERO : wait);
    }
  }

  public synchronized void failed(String host) {
    Deque<Instant> recent = failures.computeIfAbsent(host, h -> new ArrayDeque<>());
    Instant now = clock.instant();
    prune(recent, now);
    recent.addLast(now);
    while (recent.size() > maxFailures) {
      recent.removeFirst();
    }
  }

  private void prune(Deque<Instant> recent, Instant now) {
    Instant horizon = now.minus(window);
    while (!recent.isEmpty() && !recent.peekFirst().isAfter(horizon)) {
      recent.removeFirst();
    }
  }

  /** The host part of {@code host:port} (or {@code [v6]:port}), by which failures are counted. */
  public static String hostOf(String remote) {
    if (remote.startsWith("[")) {
      int end = remote.indexOf(']');
      return end > 0 ? remote.substring(1, end) : remote;
    }
    int colon = remote.lastIndexOf(':');
    return colon > 0 && remote.indexOf(':') == colon ? remote.substring(0, colon) : remote;
  }
}
