package io.hodei.worker;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;

/**
 * The secrets a job reads on stdin: one JSON object, names sorted, then a newline, for example
 * {@code {"API_TOKEN":"s3cr3t-value"}}. Strings are escaped per RFC 8259, so any value survives
 * {@code jq -r .API_TOKEN} unchanged.
 */
final class SecretsJson {
  private SecretsJson() {}

  static byte[] encode(Map<String, String> secrets) {
    var json = new StringBuilder(64 + secrets.size() * 32);
    json.append('{');
    boolean first = true;
    for (var e : new TreeMap<>(secrets).entrySet()) {
      if (!first) {
        json.append(',');
      }
      first = false;
      quote(json, e.getKey());
      json.append(':');
      quote(json, e.getValue());
    }
    json.append("}\n");
    return json.toString().getBytes(StandardCharsets.UTF_8);
  }

  /** {@code s} as it appears between the quotes of a JSON string. */
  static String escape(String s) {
    var out = new StringBuilder(s.length() + 8);
    quote(out, s);
    return out.substring(1, out.length() - 1);
  }

  private static void quote(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        case '\b' -> out.append("\\b");
        case '\f' -> out.append("\\f");
        default -> {
          if (c < 0x20) {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
