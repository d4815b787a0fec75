package io.hodei.core.auth;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogSafeTest {
  @Test
  void controlCharactersAreEscapedSoNoCallerForgesALogLine() {
    assertThat(LogSafe.text("w-1\n12:00 INFO audit WORKER_REGISTERED by admin")).isEqualTo("w-1\\n12:00 INFO audit WORKER_REGISTERED by admin");
    assertThat(LogSafe.text("red\u001b[31m\r\t\\")).isEqualTo("red\\u001b[31m\\r\\t\\\\");
    assertThat(LogSafe.text("\u0085\u2028")).isEqualTo("\\u0085\\u2028");
    assertThat(LogSafe.text("ünïcode ok")).isEqualTo("ünïcode ok");
    assertThat(LogSafe.text(null)).isEmpty();
  }

  @Test
  void aLongStringIsCutWithWhatWasCutCounted() {
    assertThat(LogSafe.text("x".repeat(1_000_000))).isEqualTo("x".repeat(200) + "…(+999800 chars)");
    assertThat(LogSafe.text("abcdef", 3)).isEqualTo("abc…(+3 chars)");
    assertThat(LogSafe.text("abc", 3)).isEqualTo("abc");
  }
}
