package io.hodei.core;

import java.time.Duration;

/** Durations as people write them, {@code 2m30s}, {@code -5s}, {@code 250ms}, never {@code PT-5S}. */
public final class DurationText {
  private DurationText() {}

  public static String format(Duration d) {
    if (d.isZero()) {
      return "0s";
    }
    StringBuilder out = new StringBuilder();
    if (d.isNegative()) {
      out.append('-');
      d = d.negated();
    }
    long days = d.toDaysPart();
    int hours = d.toHoursPart();
    int minutes = d.toMinutesPart();
    int seconds = d.toSecondsPart();
    int millis = d.toMillisPart();
    if (days > 0) {
      out.append(days).append('d');
    }
    if (hours > 0) {
      out.append(hours).append('h');
    }
    if (minutes > 0) {
      out.append(minutes).append('m');
    }
    if (seconds > 0) {
      out.append(seconds).append('s');
    }
    if (millis > 0) {
      out.append(millis).append("ms");
    }
    if (out.isEmpty() || out.toString().equals("-")) {
      out.append(d.toNanos()).append("ns");
    }
    return out.toString();
  }
}
