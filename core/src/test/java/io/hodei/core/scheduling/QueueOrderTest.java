package io.hodei.core.scheduling;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class QueueOrderTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final Duration STEP = Duration.ofMinutes(1);

  private static Job job(String id, int priority, Instant created) {
    var base = JobSpec.of(id, new CommandSpec.Shell("true", List.of()));
    var spec =
        new JobSpec(
            base.name(), base.command(), base.env(), base.workingDir(), base.resources(),
            base.constraints().withPriority(priority), base.timeout(), base.retryPolicy(), base.labels());
    return Job.queued(new JobId(id), spec, created);
  }

  @Test
  void higherPriorityGoesFirstAndEqualPrioritiesAreFifo() {
    var low = job("low", 0, T0);
    var high = job("high", 5, T0.plusSeconds(10));
    var lowLater = job("low-later", 0, T0.plusSeconds(5));

    assertThat(List.of(lowLater, low, high).stream().sorted(QueueOrder.comparator(T0.plusSeconds(20), STEP)))
        .extracting(j -> j.id().value())
        .containsExactly("high", "low", "low-later");
  }

  @Test
  void aLowPriorityJobThatWaitedLongEnoughOvertakesFreshHighPriorityWork() {
    var old = job("old", 0, T0);
    var fresh = job("fresh", 5, T0.plus(Duration.ofMinutes(10)));
    Instant now = T0.plus(Duration.ofMinutes(10));

    assertThat(QueueOrder.effectivePriority(old, now, STEP)).isEqualTo(10);
    assertThat(List.of(fresh, old).stream().sorted(QueueOrder.comparator(now, STEP)))
        .extracting(j -> j.id().value())
        .containsExactly("old", "fresh");
    assertThat(List.of(fresh, old).stream().sorted(QueueOrder.comparator(T0.plus(Duration.ofMinutes(10)).minus(Duration.ofMinutes(6)), STEP)))
        .extracting(j -> j.id().value())
        .containsExactly("fresh", "old");
  }
}
