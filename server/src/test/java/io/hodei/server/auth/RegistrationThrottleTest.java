package io.hodei.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.hodei.core.error.RateLimitedException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RegistrationThrottleTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  /** A clock the test moves by hand. */
  static final class HandClock extends Clock {
    Instant now = T0;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  final HandClock clock = new HandClock();
  final RegistrationThrottle throttle =
      new RegistrationThrottle(clock, 5, Duration.ofMinutes(1), 3);

  @Test
  void theSixthAttemptWithinAMinuteAfterFiveFailuresIsRefusedUntilTheOldestFailureAges() {
    for (int i = 0; i < 5; i++) {
      throttle.checkAllowed("10.0.0.1");
      throttle.failed("10.0.0.1");
      clock.now = clock.now.plusSeconds(10);
    }
    var refused =
        catchThrowableOfType(RateLimitedException.class, () -> throttle.checkAllowed("10.0.0.1"));
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThatCode(() -> throttle.checkAllowed("10.0.0.2")).doesNotThrowAnyException();

    clock.now = T0.plusSeconds(60);
    assertThatCode(() -> throttle.checkAllowed("10.0.0.1")).doesNotThrowAnyException();
  }

  @Test
  void theLeastRecentlyFailedHostIsForgottenBeyondTheBound() {
    for (int i = 0; i < 5; i++) {
      throttle.failed("a");
    }
    throttle.failed("b");
    throttle.failed("c");
    throttle.failed("d");

    assertThatCode(() -> throttle.checkAllowed("a")).doesNotThrowAnyException();
  }

  @Test
  void theHostIsTheAddressWithoutItsPort() {
    assertThat(RegistrationThrottle.hostOf("127.0.0.1:5123")).isEqualTo("127.0.0.1");
    assertThat(RegistrationThrottle.hostOf("[::1]:5123")).isEqualTo("::1");
    assertThat(RegistrationThrottle.hostOf("in-process")).isEqualTo("in-process");
  }
}
