package io.hodei.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationTextTest {
  @Test
  void durationsReadAsPeopleWriteThem() {
    assertThat(DurationText.format(Duration.ZERO)).isEqualTo("0s");
    assertThat(DurationText.format(Duration.ofSeconds(-5))).isEqualTo("-5s");
    assertThat(DurationText.format(Duration.ofSeconds(150))).isEqualTo("2m30s");
    assertThat(DurationText.format(Duration.ofMillis(250))).isEqualTo("250ms");
    assertThat(DurationText.format(Duration.ofDays(1).plusHours(2).plusMillis(3))).isEqualTo("1d2h3ms");
    assertThat(DurationText.format(Duration.ofNanos(-7))).isEqualTo("-7ns");
  }
}
