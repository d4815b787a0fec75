package io.hodei.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses the durations users type: {@code 90s}, {@code 5m}, {@code 1h30m}, {@code 250ms}, ISO-8601. */
final class Durations {
  private static final Pattern PART = Pattern.compile("(\\d+)(ms|s|m|h|d)");

  private Durations() {}

  static Duration parse(String text) {
    String t = text.strip().toLowerCase(java.util.Locale.ROOT);
    if (t.startsWith("p") || t.startsWith("-p")) {
      return Duration.parse(text.strip().toUpperCase(java.util.Locale.ROOT));
    }
    boolean negative = t.startsWith("-");
    if (negative) {
      t = t.substring(1);
    }
    if (t.matches("\\d+")) {
      throw new IllegalArgumentException("'" + text + "' needs a unit: ms, s, m, h or d (e.g. 30s)");
    }
    Matcher m = PART.matcher(t);
    Duration total = Duration.ZERO;
    int end = 0;
    while (m.find()) {
      if (m.start() != end) {
        break;
      }
      long n = Long.parseLong(m.group(1));
      total =
          total.plus(
              switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
              });
      end = m.end();
    }
    if (end == 0 || end != t.length()) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a duration; use e.g. 30s, 5m, 1h30m or 250ms");
    }
    return negative ? total.negated() : total;
  }

  /** picocli converter. */
  static final class Converter implements picocli.CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
      return parse(value);
    }
  }
}
