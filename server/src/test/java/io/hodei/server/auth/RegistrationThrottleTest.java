package io.hodei.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.hodei.core.error.RateLimitedException;
import io.hodei.server.HandClock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

class RegistrationThrottleTest {
  static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  static final BooleanSupplier NO_OTP = () -> false;
  static final BooleanSupplier OUTSTANDING_OTP = () -> true;

  final HandClock clock = new HandClock(T0);
  final RegistrationThrottle throttle =
      new RegistrationThrottle(clock, 5, 20, Duration.ofMinutes(1), 100);

  @Test
  void theSixthAttemptForOneWorkerWithinAMinuteIsRefusedUntilItsOldestFailureAges() {
    for (int i = 0; i < 5; i++) {
      throttle.checkAllowed("w-1", OUTSTANDING_OTP);
      throttle.failed("w-1");
      clock.advance(Duration.ofSeconds(10));
    }
    var refused =
        catchThrowableOfType(
            RateLimitedException.class, () -> throttle.checkAllowed("w-1", OUTSTANDING_OTP));
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(10));
    assertThat(refused).hasMessageContaining("worker w-1");

    clock.set(T0.plusSeconds(60));
    assertThatCode(() -> throttle.checkAllowed("w-1", OUTSTANDING_OTP)).doesNotThrowAnyException();
  }

  @Test
  void failuresForOneWorkerIdDoNotTouchAnotherIdsBudget() {
    for (int i = 0; i < 5; i++) {
      throttle.failed("w-attacked");
    }

    assertThatCode(() -> throttle.checkAllowed("w-real", OUTSTANDING_OTP))
        .doesNotThrowAnyException();
    assertThatCode(() -> throttle.checkAllowed("w-other", NO_OTP)).doesNotThrowAnyException();
  }

  @Test
  void pastTheGlobalCeilingIdsWithoutAnOutstandingOtpAreRefusedAndIdsWithOneAreStillChecked() {
    for (int i = 0; i < 20; i++) {
      throttle.checkAllowed("w-sprayed-" + i, NO_OTP);
      throttle.failed("w-sprayed-" + i);
    }
    clock.advance(Duration.ofSeconds(15));

    var refused =
        catchThrowableOfType(
            RateLimitedException.class, () -> throttle.checkAllowed("w-sprayed-new", NO_OTP));
    assertThat(refused).hasMessageContaining("overall");
    assertThat(refused.retryAfter()).isEqualTo(Duration.ofSeconds(45));
    assertThatCode(() -> throttle.checkAllowed("w-starting", OUTSTANDING_OTP))
        .doesNotThrowAnyException();

    clock.set(T0.plusSeconds(60));
    assertThatCode(() -> throttle.checkAllowed("w-sprayed-new", NO_OTP)).doesNotThrowAnyException();
  }

  @Test
  void anIdWithAnOutstandingOtpKeepsItsOwnBudgetPastTheGlobalCeiling() {
    for (int i = 0; i < 20; i++) {
      throttle.failed("w-sprayed-" + i);
    }
    for (int i = 0; i < 5; i++) {
      throttle.checkAllowed("w-guessed", OUTSTANDING_OTP);
      throttle.failed("w-guessed");
    }

    assertThat(
            catchThrowableOfType(
                RateLimitedException.class, () -> throttle.checkAllowed("w-guessed", OUTSTANDING_OTP)))
        .hasMessageContaining("worker w-guessed");
  }

  @Test
  void whetherAnOtpIsOutstandingIsAskedOnlyAboveTheCeiling() {
    AtomicInteger asked = new AtomicInteger();
    BooleanSupplier counting =
        () -> {
          asked.incrementAndGet();
          return true;
        };
    for (int i = 0; i < 19; i++) {
      throttle.failed("w-" + i);
    }
    throttle.checkAllowed("w-real", counting);
    assertThat(asked).hasValue(0);

    throttle.failed("w-19");
    throttle.checkAllowed("w-real", counting);
    assertThat(asked).hasValue(1);
  }

  @Test
  void theLeastRecentlyFailedIdIsForgottenBeyondTheBound() {
    var small = new RegistrationThrottle(clock, 5, 1_000, Duration.ofMinutes(1), 3);
    for (int i = 0; i < 5; i++) {
      small.failed("a");
    }
    small.failed("b");
    small.failed("c");
    small.failed("d");

    assertThatCode(() -> small.checkAllowed("a", NO_OTP)).doesNotThrowAnyException();
  }
}
