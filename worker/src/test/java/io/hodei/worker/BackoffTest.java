package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BackoffTest {

  @Test
  void delaysDoubleWithinTwentyPercentUntilTheyReachTheMaximum() {
    Backoff backoff = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), new Random(42));

    List<Long> delays = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      delays.add(backoff.nextDelay().toMillis());
    }

    long base = 200;
    for (long delay : delays) {
      assertThat(delay).isBetween((long) (base * 0.8) - 1, Math.min(10_000, (long) (base * 1.2)));
      base = Math.min(10_000, base * 2);
    }
    assertThat(delays.getLast()).isBetween(8_000L, 10_000L);
  }

  @Test
  void resetStartsOverFromTheInitialDelay() {
    Backoff backoff = new Backoff(Duration.ofMillis(100), Duration.ofSeconds(1), new Random(1));
    for (int i = 0; i < 5; i++) {
      backoff.nextDelay();
    }

    backoff.reset();

    assertThat(backoff.nextDelay()).isBetween(Duration.ofMillis(79), Duration.ofMillis(120));
  }

  @Test
  void delaysAreSpreadSoWorkersDoNotReturnInLockstep() {
    Backoff one = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), new Random(1));
    Backoff other = new Backoff(Duration.ofMillis(200), Duration.ofSeconds(10), new Random(2));

    assertThat(one.nextDelay()).isNotEqualTo(other.nextDelay());
  }

  @Test
  void aMaximumBelowTheInitialDelayIsRefused() {
    assertThatThrownBy(() -> new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
