package io.hodei.worker;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A secret as common tools print it: real bytes from {@code base64}, {@code base32}, {@code
 * basenc} and {@code xxd} (run here) or from the JDK's encoders, with text around them. Each test
 * checks that nothing of the secret survives (neither the value nor its encoded text, with line
 * breaks, carriage returns and escape sequences taken out) and that the text around it does.
 */
class RedactorToolOutputTest {

  private static final String NAME = "TOKEN";
  private static final String VALUE = "s3cr3t-Value/with+signs@example:42";
  private static final String MASK = "[REDACTED:" + NAME + "]";
  private static final Redactor REDACTOR = Redactor.of(Map.of(NAME, VALUE), 8);

  /**
   * 45 bytes before the value: its base64 begins in column 61 at offset 0 of a 3-byte group, and
   * crosses the line break at 64 or 76 columns.
   */
  private static final String BEFORE = "user=admin;note=" + "x".repeat(22) + ";token=";

  private static final String AFTER =
      ";expires=2031-01-01;scope=deploy:all;region=eu-west-1;owner=platform-team";

  @Test
  void base64WrappedAt76ColumnsIsMaskedOnBothLinesOfTheBreak() throws Exception {
    byte[] printed = run(BEFORE + VALUE + AFTER, "base64");
    List<String> lines = printed(printed).lines().toList();
    assertThat(lines.get(0)).hasSize(76);

    String redacted = redactEveryWay(printed);

    List<String> redactedLines = redacted.lines().toList();
    assertThat(redactedLines).hasSameSizeAs(lines);
    assertThat(redactedLines.get(0)).isEqualTo(lines.get(0).substring(0, 60) + MASK);
    assertThat(redactedLines.get(1)).startsWith(MASK);
    assertThat(redacted).endsWith(lines.getLast().substring(lines.getLast().length() - 20) + "\n");
    assertNothingOfTheSecret(redacted, base64(VALUE));
  }

  @Test
  void base64WrappedAt64ColumnsAsOpensslPrintsItIsMasked() throws Exception {
    assertWrappedBase64IsMasked(Base64.getMimeEncoder(64, "\n".getBytes(UTF_8)), "\n");
  }

  @Test
  void mimeBase64WithCarriageReturnsIsMasked() throws Exception {
    assertWrappedBase64IsMasked(Base64.getMimeEncoder(), "\r\n");
  }

  private static void assertWrappedBase64IsMasked(Base64.Encoder encoder, String lineBreak)
      throws InterruptedException {
    String printed = encoder.encodeToString((BEFORE + VALUE + AFTER).getBytes(UTF_8));
    assertThat(printed).contains(lineBreak);

    String redacted = redactEveryWay(printed.getBytes(UTF_8));

    // The carriage return inside the masked span goes with it; the line feed stays.
    assertThat(redacted)
        .startsWith(printed.substring(0, 60) + MASK + lineBreak.replace("\r", "") + MASK);
    assertNothingOfTheSecret(redacted, base64(VALUE));
  }

  @Test
  void base64UrlAsBasencPrintsItIsMasked() throws Exception {
    // '>' and '?' make base64's '+' and '/', which base64url writes as '-' and '_'.
    String value = "s3cr3t>>>???~~~value-" + VALUE;
    Redactor redactor = Redactor.of(Map.of(NAME, value), 8);
    byte[] printed = run(BEFORE + value + AFTER, "basenc", "--base64url");
    assertThat(printed(printed)).contains("Pj4-Pz8_").contains("\n");

    String redacted = redactEveryWay(redactor, printed);

    assertThat(redacted).startsWith(printed(printed).substring(0, 60)).contains(MASK);
    assertNothingOfTheValue(
        redacted,
        value,
        Base64.getUrlEncoder().withoutPadding().encodeToString(value.getBytes(UTF_8)));
  }

  @Test
  void hexAsXxdPrintsItWrappedAt60ColumnsIsMasked() throws Exception {
    byte[] printed = run("id=7;" + VALUE + AFTER, "xxd", "-p");
    assertThat(printed(printed).lines().findFirst().orElseThrow()).hasSize(60);

    String redacted = redactEveryWay(printed);

    assertThat(redacted).startsWith("69643d373b" + MASK).contains(MASK + "\n" + MASK);
    assertNothingOfTheSecret(redacted, HexFormat.of().formatHex(VALUE.getBytes(UTF_8)));
  }

  @Test
  void upperCaseHexIsMasked() throws Exception {
    String hex = HexFormat.of().withUpperCase().formatHex(VALUE.getBytes(UTF_8));

    String redacted = redactEveryWay(("sha input: 0A" + hex + "FF done\n").getBytes(UTF_8));

    assertThat(redacted).isEqualTo("sha input: 0A" + MASK + "FF done\n");
  }

  @Test
  void base32AtEveryOffsetInALongerInputIsMasked() throws Exception {
    for (int offset = 0; offset < 5; offset++) {
      String input = "k".repeat(40 + offset) + VALUE + AFTER;
      byte[] printed = run(input, "base32");

      String redacted = redactEveryWay(printed);

      assertThat(redacted)
          .as("offset %d", offset)
          .startsWith(printed(printed).substring(0, 60))
          .contains(MASK);
      assertNothingOfTheSecret(redacted, runText(VALUE, "base32", "-w0"));
    }
  }

  @Test
  void percentEncodingInEitherCaseWithReservedCharactersLeftAsTheyAreIsMasked()
      throws Exception {
    // "s3cr3t-Value/with+signs@example:42" with '/', '+', '@' and ':' left alone, some letters
    // encoded, in lower- and in upper-case hex.
    String lower = "s3cr3t%2dV%61lue/with+signs@ex%61mple:42";
    String upper = "%73%33%63%72%33%74%2DValue%2Fwith%2Bsigns%40example%3A42";
    String output = "GET /cb?a=" + lower + "&b=" + upper + "&c=1 HTTP/1.1\n";

    String redacted = redactEveryWay(output.getBytes(UTF_8));

    assertThat(redacted).isEqualTo("GET /cb?a=" + MASK + "&b=" + MASK + "&c=1 HTTP/1.1\n");
  }

  @Test
  void jsonStringEscapesOfAnyCharactersAreMasked() throws Exception {
    String value = "pa\"ss\\wo/rd\nSecret";
    Redactor redactor = Redactor.of(Map.of(NAME, value), 8);
    String escaped = "pa\\\"ss\\\\wo\\/rd\\n\\u0053ecr\\u0065t";
    String output = "{\"token\":\"" + escaped + "\",\"ok\":true}\n";

    String redacted = redactEveryWay(redactor, output.getBytes(UTF_8));

    assertThat(redacted).isEqualTo("{\"token\":\"" + MASK + "\",\"ok\":true}\n");
  }

  @Test
  void aValueWithNonAsciiCharactersAsJsonUnicodeEscapesIsMasked() throws Exception {
    Redactor redactor = Redactor.of(Map.of(NAME, "clé-🔑-secrète"), 8);
    String output = "\"cl\\u00e9-\\ud83d\\udd11-secr\\u00E8te\"\n";

    assertThat(redactEveryWay(redactor, output.getBytes(UTF_8))).isEqualTo("\"" + MASK + "\"\n");
  }

  @Test
  void carriageReturnsBetweenTheCharactersAreMasked() throws Exception {
    String output = "progress\r" + String.join("\r", VALUE.split("")) + "\rdone\n";

    String redacted = redactEveryWay(output.getBytes(UTF_8));

    assertThat(redacted).isEqualTo("progress\r" + MASK + "\rdone\n");
  }

  @Test
  void colourCodesAndOtherAnsiSequencesBetweenTheCharactersAreMasked() throws Exception {
    String[] sequences = {
      "\u001b[31m", "\u001b[0m", "\u001b[1;38;5;208m", "\u001b[2K", "\u001b[?25l", "\u001b(B"
    };
    StringBuilder coloured = new StringBuilder();
    for (int i = 0; i < VALUE.length(); i++) {
      coloured.append(sequences[i % sequences.length]).append(VALUE.charAt(i));
    }
    String link = "\u001b]8;;https://example.com/\u0007" + VALUE + "\u001b]8;;\u001b\\";
    String output = "\u001b[1mkey:\u001b[0m " + coloured + "\u001b[0m ok\n" + link + "\n";

    String redacted = redactEveryWay(output.getBytes(UTF_8));

    assertThat(redacted)
        .startsWith("\u001b[1mkey:\u001b[0m \u001b[31m" + MASK)
        .endsWith(MASK + "\u001b]8;;\u001b\\\n")
        .contains("\u001b[0m ok\n\u001b]8;;https://example.com/\u0007");
    assertNothingOfTheSecret(redacted);
  }

  @Test
  void aValueRightAfterAnEscapeThatWouldSwallowItsFirstLetterIsMaskedAsItIs() throws Exception {
    // In the decoded view "ESC [ s" is a sequence and eats the 's'; the raw view still sees it.
    String output = "\u001b[" + VALUE + " and %" + VALUE + "\n";

    assertThat(redactEveryWay(output.getBytes(UTF_8)))
        .isEqualTo("\u001b[" + MASK + " and %" + MASK + "\n");
  }

  @Test
  void anEscapedValueWhoseEdgesMergeWithAnEscapeAroundItIsMaskedButForThoseCharacters()
      throws Exception {
    // Decoded, "%" before "20..." is a space, and "100%" before "20" ends in one.
    Redactor leading = Redactor.of(Map.of(NAME, "20abcdefgh"), 8);
    Redactor trailing = Redactor.of(Map.of(NAME, "secret-value-100%"), 8);

    assertThat(redactEveryWay(leading, "%20abc\\u0064efgh\n".getBytes(UTF_8)))
        .isEqualTo("%20" + MASK + "\n");
    assertThat(redactEveryWay(trailing, "secret\\u002dvalue-100%20 more\n".getBytes(UTF_8)))
        .isEqualTo(MASK + "%20 more\n");
  }

  @Test
  void ordinaryTextWithEscapesPercentSignsAndEncodedLinesPassesUnchanged() throws Exception {
    String output =
        "100% done, 50%2 left \\n not json \\u12 \\ud800 \u001b[1mbold\u001b[0m\r\n"
            + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=\nABCDEF0123456789abcdef\n\u001b]0;title";

    assertThat(redactEveryWay(output.getBytes(UTF_8))).isEqualTo(output);
  }

  @Test
  void endlessEscapeSequencesInsideACandidateDoNotGrowWhatIsHeldBack() throws Exception {
    Redactor.Filter filter = REDACTOR.newFilter();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Redactor.Sink sink = (bytes, offset, length) -> out.write(bytes, offset, length);
    byte[] start = VALUE.substring(0, 10).getBytes(UTF_8);
    byte[] colour = "\u001b[0m".getBytes(UTF_8);
    ByteArrayOutputStream all = new ByteArrayOutputStream();

    filter.write(start, 0, start.length, sink);
    all.write(start);
    int mostHeld = 0;
    for (int i = 0; i < 100_000; i++) {
      filter.write(colour, 0, colour.length, sink);
      all.write(colour);
      mostHeld = Math.max(mostHeld, filter.heldBack());
    }
    filter.finish(sink);

    int longest = REDACTOR.patterns().stream().mapToInt(p -> p.bytes().length).max().orElseThrow();
    assertThat(mostHeld)
        .isPositive()
        .isLessThanOrEqualTo(8 * longest + 256 + Normalizer.MAX_PENDING);
    assertThat(out.toByteArray()).isEqualTo(all.toByteArray());
  }

  // --- helpers ---

  private static String redactEveryWay(byte[] printed) throws InterruptedException {
    return redactEveryWay(REDACTOR, printed);
  }

  /**
   * Redacts in one write, one byte at a time, and cut in two at every position; all must agree.
   */
  private static String redactEveryWay(Redactor redactor, byte[] printed)
      throws InterruptedException {
    String whole = redact(redactor, printed, List.of(printed.length));
    List<Integer> bytes = new ArrayList<>();
    for (int i = 1; i <= printed.length; i++) {
      bytes.add(1);
    }
    assertThat(redact(redactor, printed, bytes)).as("byte by byte").isEqualTo(whole);
    for (int cut = 1; cut < printed.length; cut++) {
      assertThat(redact(redactor, printed, List.of(cut, printed.length - cut)))
          .as("cut at %d", cut)
          .isEqualTo(whole);
    }
    return whole;
  }

  private static String redact(Redactor redactor, byte[] printed, List<Integer> writes)
      throws InterruptedException {
    Redactor.Filter filter = redactor.newFilter();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    Redactor.Sink sink = (bytes, offset, length) -> out.write(bytes, offset, length);
    int at = 0;
    for (int size : writes) {
      // A fresh array per write, as a pipe read would give.
      byte[] read = java.util.Arrays.copyOfRange(printed, at, at + size);
      filter.write(read, 0, size, sink);
      at += size;
    }
    filter.finish(sink);
    return out.toString(UTF_8);
  }

  /** Neither the value nor any encoded form of it, once line breaks and escapes are taken out. */
  private static void assertNothingOfTheSecret(String redacted, String... encoded) {
    assertNothingOfTheValue(redacted, VALUE, encoded);
  }

  private static void assertNothingOfTheValue(String redacted, String value, String... encoded) {
    String csi = "\u001b\\[[0-?]*[ -/]*[@-~]";
    String osc = "\u001b\\][^\u0007\u001b]*(\u0007|\u001b\\\\)";
    String flat = redacted.replaceAll(csi + "|" + osc + "|\u001b\\(.", "");
    flat = flat.replace("\r", "").replace("\n", "").replace(MASK, "\u0000");
    assertThat(flat).doesNotContain(value);
    for (String form : encoded) {
      // Any 12 consecutive characters of the encoded value would give part of it away.
      for (int i = 0; i + 12 <= form.length(); i++) {
        assertThat(flat).doesNotContain(form.substring(i, i + 12));
      }
    }
    for (byte[] form : Redactor.patternsOf(value, 8)) {
      assertThat(flat).doesNotContain(new String(form, UTF_8));
    }
  }

  private static String base64(String value) {
    return Base64.getEncoder().withoutPadding().encodeToString(value.getBytes(UTF_8));
  }

  private static String printed(byte[] bytes) {
    return new String(bytes, UTF_8);
  }

  /** What {@code command} prints for {@code input} on its stdin. */
  private static byte[] run(String input, String... command)
      throws IOException, InterruptedException {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try (OutputStream stdin = process.getOutputStream()) {
      stdin.write(input.getBytes(UTF_8));
    }
    byte[] output = process.getInputStream().readAllBytes();
    assertThat(process.waitFor()).as("%s: %s", List.of(command), printed(output)).isZero();
    return output;
  }

  private static String runText(String input, String... command)
      throws IOException, InterruptedException {
    return printed(run(input, command)).strip();
  }
}
