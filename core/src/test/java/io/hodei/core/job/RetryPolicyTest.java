package io.hodei.core.job;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * A Jazzer fuzz test. A plain build replays its inputs (Jazzer's regression mode): each property
 * sees the empty input plus the files under {@code RetryPolicyTestInputs/<method>/} in the test
 * resources, 1,000 files of random bytes made once with {@code head -c 16 /dev/urandom}, so 1,001
 * inputs per run, the same every run. {@code JAZZER_FUZZ=1 ./mvnw test -pl core
 * -am -Dtest='RetryPolicyTest#…'} fuzzes it instead, one fuzz test per JVM; see docs/testing.md.
 */
class RetryPolicyTest {

  @FuzzTest
  void backoffGrowsExponentiallyWithinHalfAndAllOfTheCappedDelay(FuzzedDataProvider data) {
    int attempt = data.consumeInt(2, 30);
    long seed = data.consumeLong(0, Long.MAX_VALUE);
    var policy = new RetryPolicy(50, Duration.ofMillis(200), 2.0, Duration.ofSeconds(30));
    long capped = (long) Math.min(200 * Math.pow(2, attempt - 2), 30_000);

    Duration backoff = policy.backoffBefore(attempt, new SplittableRandom(seed));

    assertThat(backoff.toMillis())
        .as("attempt %d, seed %d", attempt, seed)
        .isBetween(capped / 2, capped);
  }
}
