package io.hodei.server.auth;

import io.hodei.core.error.RateLimitedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * Limits failed worker registrations per <em>worker id presented</em>, under a global ceiling.
 *
 * <p>Not per remote address: every local worker, and every job on it, connects from loopback, so
 * counting by address let one job lock out every new worker, and one rotating over 127.0.0.0/8
 * escape the count. The rules:
 *
 * <ol>
 *   <li><b>Per worker id.</b> After {@code maxFailuresPerWorker} failed registrations for one id
 *       within {@code window}, further attempts for that id are refused until the oldest of those
 *       failures leaves the window. A job failing for ids of its own invention touches no other
 *       id's budget; guessing one worker's OTP is held to that many tries per window.
 *   <li><b>Global ceiling.</b> After {@code maxFailuresOverall} failures (for any ids) within
 *       {@code window}, attempts for an id that has <em>no outstanding OTP</em> are refused
 *       without being checked, until the oldest of those failures leaves the window. Such an
 *       attempt could only fail anyway, so refusing it costs no real worker anything, while a job
 *       spraying fresh ids (each with a fresh per-id budget) is bounded in how much store work,
 *       audit events and memory it causes. An id with an outstanding OTP, which every worker being
 *       started has, is still checked under its own per-id budget: a flood for other ids never
 *       stops a real worker registering.
 * </ol>
 *
 * A successful registration does not reset or use any budget. Refused attempts are not counted
 * as failures (they check nothing). What remains: a caller that knows a starting worker's id (ids
 * are random and not shown to jobs) can spend that id's budget and delay its registration by up
 * to one window; the worker retries {@code RESOURCE_EXHAUSTED} with backoff and its OTP stays
 * valid, because failed attempts never use it up. Whether an id has an outstanding OTP is visible
 * to a caller only while the ceiling is exceeded, and only for an id it already knows.
 *
 * <p>Memory is bounded: at most {@code maxWorkers} ids are tracked, least recently failed
 * forgotten first, each with at most {@code maxFailuresPerWorker} timestamps, plus at most
 * {@code maxFailuresOverall} global ones. Under the ceiling a window adds at most {@code
 * maxFailuresOverall} ids plus those with outstanding OTPs, so a flood cannot push a recently
 * failed id out.
 *
 * <p>Thread-safe: the counting holds the instance's monitor and is constant-time; the
 * outstanding-OTP question (a store read) is asked outside it, and only above the ceiling.
 */
public final class RegistrationThrottle {
  public static final int DEFAULT_MAX_FAILURES_PER_WORKER = 5;
  public static final int DEFAULT_MAX_FAILURES_OVERALL = 50;
  public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(1);
  private static final int DEFAULT_MAX_WORKERS = 10_000;

  private final Clock clock;
  private final int maxFailuresPerWorker;
  private final int maxFailuresOverall;
  private final Duration window;
  private final Map<String, Deque<Instant>> failures;
  private final Deque<Instant> overall = new ArrayDeque<>();

  public RegistrationThrottle(Clock clock) {
    this(
        clock,
        DEFAULT_MAX_FAILURES_PER_WORKER,
        DEFAULT_MAX_FAILURES_OVERALL,
        DEFAULT_WINDOW,
        DEFAULT_MAX_WORKERS);
  }

  public RegistrationThrottle(
      Clock clock,
      int maxFailuresPerWorker,
      int maxFailuresOverall,
      Duration window,
      int maxWorkers) {
    this.clock = clock;
    this.maxFailuresPerWorker = maxFailuresPerWorker;
    this.maxFailuresOverall = maxFailuresOverall;
    this.window = window;
    this.failures =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<String, Deque<Instant>> eldest) {
            return size() > maxWorkers;
          }
        };
  }

  /**
   * Whether an attempt to register {@code workerId} may be checked at all.
   *
   * @param hasOutstandingOtp whether an OTP issued for {@code workerId} is unused and unexpired;
   *     asked only while the global ceiling is exceeded
   * @throws RateLimitedException if the id has failed too often lately, or failures overall have
   *     and the id has no outstanding OTP
   */
  public void checkAllowed(String workerId, BooleanSupplier hasOutstandingOtp) {
    Duration overallWait;
    synchronized (this) {
      Instant now = clock.instant();
      Deque<Instant> recent = failures.get(workerId);
      if (recent != null) {
        prune(recent, now);
        if (recent.size() >= maxFailuresPerWorker) {
          throw new RateLimitedException(
              "too many failed registrations for worker " + workerId, waitFor(recent, now));
        }
      }
      prune(overall, now);
      if (overall.size() < maxFailuresOverall) {
        return;
      }
      overallWait = waitFor(overall, now);
    }
    if (!hasOutstandingOtp.getAsBoolean()) {
      throw new RateLimitedException(
          "too many failed registrations overall; only workers with an outstanding registration"
              + " token are checked now",
          overallWait);
    }
  }

  /** A registration for {@code workerId} was checked and failed. */
  public synchronized void failed(String workerId) {
    Instant now = clock.instant();
    record(failures.computeIfAbsent(workerId, h -> new ArrayDeque<>()), now, maxFailuresPerWorker);
    record(overall, now, maxFailuresOverall);
  }

  private void record(Deque<Instant> recent, Instant now, int keep) {
    prune(recent, now);
    recent.addLast(now);
    while (recent.size() > keep) {
      recent.removeFirst();
    }
  }

  private Duration waitFor(Deque<Instant> recent, Instant now) {
    Duration wait = Duration.between(now, recent.peekFirst().plus(window));
    return wait.isNegative() ? Duration.ZERO : wait;
  }

  private void prune(Deque<Instant> recent, Instant now) {
    Instant horizon = now.minus(window);
    while (!recent.isEmpty() && !recent.peekFirst().isAfter(horizon)) {
      recent.removeFirst();
    }
  }
}
