package io.hodei.wire;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.RetryPolicy;
import io.hodei.api.v1.ShellCommand;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.job.SpecLimits;
import org.junit.jupiter.api.Test;

class WireMappingTest {
  private static final JobDefinition TRUE =
      JobDefinition.newBuilder()
          .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("true")))
          .build();

  private static Duration duration(long seconds, int nanos) {
    return Duration.newBuilder().setSeconds(seconds).setNanos(nanos).build();
  }

  @Test
  void aDurationOutsideProtobufsRangeIsRefusedByItsField() {
    // Each of these once escaped as an ArithmeticException (Duration.ofSeconds carrying the nanos
    // past Long.MAX_VALUE, or formatting -Long.MIN_VALUE seconds), or was accepted and then could
    // not be stored as JSON.
    assertThatThrownBy(() -> WireMapping.fromRequest(TRUE.toBuilder().setTimeout(duration(Long.MAX_VALUE, 1_000_000_000)).build(), SpecLimits.DEFAULTS))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("definition.timeout"));
    assertThatThrownBy(() -> WireMapping.fromRequest(TRUE.toBuilder().setTimeout(duration(Long.MIN_VALUE, 0)).build(), SpecLimits.DEFAULTS))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("definition.timeout"));
    var farBackoff = TRUE.toBuilder().setRetryPolicy(RetryPolicy.newBuilder().setMaxAttempts(3).setInitialBackoff(duration(315_576_000_001L, 0))).build();
    assertThatThrownBy(() -> WireMapping.fromRequest(farBackoff, SpecLimits.DEFAULTS))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("definition.retry_policy.initial_backoff"))
        .hasMessageContaining("seconds 315576000001");
    var mixedSigns = TRUE.toBuilder().setRetryPolicy(RetryPolicy.newBuilder().setMaxAttempts(3).setMaxBackoff(duration(5, -1))).build();
    assertThatThrownBy(() -> WireMapping.fromRequest(mixedSigns, SpecLimits.DEFAULTS))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("definition.retry_policy.max_backoff"));
  }

  @Test
  void theLongestDurationsProtobufAllowsAreAcceptedAndStored() {
    var longest = TRUE.toBuilder()
        .setRetryPolicy(RetryPolicy.newBuilder().setMaxAttempts(2).setInitialBackoff(duration(315_576_000_000L, 999_999_999)).setMaxBackoff(duration(315_576_000_000L, 0)))
        .build();
    var spec = WireMapping.fromRequest(longest, SpecLimits.DEFAULTS);
    assertThat(WireMapping.fromJson(WireMapping.toJson(spec))).isEqualTo(spec);
  }

  @Test
  void aCpuOfMinusZeroIsZero() {
    var minusZero = TRUE.toBuilder().setResources(io.hodei.api.v1.ResourceSpec.newBuilder().setCpuCores(-0.0)).build();
    var spec = WireMapping.fromRequest(minusZero, SpecLimits.DEFAULTS);
    assertThat(spec.resources()).isEqualTo(io.hodei.core.job.Resources.NONE);
    assertThat(WireMapping.toJson(spec)).doesNotContain("cpu");
  }
}
