package io.hodei.worker;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RedactorTest {

  private static final int MIN_LENGTH = 8;

  /** Collects everything a filter passes on. */
  private static final class Collected implements Redactor.Sink {
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    final List<byte[]> arrays = new ArrayList<>();

    @Override
    public void accept(byte[] array, int offset, int length) {
      arrays.add(array);
      bytes.write(array, offset, length);
    }

    String text() {
      return bytes.toString(UTF_8);
    }
  }

  private static Redactor redactor(Map<String, String> secrets) {
    return Redactor.of(secrets, MIN_LENGTH);
  }

  /** Writes {@code output} cut at the given positions, then finishes. */
  private static String redact(Redactor redactor, String output, int... cuts)
      throws InterruptedException {
    byte[] bytes = output.getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();
    int from = 0;
    for (int cut : cuts) {
      filter.write(bytes, from, cut - from, collected);
      from = cut;
    }
    filter.write(bytes, from, bytes.length - from, collected);
    filter.finish(collected);
    return collected.text();
  }

  private static String redactByteByByte(Redactor redactor, String output)
      throws InterruptedException {
    byte[] bytes = output.getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();
    for (byte b : bytes) {
      filter.write(new byte[] {b}, 0, 1, collected);
    }
    filter.finish(collected);
    return collected.text();
  }

  @Test
  void aValueIsRedactedWhereverTheReadsCutTheOutput() throws InterruptedException {
    Redactor redactor = redactor(Map.of("API_KEY", "s3cr3t-value"));
    String output = "token=s3cr3t-value; done\n";
    int length = output.length();

    for (int first = 0; first <= length; first++) {
      for (int second = first; second <= length; second++) {
        assertThat(redact(redactor, output, first, second))
            .as("cut at %d and %d", first, second)
            .isEqualTo("token=[REDACTED:API_KEY]; done\n");
      }
    }
  }

  @Test
  void aValueWrittenOneByteAtATimeIsRedacted() throws InterruptedException {
    Redactor redactor = redactor(Map.of("API_KEY", "s3cr3t-välue"));

    assertThat(redactByteByByte(redactor, "key: s3cr3t-välue!\n"))
        .isEqualTo("key: [REDACTED:API_KEY]!\n");
  }

  @Test
  void everyOccurrenceOnALineIsReplaced() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));

    assertThat(redact(redactor, "a hunter2-is-secret b hunter2-is-secrethunter2-is-secret c\n"))
        .isEqualTo("a [REDACTED:TOKEN] b [REDACTED:TOKEN][REDACTED:TOKEN] c\n");
  }

  @Test
  void theStandardAndUrlSafeBase64FormsAreRedacted() throws InterruptedException {
    String value = ">>>???s3cr3t";
    Redactor redactor = redactor(Map.of("TOKEN", value));
    assertThat(Base64.getEncoder().encodeToString(value.getBytes(UTF_8)))
        .isEqualTo("Pj4+Pz8/czNjcjN0");
    assertThat(Base64.getUrlEncoder().encodeToString(value.getBytes(UTF_8)))
        .isEqualTo("Pj4-Pz8_czNjcjN0");

    assertThat(redact(redactor, "std=Pj4+Pz8/czNjcjN0 url=Pj4-Pz8_czNjcjN0\n"))
        .isEqualTo("std=[REDACTED:TOKEN] url=[REDACTED:TOKEN]\n");
  }

  @Test
  void base64OfTheValueAloneIsRedactedUpToItsPadding() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));

    // echo -n hunter2-is-secret | base64, and the same with echo's newline.
    assertThat(redact(redactor, "aHVudGVyMi1pcy1zZWNyZXQ=\naHVudGVyMi1pcy1zZWNyZXQK\n"))
        .isEqualTo("[REDACTED:TOKEN]=\n[REDACTED:TOKEN]K\n");
  }

  @Test
  void base64OfTheValueAtEachOffsetInsideALongerInputIsRedacted() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));

    // base64 of "bob:", "user:" and "admin:" + value (offsets 1, 2 and 0 in a 3-byte group), each
    // once ending the input and once followed by "@home". Characters that mix the value's bits
    // with another byte's stay.
    assertThat(redact(redactor, "Ym9iOmh1bnRlcjItaXMtc2VjcmV0"))
        .isEqualTo("Ym9iOm[REDACTED:TOKEN]");
    assertThat(redact(redactor, "Ym9iOmh1bnRlcjItaXMtc2VjcmV0QGhvbWU="))
        .isEqualTo("Ym9iOm[REDACTED:TOKEN]QGhvbWU=");
    assertThat(redact(redactor, "dXNlcjpodW50ZXIyLWlzLXNlY3JldA=="))
        .isEqualTo("dXNlcjp[REDACTED:TOKEN]==");
    assertThat(redact(redactor, "dXNlcjpodW50ZXIyLWlzLXNlY3JldEBob21l"))
        .isEqualTo("dXNlcjp[REDACTED:TOKEN]EBob21l");
    assertThat(redact(redactor, "YWRtaW46aHVudGVyMi1pcy1zZWNyZXQ="))
        .isEqualTo("YWRtaW46[REDACTED:TOKEN]=");
    assertThat(redact(redactor, "YWRtaW46aHVudGVyMi1pcy1zZWNyZXRAaG9tZQ=="))
        .isEqualTo("YWRtaW46[REDACTED:TOKEN]RAaG9tZQ==");
  }

  @Test
  void bothUrlEncodedFormsAreRedacted() throws InterruptedException {
    Redactor redactor = redactor(Map.of("PASSWORD", "p@ss word&key=a/b"));

    String output = "GET /login?pw=p%40ss+word%26key%3Da%2Fb&next=p%40ss%20word%26key%3Da%2Fb\n";

    assertThat(redact(redactor, output))
        .isEqualTo("GET /login?pw=[REDACTED:PASSWORD]&next=[REDACTED:PASSWORD]\n");
  }

  @Test
  void aMultiLineValueIsRedactedWholeAndLineByLineKeepingItsLineBreaks()
      throws InterruptedException {
    String key =
        "-----BEGIN TEST KEY-----\n"
            + "MIIBOgIBAAJBAKj34GkxFhD9\n"
            + "0x3kqvTuqs+1ZwFa6sJwRBGD\n"
            + "-----END TEST KEY-----";
    Redactor redactor = redactor(Map.of("KEY", key));
    String fourLines = "[REDACTED:KEY]\n".repeat(4);

    assertThat(redact(redactor, "key:\n" + key + "\ndone\n"))
        .isEqualTo("key:\n" + fourLines + "done\n");
    assertThat(redactByteByByte(redactor, "key:\n" + key + "\ndone\n"))
        .isEqualTo("key:\n" + fourLines + "done\n");
    assertThat(redact(redactor, "line: 0x3kqvTuqs+1ZwFa6sJwRBGD\n"))
        .isEqualTo("line: [REDACTED:KEY]\n");
    // The replacement keeps the line feeds; the carriage returns inside it go.
    assertThat(redact(redactor, key.replace("\n", "\r\n") + "\r\n"))
        .isEqualTo("[REDACTED:KEY]\n".repeat(3) + "[REDACTED:KEY]\r\n");
  }

  @Test
  void aLineShorterThanTheMinimumIsRedactedOnlyWithinTheWholeValue()
      throws InterruptedException {
    Redactor redactor = redactor(Map.of("KEY", "abc\r\nlong-enough-line"));

    assertThat(redact(redactor, "abc\r\nlong-enough-line\n"))
        .isEqualTo("[REDACTED:KEY]\n[REDACTED:KEY]\n");
    // Without its carriage return the value is still the value.
    assertThat(redact(redactor, "abc\nlong-enough-line\n"))
        .isEqualTo("[REDACTED:KEY]\n[REDACTED:KEY]\n");
    assertThat(redact(redactor, "abc\nlong-enough\n")).isEqualTo("abc\nlong-enough\n");
  }

  @Test
  void whenOneValueIsAPrefixOfAnotherTheLongerMatchWins() throws InterruptedException {
    Redactor redactor = redactor(Map.of("SHORT", "abcdefgh", "LONG", "abcdefghijkl"));
    String output = "abcdefgh abcdefghijkl abcdefghij\n";
    String expected = "[REDACTED:SHORT] [REDACTED:LONG] [REDACTED:SHORT]ij\n";

    assertThat(redact(redactor, output)).isEqualTo(expected);
    assertThat(redactByteByByte(redactor, output)).isEqualTo(expected);
  }

  @Test
  void ofOverlappingMatchesTheEarliestStartWinsEvenIfALaterOneIsLonger()
      throws InterruptedException {
    Redactor redactor = redactor(Map.of("A", "xxabcd1234", "B", "abcd1234yyyyyyyy"));

    assertThat(redact(redactor, "xxabcd1234yyyyyyyy\n")).isEqualTo("[REDACTED:A]yyyyyyyy\n");
  }

  @Test
  void aLaterMatchIsKeptWhileAnEarlierStartingOneFails() throws InterruptedException {
    Redactor redactor = redactor(Map.of("A", "abcdefghijk", "B", "bcdefghi"));

    assertThat(redact(redactor, "abcdefghijZ")).isEqualTo("a[REDACTED:B]jZ");
    assertThat(redact(redactor, "abcdefghijk")).isEqualTo("[REDACTED:A]");
    assertThat(redactByteByByte(redactor, "abcdefghijZ")).isEqualTo("a[REDACTED:B]jZ");
  }

  @Test
  void aMatchInsideTheTailOfALongerFailedCandidateIsFound() throws InterruptedException {
    // "abcdefghij" is held as a prefix of A while B completes inside it and C starts after B;
    // A fails at 'Z', and C goes on to complete.
    Redactor redactor =
        redactor(Map.of("A", "abcdefghijkl", "B", "abcdefgh", "C", "ijZyxwvu"));

    assertThat(redact(redactor, "abcdefghijZyxwvu.")).isEqualTo("[REDACTED:B][REDACTED:C].");
    assertThat(redactByteByByte(redactor, "abcdefghijZyxwvu."))
        .isEqualTo("[REDACTED:B][REDACTED:C].");
  }

  @Test
  void aShorterMatchEndingWithALongerOneIsFoundWhenTheLongerOneIsCovered()
      throws InterruptedException {
    // While L is held, B and C both end at 'H'. A then wins at 0 and covers B's start, so C is
    // the match after it.
    Redactor redactor =
        redactor(
            Map.of(
                "L", "0123456789ABCDEFGHXY",
                "A", "0123456789",
                "B", "6789ABCDEFGH",
                "C", "ABCDEFGH"));

    assertThat(redact(redactor, "0123456789ABCDEFGH!")).isEqualTo("[REDACTED:A][REDACTED:C]!");
    assertThat(redactByteByByte(redactor, "0123456789ABCDEFGH!"))
        .isEqualTo("[REDACTED:A][REDACTED:C]!");
  }

  @Test
  void afterAMatchOnlyWhatMayStartAnotherIsHeldBack() throws InterruptedException {
    // B starts inside A; once A is replaced, B cannot match, so "xy" need not wait.
    Redactor redactor = redactor(Map.of("A", "0123ABCD", "B", "ABCDxyzxyz"));
    byte[] output = "0123ABCDxyzxyz".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, 10, collected);
    assertThat(collected.text()).isEqualTo("[REDACTED:A]xy");
    assertThat(filter.heldBack()).isZero();
    filter.write(output, 10, 4, collected);
    filter.finish(collected);

    assertThat(collected.text()).isEqualTo("[REDACTED:A]xyzxyz");
  }

  @Test
  void aCompleteValueThatNothingCanExtendIsNotHeldBack() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    byte[] output = "pw hunter2-is-secret".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, output.length, collected);

    assertThat(collected.text()).isEqualTo("pw [REDACTED:TOKEN]");
    assertThat(filter.heldBack()).isZero();
  }

  @Test
  void outputWithoutSecretsPassesUnchangedByteForByte() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    byte[] output = {
      'h', 'u', 'n', 't', (byte) 0xff, 0, (byte) 0xc3, 0x28, 'h', 'u', 'n', 't', 'e', 'r', '2',
      '\n',
      (byte) 0xed, (byte) 0xa0, (byte) 0x80, '\r', 'h', 'u', 'n'
    };
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, 9, collected);
    filter.write(output, 9, output.length - 9, collected);
    filter.finish(collected);

    assertThat(collected.bytes.toByteArray()).isEqualTo(output);
  }

  @Test
  void withoutSecretsTheCallersArrayIsPassedOnAsItIs() throws InterruptedException {
    byte[] output = "plain output\n".getBytes(ISO_8859_1);
    Redactor.Sink sink =
        (bytes, offset, length) -> {
          assertThat(bytes).isSameAs(output);
          assertThat(offset).isEqualTo(2);
          assertThat(length).isEqualTo(5);
        };

    Redactor.NONE.newFilter().write(output, 2, 5, sink);

    assertThat(Redactor.NONE.isEmpty()).isTrue();
    assertThat(Redactor.of(Map.of("SHORT", "abc"), MIN_LENGTH)).isSameAs(Redactor.NONE);
    assertThat(Redactor.of(Map.of(), MIN_LENGTH).isEmpty()).isTrue();
  }

  @Test
  void aLineWithNoPartialMatchIsPassedOnAtOnceFromTheCallersArray()
      throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    byte[] output = "nothing to hide\n".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, output.length, collected);

    assertThat(collected.text()).isEqualTo("nothing to hide\n");
    assertThat(collected.arrays).containsExactly(output);
    assertThat(filter.heldBack()).isZero();
  }

  @Test
  void onlyTheSuffixThatCouldStartAValueIsHeldBack() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    byte[] output = "the hunter2-is-sec".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, output.length, collected);

    assertThat(collected.text()).isEqualTo("the ");
    assertThat(filter.heldBack()).isEqualTo("hunter2-is-sec".length());
  }

  @Test
  void finishFlushesAHeldBackPrefixThatNeverCompleted() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    byte[] output = "value is hunter2-is".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, output.length, collected);
    assertThat(collected.text()).isEqualTo("value is ");
    filter.finish(collected);

    assertThat(collected.text()).isEqualTo("value is hunter2-is");
    assertThat(filter.heldBack()).isZero();
  }

  @Test
  void finishRedactsAMatchHeldBackForALongerCandidate() throws InterruptedException {
    Redactor redactor = redactor(Map.of("SHORT", "abcdefgh", "LONG", "abcdefghijkl"));
    byte[] output = "x abcdefghij".getBytes(UTF_8);
    Redactor.Filter filter = redactor.newFilter();
    Collected collected = new Collected();

    filter.write(output, 0, output.length, collected);
    assertThat(collected.text()).isEqualTo("x ");
    filter.finish(collected);

    assertThat(collected.text()).isEqualTo("x [REDACTED:SHORT]ij");
  }

  @Test
  void eachStreamHasAFilterOfItsOwn() throws InterruptedException {
    Redactor redactor = redactor(Map.of("TOKEN", "hunter2-is-secret"));
    Redactor.Filter stdout = redactor.newFilter();
    Redactor.Filter stderr = redactor.newFilter();
    Collected out = new Collected();
    Collected err = new Collected();

    stdout.write("out hunter2".getBytes(UTF_8), 0, 11, out);
    stderr.write("err hunter2".getBytes(UTF_8), 0, 11, err);
    stdout.write("-is-secret\n".getBytes(UTF_8), 0, 11, out);
    stderr.write("-is-not\n".getBytes(UTF_8), 0, 8, err);

    assertThat(out.text()).isEqualTo("out [REDACTED:TOKEN]\n");
    assertThat(err.text()).isEqualTo("err hunter2-is-not\n");
  }

  @Test
  void patternsAreTheValueItsEncodingsItsJsonEscapeAndItsLines() {
    List<String> patterns =
        Redactor.patternsOf("ab cd+/é\nline-two-of-it", 8).stream()
            .map(bytes -> new String(bytes, UTF_8))
            .toList();

    assertThat(patterns)
        .contains(
            "ab cd+/é\nline-two-of-it",
            "ab cd+/é",
            "line-two-of-it",
            "ab+cd+/é\nline-two-of-it",
            "ab cd+/é\\nline-two-of-it",
            "YWIgY2QrL8OpCmxpbmUtdHdvLW9mLWl0",
            "FiIGNkKy_DqQpsaW5lLXR3by1vZi1pdA",
            "FiIGNkKy/DqQpsaW5lLXR3by1vZi1pd",
            "FiIGNkKy/DqQpsaW5lLXR3by1vZi1pdA",
            "hYiBjZCsvw6kKbGluZS10d28tb2YtaX",
            "hYiBjZCsvw6kKbGluZS10d28tb2YtaXQ",
            "61622063642b2fc3a90a6c696e652d74776f2d6f662d6974",
            "61622063642B2FC3A90A6C696E652D74776F2D6F662D6974",
            // printf '%s' "$value" | base32, without its padding
            "MFRCAY3EFMX4HKIKNRUW4ZJNOR3W6LLPMYWWS5A")
        .doesNotHaveDuplicates()
        .allSatisfy(
            pattern -> assertThat(pattern.getBytes(UTF_8).length).isGreaterThanOrEqualTo(8));
  }

  @Test
  void derivedFormsShorterThanTheMinimumAreNotPatterns() {
    List<String> patterns =
        Redactor.patternsOf("8bytes!!", 11).stream()
            .map(bytes -> new String(bytes, UTF_8))
            .toList();

    // The value itself (8 bytes) is too short; its hex (16 characters) is not.
    assertThat(patterns)
        .isNotEmpty()
        .doesNotContain("8bytes!!")
        .contains("3862797465732121")
        .allSatisfy(pattern -> assertThat(pattern.length()).isGreaterThanOrEqualTo(11));
  }

  @Test
  void theJsonEscapedFormThatCatOfStdinPrintsIsRedactedToo() throws Exception {
    String value = "pa\"ss\\word-1";
    Redactor redactor = redactor(Map.of("PASS", value));
    String stdinAsPrinted = new String(SecretsJson.encode(Map.of("PASS", value)), java.nio.charset.StandardCharsets.UTF_8);

    assertThat(redact(redactor, stdinAsPrinted)).isEqualTo("{\"PASS\":\"[REDACTED:PASS]\"}\n");
  }
}
