package io.hodei.core.job;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class RetryPolicyTest {

  @Property
  void backoffGrowsExponentiallyWithinHalfAndAllOfTheCappedDelay(
      @ForAll @IntRange(min = 2, max = 30) int attempt, @ForAll @LongRange(min = 0) long seed) {
    var policy = new RetryPolicy(50, Duration.ofMillis(200), 2.0, Duration.ofSeconds(30));
    long capped = (long) Math.min(200 * Math.pow(2, attempt - 2), 30_000);

    Duration backoff = policy.backoffBefore(attempt, new java.util.SplittableRandom(seed));

    assertThat(backoff.toMillis()).isBetween(capped / 2, capped);
  }
}
