package io.hodei.worker;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * The matching core ({@link Redactor#literal}: the output as it is, without the decoded view)
 * against a naive search. Secrets of printable and non-ASCII characters, some over several lines
 * and some overlapping
 * others, embedded raw, as base64 and URL-encoded in random output that is written in random
 * chunks. The reference is a naive leftmost-longest search that, after each write, decides what
 * the bytes written so far allow.
 *
 * <p>The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code RedactorPropertiesInputs/<method>/}
 * in the test resources, 512 random bytes each, made once with {@code head -c 512 /dev/urandom}
 * (400 files for {@code afterEveryWrite…} and {@code outputWithoutSecrets…}, 300 for {@code
 * decodedOutput…}), so 401, 401 and 301 inputs per run, the same every run. {@code
 * outputWithoutSecrets…} skips the inputs whose noise completes a secret after all: 117 of its
 * 401, leaving 284 checked (before Jazzer, about 250 of 300 tries). {@code JAZZER_FUZZ=1 ./mvnw
 * test -pl worker -am -Dtest='RedactorProperties#…'} fuzzes one of them instead (one fuzz test per
 * JVM).
 */
class RedactorProperties {

  private static final int MIN_LENGTH = 8;

  record Scenario(Map<String, String> secrets, byte[] output, List<Integer> chunkSizes) {
    @Override
    public String toString() {
      return "secrets=%s output=%s chunks=%s"
          .formatted(secrets, new String(output, UTF_8), chunkSizes);
    }
  }

  @FuzzTest
  void afterEveryWriteTheOutputIsWhatANaiveSearchCanAlreadyDecide(FuzzedDataProvider data)
      throws InterruptedException {
    Scenario scenario = outputWithSecrets(data);
    falsifiedBy(scenario, () -> afterEveryWriteTheOutputIsWhatANaiveSearchCanAlreadyDecide(scenario));
  }

  private static void afterEveryWriteTheOutputIsWhatANaiveSearchCanAlreadyDecide(Scenario scenario)
      throws InterruptedException {
    Redactor redactor = Redactor.literal(scenario.secrets(), MIN_LENGTH);
    List<Redactor.Pattern> patterns = redactor.patterns();
    byte[] output = scenario.output();
    Redactor.Filter filter = redactor.newFilter();
    ByteArrayOutputStream collected = new ByteArrayOutputStream();
    Redactor.Sink sink = (bytes, offset, length) -> collected.write(bytes, offset, length);
    NaiveSearch reference = new NaiveSearch(output, patterns);

    writeInChunks(
        filter,
        scenario,
        sink,
        written -> {
          reference.decideWhatItCanIn(written);
          assertThat(filter.heldBack()).isEqualTo(written - reference.decided);
          assertThat(text(collected.toByteArray()))
              .isEqualTo(text(reference.redacted.toByteArray()));
        });

    reference.decideAll();
    byte[] streamed = collected.toByteArray();
    assertThat(text(streamed)).isEqualTo(text(reference.redacted.toByteArray()));
    byte[] outsideReplacements = withoutReplacements(streamed, scenario.secrets());
    for (Redactor.Pattern pattern : patterns) {
      assertThat(indexOf(outsideReplacements, pattern.bytes(), 0))
          .as("%s left in the output", text(pattern.bytes()))
          .isEqualTo(-1);
    }
  }

  @FuzzTest
  void outputWithoutSecretsPassesUnchangedAndOnlyAPossibleStartIsHeldBack(FuzzedDataProvider data)
      throws InterruptedException {
    Scenario scenario = outputWithoutSecrets(data);
    falsifiedBy(
        scenario, () -> outputWithoutSecretsPassesUnchangedAndOnlyAPossibleStartIsHeldBack(scenario));
  }

  private static void outputWithoutSecretsPassesUnchangedAndOnlyAPossibleStartIsHeldBack(
      Scenario scenario) throws InterruptedException {
    Redactor redactor = Redactor.literal(scenario.secrets(), MIN_LENGTH);
    List<Redactor.Pattern> patterns = redactor.patterns();
    if (patterns.stream().anyMatch(p -> indexOf(scenario.output(), p.bytes(), 0) >= 0)) {
      // The noise completed a secret after all (a truncated value followed by its end, say): not
      // an input this property is about.
      return;
    }
    byte[] output = scenario.output();
    Redactor.Filter filter = redactor.newFilter();
    ByteArrayOutputStream collected = new ByteArrayOutputStream();
    Redactor.Sink sink = (bytes, offset, length) -> collected.write(bytes, offset, length);

    writeInChunks(
        filter,
        scenario,
        sink,
        written -> {
          int held = longestSuffixStartingAPattern(output, written, patterns);
          assertThat(filter.heldBack()).isEqualTo(held);
          assertThat(collected.toByteArray()).isEqualTo(Arrays.copyOf(output, written - held));
        });

    assertThat(collected.toByteArray()).isEqualTo(output);
  }

  /**
   * The decoded view, end to end: secrets printed as tools print them (wrapped base64 of a longer
   * input, hex, percent-encoding character by character in either case, JSON escapes, colour
   * codes or carriage returns between the characters), between random text, in random chunks.
   * Once the redacted output is decoded the same way, no pattern is left outside the
   * replacements.
   */
  @FuzzTest
  void decodedOutputKeepsNoPatternOutsideTheReplacements(FuzzedDataProvider data)
      throws InterruptedException {
    Scenario scenario = encodedSecrets(data);
    falsifiedBy(scenario, () -> decodedOutputKeepsNoPatternOutsideTheReplacements(scenario));
  }

  private static void decodedOutputKeepsNoPatternOutsideTheReplacements(Scenario scenario)
      throws InterruptedException {
    Redactor redactor = Redactor.of(scenario.secrets(), MIN_LENGTH);
    ByteArrayOutputStream collected = new ByteArrayOutputStream();
    Redactor.Sink sink = (bytes, offset, length) -> collected.write(bytes, offset, length);

    writeInChunks(redactor.newFilter(), scenario, sink, written -> {});

    byte[] decoded =
        Normalizer.normalise(withoutReplacements(collected.toByteArray(), scenario.secrets()), 0);
    for (Redactor.Pattern pattern : redactor.patterns()) {
      assertThat(indexOf(decoded, pattern.bytes(), 0))
          .as("%s left in %s", text(pattern.bytes()), text(collected.toByteArray()))
          .isEqualTo(-1);
    }
  }

  private interface Check {
    void run() throws InterruptedException;
  }

  /** Runs {@code check}; a failure names the scenario (Jazzer names only the input's file). */
  private static void falsifiedBy(Scenario scenario, Check check) throws InterruptedException {
    try {
      check.run();
    } catch (AssertionError e) {
      throw new AssertionError("Falsified by " + scenario + "\n" + e.getMessage(), e);
    }
  }

  // ---- scenarios, drawn from the fuzzer's input ------------------------------------------

  private static final String PRINTABLE = range(' ', '~');

  /** Secrets printed as tools print them, between random text. */
  private static Scenario encodedSecrets(FuzzedDataProvider data) {
    Map<String, String> secrets = new LinkedHashMap<>();
    for (int i = 0, count = data.consumeInt(1, 2); i < count; i++) {
      secrets.put("S" + i, string(data, PRINTABLE + "éü€", MIN_LENGTH, 24));
    }
    List<String> values = List.copyOf(secrets.values());
    List<byte[]> pieces = new ArrayList<>();
    for (int i = 0, count = data.consumeInt(1, 6); i < count; i++) {
      pieces.add(
          weighted(data, 2, 3) == 0
              ? string(data, range('a', 'z') + " :=\n/+", 0, 12).getBytes(UTF_8)
              : printed(data, values));
    }
    return new Scenario(secrets, concat(pieces), chunkSizes(data));
  }

  /** One value as some tool would print it. */
  private static byte[] printed(FuzzedDataProvider data, List<String> values) {
    String v = data.pickValue(values);
    var random = new java.util.Random(data.consumeInt());
    byte[] raw = v.getBytes(UTF_8);
    String printed =
        switch (data.consumeInt(0, 5)) {
          case 0 -> {
            byte[] before = new byte[random.nextInt(40)];
            random.nextBytes(before);
            int width = 4 * (4 + random.nextInt(16));
            yield Base64.getMimeEncoder(width, new byte[] {'\n'})
                .encodeToString(concat(List.of(before, raw)));
          }
          case 1 -> {
            String hex = java.util.HexFormat.of().formatHex(raw);
            yield random.nextBoolean() ? hex : hex.toUpperCase(java.util.Locale.ROOT);
          }
          case 2 -> {
            var encoded = new StringBuilder();
            for (byte b : raw) {
              if (b < 0 || random.nextBoolean()) {
                String hex = "%%%02X".formatted(b & 0xff);
                encoded.append(random.nextBoolean() ? hex : hex.toLowerCase(java.util.Locale.ROOT));
              } else {
                encoded.append((char) b);
              }
            }
            yield encoded.toString();
          }
          case 3 -> {
            var escaped = new StringBuilder();
            v.chars()
                .forEach(
                    c ->
                        escaped.append(
                            random.nextBoolean()
                                ? "\\u%04x".formatted(c)
                                : SecretsJson.escape(Character.toString(c))));
            yield escaped.toString();
          }
          case 4 -> {
            var coloured = new StringBuilder();
            v.chars()
                .forEach(c -> coloured.append("\u001b[3" + random.nextInt(8) + "m").appendCodePoint(c));
            yield coloured + "\u001b[0m";
          }
          default -> String.join("\r", v.split(""));
        };
    return printed.getBytes(UTF_8);
  }

  private static Scenario outputWithSecrets(FuzzedDataProvider data) {
    Map<String, String> secrets = secrets(data);
    List<String> values = List.copyOf(secrets.values());
    List<byte[]> pieces = new ArrayList<>();
    for (int i = data.consumeInt(0, 10); i > 0; i--) {
      pieces.add(pieceWithSecret(data, values));
    }
    return new Scenario(secrets, concat(pieces), chunkSizes(data));
  }

  private static Scenario outputWithoutSecrets(FuzzedDataProvider data) {
    Map<String, String> secrets = secrets(data);
    List<String> values = List.copyOf(secrets.values());
    List<byte[]> pieces = new ArrayList<>();
    for (int i = data.consumeInt(0, 10); i > 0; i--) {
      pieces.add(noise(data, values));
    }
    return new Scenario(secrets, concat(pieces), chunkSizes(data));
  }

  private static Map<String, String> secrets(FuzzedDataProvider data) {
    Map<String, String> secrets = new LinkedHashMap<>();
    String previous = "";
    for (int i = 0, count = data.consumeInt(1, 3); i < count; i++) {
      // A value may begin with the end of the one before (or all of it), so that matches overlap.
      int[] codePoints = previous.codePoints().toArray();
      int shared = Math.min(data.consumeInt(0, 30), codePoints.length);
      previous = new String(codePoints, codePoints.length - shared, shared) + secretValue(data);
      secrets.put("S" + i, previous);
    }
    return secrets;
  }

  /** One line, or two or three joined by LF or CRLF. */
  private static String secretValue(FuzzedDataProvider data) {
    return switch (weighted(data, 4, 1, 1)) {
      case 0 -> secretLine(data);
      case 1 -> secretLines(data, "\n");
      default -> secretLines(data, "\r\n");
    };
  }

  private static String secretLines(FuzzedDataProvider data, String separator) {
    List<String> lines = new ArrayList<>();
    for (int i = 0, count = data.consumeInt(2, 3); i < count; i++) {
      lines.add(secretLine(data));
    }
    return String.join(separator, lines);
  }

  /** Printable ASCII mostly, some Latin-1, CJK, and characters outside the BMP. */
  private static String secretLine(FuzzedDataProvider data) {
    var line = new StringBuilder();
    for (int i = 0, length = data.consumeInt(MIN_LENGTH, 24); i < length; i++) {
      switch (weighted(data, 6, 2, 1, 1)) {
        case 0 -> line.append(data.consumeChar(' ', '~'));
        case 1 -> line.append(data.consumeChar('¡', 'ÿ'));
        case 2 -> line.append(data.consumeChar('一', '龥'));
        default -> line.append(data.pickValue(List.of("🔑", "😀", "𝄞")));
      }
    }
    return line.toString();
  }

  private static byte[] pieceWithSecret(FuzzedDataProvider data, List<String> values) {
    return switch (weighted(data, 3, 2, 2, 1, 1)) {
      case 0 -> noise(data, values);
      case 1 -> data.pickValue(values).getBytes(UTF_8);
      case 2 -> {
        byte[] before = bytes(data, 5);
        String secret = data.pickValue(values);
        byte[] after = bytes(data, 5);
        Base64.Encoder encoder = data.consumeBoolean() ? Base64.getUrlEncoder() : Base64.getEncoder();
        if (!data.consumeBoolean()) {
          encoder = encoder.withoutPadding();
        }
        yield encoder.encode(concat(List.of(before, secret.getBytes(UTF_8), after)));
      }
      case 3 -> {
        String encoded = URLEncoder.encode(data.pickValue(values), UTF_8);
        yield (data.consumeBoolean() ? encoded : encoded.replace("+", "%20")).getBytes(UTF_8);
      }
      default -> data.pickValue(data.pickValue(values).split("\r?\n")).getBytes(UTF_8);
    };
  }

  /** Random bytes, text, and values cut short: output that starts secrets but finishes none. */
  private static byte[] noise(FuzzedDataProvider data, List<String> values) {
    return switch (weighted(data, 2, 2, 2)) {
      case 0 -> bytes(data, 30);
      case 1 ->
          string(data, range('a', 'z') + range('A', 'Z') + range('0', '9') + " \n+/=%", 0, 20)
              .getBytes(UTF_8);
      default -> {
        byte[] value = data.pickValue(values).getBytes(UTF_8);
        yield Arrays.copyOf(value, data.consumeInt(0, value.length - 1));
      }
    };
  }

  private static List<Integer> chunkSizes(FuzzedDataProvider data) {
    List<Integer> sizes = new ArrayList<>();
    for (int i = 0, count = data.consumeInt(1, 8); i < count; i++) {
      sizes.add(data.consumeInt(1, 40));
    }
    return sizes;
  }

  /** The index of one of the weights, each drawn in proportion to its weight. */
  private static int weighted(FuzzedDataProvider data, int... weights) {
    int draw = data.consumeInt(0, Arrays.stream(weights).sum() - 1);
    int index = 0;
    while (draw >= weights[index]) {
      draw -= weights[index++];
    }
    return index;
  }

  /** Between {@code minLength} and {@code maxLength} characters of {@code alphabet}. */
  private static String string(FuzzedDataProvider data, String alphabet, int minLength, int maxLength) {
    var string = new StringBuilder();
    for (int i = 0, length = data.consumeInt(minLength, maxLength); i < length; i++) {
      string.append(alphabet.charAt(data.consumeInt(0, alphabet.length() - 1)));
    }
    return string.toString();
  }

  /** Up to {@code maxLength} random bytes. */
  private static byte[] bytes(FuzzedDataProvider data, int maxLength) {
    return data.consumeBytes(data.consumeInt(0, maxLength));
  }

  /** The characters from {@code first} to {@code last}. */
  private static String range(char first, char last) {
    var range = new StringBuilder();
    for (char c = first; c <= last; c++) {
      range.append(c);
    }
    return range.toString();
  }

  /**
   * Writes the output in the scenario's chunks, each from a fresh array (the filter must not rely
   * on an earlier write's array), calls {@code afterWrite} with the bytes written so far after
   * each, then finishes.
   */
  private static void writeInChunks(
      Redactor.Filter filter, Scenario scenario, Redactor.Sink sink, IntConsumer afterWrite)
      throws InterruptedException {
    byte[] output = scenario.output();
    int written = 0;
    for (int i = 0; written < output.length; i++) {
      int size = chunkSize(scenario, i, output.length - written);
      filter.write(Arrays.copyOfRange(output, written, written + size), 0, size, sink);
      written += size;
      afterWrite.accept(written);
    }
    filter.finish(sink);
  }

  private static int chunkSize(Scenario scenario, int write, int remaining) {
    List<Integer> sizes = scenario.chunkSizes();
    return Math.min(sizes.get(write % sizes.size()), remaining);
  }

  /**
   * Leftmost-longest, the slow and obvious way, on a growing prefix of the output: a position is
   * decided once no pattern could still start there and go past what was written.
   */
  private static final class NaiveSearch {
    final byte[] output;
    final List<Redactor.Pattern> patterns;
    final ByteArrayOutputStream redacted = new ByteArrayOutputStream();
    int decided;

    NaiveSearch(byte[] output, List<Redactor.Pattern> patterns) {
      this.output = output;
      this.patterns = patterns;
    }

    void decideWhatItCanIn(int written) {
      while (decided < written && !mayGrowPast(written)) {
        decideOne(written);
      }
    }

    void decideAll() {
      while (decided < output.length) {
        decideOne(output.length);
      }
    }

    private boolean mayGrowPast(int written) {
      int length = written - decided;
      return patterns.stream()
          .anyMatch(
              p ->
                  p.bytes().length > length
                      && Arrays.equals(output, decided, written, p.bytes(), 0, length));
    }

    private void decideOne(int written) {
      Redactor.Pattern longest = null;
      for (Redactor.Pattern pattern : patterns) {
        int end = decided + pattern.bytes().length;
        if (end <= written
            && Arrays.equals(output, decided, end, pattern.bytes(), 0, pattern.bytes().length)
            && (longest == null || pattern.bytes().length > longest.bytes().length)) {
          longest = pattern;
        }
      }
      if (longest == null) {
        redacted.write(output[decided++]);
      } else {
        byte[] replacement = ("[REDACTED:" + longest.secretName() + "]").getBytes(UTF_8);
        redacted.writeBytes(replacement);
        // A replacement keeps the line breaks of what it covers.
        for (byte b : longest.bytes()) {
          if (b == '\n') {
            redacted.write('\n');
            redacted.writeBytes(replacement);
          }
        }
        decided += longest.bytes().length;
      }
    }
  }

  private static String text(byte[] bytes) {
    return new String(bytes, ISO_8859_1);
  }

  /** The output with each replacement cut down to a NUL, a byte no pattern contains. */
  private static byte[] withoutReplacements(byte[] output, Map<String, String> secrets) {
    byte[] result = output;
    for (String name : secrets.keySet()) {
      byte[] replacement = ("[REDACTED:" + name + "]").getBytes(UTF_8);
      ByteArrayOutputStream cut = new ByteArrayOutputStream();
      int from = 0;
      for (int at = indexOf(result, replacement, 0);
          at >= 0;
          at = indexOf(result, replacement, from)) {
        cut.write(result, from, at - from);
        cut.write(0);
        from = at + replacement.length;
      }
      cut.write(result, from, result.length - from);
      result = cut.toByteArray();
    }
    return result;
  }

  /** The longest suffix of {@code output[0, end)} that some longer pattern starts with. */
  private static int longestSuffixStartingAPattern(
      byte[] output, int end, List<Redactor.Pattern> patterns) {
    for (int start = 0; start < end; start++) {
      int length = end - start;
      for (Redactor.Pattern pattern : patterns) {
        byte[] bytes = pattern.bytes();
        if (bytes.length > length
            && Arrays.equals(output, start, end, bytes, 0, length)) {
          return length;
        }
      }
    }
    return 0;
  }

  private static boolean startsWith(byte[] output, int position, byte[] pattern) {
    return output.length - position >= pattern.length
        && Arrays.equals(output, position, position + pattern.length, pattern, 0, pattern.length);
  }

  private static int indexOf(byte[] output, byte[] pattern, int from) {
    for (int i = from; i + pattern.length <= output.length; i++) {
      if (startsWith(output, i, pattern)) {
        return i;
      }
    }
    return -1;
  }

  private static byte[] concat(List<byte[]> pieces) {
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    pieces.forEach(all::writeBytes);
    return all.toByteArray();
  }
}
