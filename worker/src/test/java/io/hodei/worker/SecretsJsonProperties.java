package io.hodei.worker;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The secrets a job reads on stdin ({@link SecretsJson}), read back by a strict JSON parser as
 * the job's {@code jq} would: any names and values (control characters, quotes, backslashes,
 * {@code U+2028}, characters outside the BMP, lone surrogates) come back as the worker was given
 * them, from one object with its names sorted and nothing after it but a newline. A lone
 * surrogate cannot reach a worker (protobuf carries strings as UTF-8, which has none), so a value
 * is expected back as its UTF-8 form. And {@link SecretsJson#escape}, which the redactor also
 * uses to find a secret printed as JSON, quoted is a JSON string of exactly the text it escaped,
 * lone surrogates included, with no raw control character in it.
 *
 * <p>Only the worker writes this JSON (the server keeps secrets sealed in binary) and nothing in
 * Hodei reads it, so there is no parser of Hodei's own to fuzz with arbitrary bytes.
 *
 * <p>The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code
 * SecretsJsonPropertiesInputs/<method>/} in the test resources, 60 files of {@code head -c 512
 * /dev/urandom} each, made once: 61 inputs per run, the same every run. {@code JAZZER_FUZZ=1
 * ./mvnw test -pl worker -am -Dtest='SecretsJsonProperties#…'} fuzzes one of them instead (one
 * fuzz test per JVM); see docs/testing.md.
 */
class SecretsJsonProperties {

  private static final ObjectMapper STRICT =
      new ObjectMapper()
          .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  @FuzzTest
  void anySecretsComeBackFromAStrictJsonParser(FuzzedDataProvider data) throws IOException {
    Map<String, String> secrets = new LinkedHashMap<>();
    for (int i = 0, n = data.consumeInt(0, 6); i < n; i++) {
      secrets.put(text(data, false), text(data, true));
    }

    byte[] encoded = SecretsJson.encode(secrets);

    String json = new String(encoded, UTF_8);
    try {
      assertThat(json).endsWith("}\n");
      assertThat(json.substring(0, json.length() - 1)).doesNotContain("\n");
      JsonNode read = STRICT.readTree(encoded);
      assertThat(read.isObject()).isTrue();
      List<String> names = new ArrayList<>();
      read.fieldNames().forEachRemaining(names::add);
      assertThat(names).isEqualTo(List.copyOf(new TreeMap<>(secrets).keySet()));
      secrets.forEach(
          (name, value) -> assertThat(read.get(name).textValue()).as("the value of %s", escaped(name)).isEqualTo(asUtf8(value)));
    } catch (AssertionError | IOException e) {
      throw new AssertionError("Falsified by " + escaped(secrets.toString()) + "\nencoded as " + escaped(json), e);
    }
  }

  @FuzzTest
  void anEscapedTextQuotedIsAJsonStringOfExactlyThatText(FuzzedDataProvider data) throws IOException {
    String text = text(data, true);

    String escaped = SecretsJson.escape(text);

    try {
      assertThat(escaped.chars().filter(c -> c < 0x20)).as("raw control characters").isEmpty();
      assertThat(STRICT.readTree("\"" + escaped + "\"").textValue()).isEqualTo(text);
    } catch (AssertionError | IOException e) {
      throw new AssertionError("Falsified by " + escaped(text) + "\nescaped as " + escaped(escaped), e);
    }
  }

  /** What a string is once it went through UTF-8: each lone surrogate replaced. */
  private static String asUtf8(String s) {
    return new String(s.getBytes(UTF_8), UTF_8);
  }

  /**
   * Up to 24 characters: printable ASCII, JSON's specials (quote, backslash, slash), every control
   * character, DEL and C1 controls, the line and paragraph separators, any other BMP character, a
   * pair for one outside it, and (if {@code loneSurrogates}) a lone high or low surrogate.
   */
  private static String text(FuzzedDataProvider data, boolean loneSurrogates) {
    var s = new StringBuilder();
    for (int i = 0, n = data.consumeInt(0, 24); i < n; i++) {
      switch (data.consumeInt(0, loneSurrogates ? 7 : 6)) {
        case 0 -> s.append(data.consumeChar(' ', '~'));
        case 1 -> s.append(data.pickValue(List.of('"', '\\', '/', '\'', '{', '}', ':', ',')));
        case 2 -> s.append(data.consumeChar('\0', '\u001f'));
        case 3 -> s.append(data.pickValue(List.of('\u007f', '\u0080', '\u009f', '\u2028', '\u2029', '\ufeff', '\uffff')));
        case 4 -> s.append(data.consumeCharNoSurrogates());
        case 5 -> s.appendCodePoint(data.consumeInt(0x10000, 0x10ffff));
        case 6 -> s.append(data.consumeAsciiString(8));
        default -> s.append(data.consumeChar('\ud800', '\udfff'));
      }
    }
    return s.toString();
  }

  /** {@code s} with every character outside printable ASCII as {@code \\uXXXX}, for a failure. */
  private static String escaped(String s) {
    var out = new StringBuilder();
    s.chars().forEach(c -> out.append(c >= ' ' && c <= '~' ? Character.toString(c) : "\\u%04x".formatted(c)));
    return out.toString();
  }
}
