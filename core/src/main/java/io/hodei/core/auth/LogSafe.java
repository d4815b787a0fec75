package io.hodei.core.auth;

/**
 * Strings a caller chose (worker ids, job and token names, error text a worker sent), made safe
 * for a log line: cut to a bound, with what was cut counted, and every control character written
 * as an escape, so that no caller can forge log lines, colour a terminal or flood the log.
 */
public final class LogSafe {
  /** The bound {@link #text(String)} cuts at. */
  public static final int DEFAULT_MAX = 200;

  private LogSafe() {}

  public static String text(String s) {
    return text(s, DEFAULT_MAX);
  }

  public static String text(String s, int max) {
    if (s == null) {
      return "";
    }
    StringBuilder out = new StringBuilder(Math.min(s.length(), max) + 16);
    int i = 0;
    for (; i < s.length() && out.length() < max; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\\' -> out.append("\\\\");
        default -> {
          if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029') {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    if (i < s.length()) {
      out.append("…(+").append(s.length() - i).append(" chars)");
    }
    return out.toString();
  }
}
