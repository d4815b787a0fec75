package io.hodei.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.hodei.core.error.RateLimitedException;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RegistrationThrottleTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  final io.hodei.server.HandClock clock = new io.hodei.server.HandClock(T0);
  final RegistrationThrottle throttle =
      new RegistrationThrottle(clock, 5, Duration.ofMinutes(1), 3);

  @Test
  void theSixthAttemptWithinAMinuteAfterFiveFailuresIsRefusedUntilTheOldestFailureAges() {
    for (int i = 0; i < 5; i++) {
      throttle.checkAllowed("10.0.0.1");
      throttle.failed("10.0.0.1");
      clock.advance(Duration.ofSeconds(10));
    }
    var refused =
        catchThrowableOfType(RateLimitedException.class, () -> throttle.checkAllowed("10.0.0.1"));
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThatCode(() -> throttle.checkAllowed("10.0.0.2")).doesNotThrowAnyException();

    clock.set(T0.plusSeconds(60));
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
