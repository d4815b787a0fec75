package io.hodei.worker;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.net.URLEncoder;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntConsumer;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

/**
 * The matching core ({@link Redactor#literal}: the output as it is, without the decoded view)
 * against a naive search. Secrets of printable and non-ASCII characters, some over several lines
 * and some overlapping
 * others, embedded raw, as base64 and URL-encoded in random output that is written in random
 * chunks. The reference is a naive leftmost-longest search that, after each write, decides what
 * the bytes written so far allow.
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

  @Property(tries = 400)
  void afterEveryWriteTheOutputIsWhatANaiveSearchCanAlreadyDecide(
      @ForAll("outputsWithSecrets") Scenario scenario) throws InterruptedException {
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

  @Property(tries = 300)
  void outputWithoutSecretsPassesUnchangedAndOnlyAPossibleStartIsHeldBack(
      @ForAll("outputsWithoutSecrets") Scenario scenario) throws InterruptedException {
    Redactor redactor = Redactor.literal(scenario.secrets(), MIN_LENGTH);
    List<Redactor.Pattern> patterns = redactor.patterns();
    Assume.that(
        patterns.stream().noneMatch(p -> indexOf(scenario.output(), p.bytes(), 0) >= 0));
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
  @Property(tries = 300)
  void decodedOutputKeepsNoPatternOutsideTheReplacements(
      @ForAll("encodedSecrets") Scenario scenario) throws InterruptedException {
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

  @Provide
  Arbitrary<Scenario> encodedSecrets() {
    Arbitrary<String> value =
        Arbitraries.strings()
            .withCharRange(' ', '~')
            .withChars("éü€")
            .ofMinLength(MIN_LENGTH)
            .ofMaxLength(24);
    return value
        .list()
        .ofMinSize(1)
        .ofMaxSize(2)
        .flatMap(
            values -> {
              Map<String, String> secrets = new LinkedHashMap<>();
              for (int i = 0; i < values.size(); i++) {
                secrets.put("S" + i, values.get(i));
              }
              Arbitrary<byte[]> text =
                  Arbitraries.strings()
                      .withCharRange('a', 'z')
                      .withChars(" :=\n/+")
                      .ofMaxLength(12)
                      .map(t -> t.getBytes(UTF_8));
              Arbitrary<byte[]> piece =
                  Arbitraries.frequencyOf(Tuple.of(2, text), Tuple.of(3, printed(values)));
              return Combinators.combine(piece.list().ofMinSize(1).ofMaxSize(6), chunkSizes())
                  .as((pieces, sizes) -> new Scenario(secrets, concat(pieces), sizes));
            });
  }

  /** One value as some tool would print it. */
  private static Arbitrary<byte[]> printed(List<String> values) {
    Arbitrary<String> value = Arbitraries.of(values);
    Arbitrary<Integer> seeds = Arbitraries.integers();
    Arbitrary<String> printed =
        Combinators.combine(value, seeds, Arbitraries.integers().between(0, 5))
            .as(
                (v, seed, how) -> {
                  var random = new java.util.Random(seed);
                  byte[] raw = v.getBytes(UTF_8);
                  return switch (how) {
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
                          encoded.append(
                              random.nextBoolean() ? hex : hex.toLowerCase(java.util.Locale.ROOT));
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
                          .forEach(
                              c ->
                                  coloured
                                      .append("\u001b[3" + random.nextInt(8) + "m")
                                      .appendCodePoint(c));
                      yield coloured + "\u001b[0m";
                    }
                    default -> String.join("\r", v.split(""));
                  };
                });
    return printed.map(p -> p.getBytes(UTF_8));
  }

  @Provide
  Arbitrary<Scenario> outputsWithSecrets() {
    return secrets()
        .flatMap(
            secrets ->
                Combinators.combine(
                        pieceWithSecret(List.copyOf(secrets.values())).list().ofMaxSize(10),
                        chunkSizes())
                    .as((pieces, sizes) -> new Scenario(secrets, concat(pieces), sizes)));
  }

  @Provide
  Arbitrary<Scenario> outputsWithoutSecrets() {
    return secrets()
        .flatMap(
            secrets ->
                Combinators.combine(
                        noise(List.copyOf(secrets.values())).list().ofMaxSize(10),
                        chunkSizes())
                    .as((pieces, sizes) -> new Scenario(secrets, concat(pieces), sizes)));
  }

  private static Arbitrary<Map<String, String>> secrets() {
    Arbitrary<String> codePoint =
        Arbitraries.frequencyOf(
            Tuple.of(6, Arbitraries.chars().range(' ', '~').map(String::valueOf)),
            Tuple.of(2, Arbitraries.chars().range('¡', 'ÿ').map(String::valueOf)),
            Tuple.of(1, Arbitraries.chars().range('一', '龥').map(String::valueOf)),
            Tuple.of(1, Arbitraries.of("🔑", "😀", "𝄞")));
    Arbitrary<String> line =
        codePoint.list().ofMinSize(MIN_LENGTH).ofMaxSize(24).map(l -> String.join("", l));
    Arbitrary<String> value =
        Arbitraries.frequencyOf(
            Tuple.of(4, line),
            Tuple.of(1, line.list().ofMinSize(2).ofMaxSize(3).map(l -> String.join("\n", l))),
            Tuple.of(1, line.list().ofMinSize(2).ofMaxSize(3).map(l -> String.join("\r\n", l))));
    // A value may begin with the end of the one before (or all of it), so that matches overlap.
    Arbitrary<List<Integer>> overlaps = Arbitraries.integers().between(0, 30).list().ofSize(3);
    return Combinators.combine(value.list().ofMinSize(1).ofMaxSize(3), overlaps)
        .as(
            (values, overlap) -> {
              Map<String, String> secrets = new LinkedHashMap<>();
              String previous = "";
              for (int i = 0; i < values.size(); i++) {
                int[] codePoints = previous.codePoints().toArray();
                int shared = Math.min(overlap.get(i), codePoints.length);
                previous =
                    new String(codePoints, codePoints.length - shared, shared) + values.get(i);
                secrets.put("S" + i, previous);
              }
              return secrets;
            });
  }

  private static Arbitrary<byte[]> pieceWithSecret(List<String> values) {
    Arbitrary<String> value = Arbitraries.of(values);
    Arbitrary<byte[]> around = Arbitraries.bytes().array(byte[].class).ofMaxSize(5);
    Arbitrary<byte[]> base64 =
        Combinators.combine(
                around, value, around, Arbitraries.of(true, false), Arbitraries.of(true, false))
            .as(
                (before, secret, after, urlSafe, padded) -> {
                  Base64.Encoder encoder = urlSafe ? Base64.getUrlEncoder() : Base64.getEncoder();
                  if (!padded) {
                    encoder = encoder.withoutPadding();
                  }
                  return encoder.encode(concat(List.of(before, secret.getBytes(UTF_8), after)));
                });
    Arbitrary<byte[]> urlEncoded =
        Combinators.combine(value, Arbitraries.of(true, false))
            .as(
                (secret, plus) -> {
                  String encoded = URLEncoder.encode(secret, UTF_8);
                  return (plus ? encoded : encoded.replace("+", "%20")).getBytes(UTF_8);
                });
    Arbitrary<byte[]> line =
        value.flatMap(secret -> Arbitraries.of(secret.split("\r?\n"))).map(s -> s.getBytes(UTF_8));
    return Arbitraries.frequencyOf(
        Tuple.of(3, noise(values)),
        Tuple.of(2, value.map(s -> s.getBytes(UTF_8))),
        Tuple.of(2, base64),
        Tuple.of(1, urlEncoded),
        Tuple.of(1, line));
  }

  /** Random bytes, text, and values cut short: output that starts secrets but finishes none. */
  private static Arbitrary<byte[]> noise(List<String> values) {
    Arbitrary<byte[]> truncated =
        Arbitraries.of(values)
            .map(s -> s.getBytes(UTF_8))
            .flatMap(
                bytes ->
                    Arbitraries.integers()
                        .between(0, bytes.length - 1)
                        .map(length -> Arrays.copyOf(bytes, length)));
    return Arbitraries.frequencyOf(
        Tuple.of(2, Arbitraries.bytes().array(byte[].class).ofMaxSize(30)),
        Tuple.of(
            2,
            Arbitraries.strings()
                .alpha()
                .numeric()
                .withChars(" \n+/=%")
                .ofMaxLength(20)
                .map(s -> s.getBytes(UTF_8))),
        Tuple.of(2, truncated));
  }

  private static Arbitrary<List<Integer>> chunkSizes() {
    return Arbitraries.integers().between(1, 40).list().ofMinSize(1).ofMaxSize(8);
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
