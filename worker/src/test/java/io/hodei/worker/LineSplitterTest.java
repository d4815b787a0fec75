package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineSplitterTest {
  private final List<byte[]> lines = new ArrayList<>();

  private LineSplitter splitter(int maxLineBytes) {
    return new LineSplitter(
        maxLineBytes,
        (bytes, offset, length) -> lines.add(Arrays.copyOfRange(bytes, offset, offset + length)));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(StandardCharsets.ISO_8859_1);
  }

  private List<String> text() {
    return lines.stream().map(b -> new String(b, StandardCharsets.ISO_8859_1)).toList();
  }

  private static void feed(LineSplitter splitter, String chunk) throws InterruptedException {
    byte[] data = bytes(chunk);
    splitter.feed(data, 0, data.length);
  }

  @Test
  void linesAreCutOnNewlinesWhichAreDropped() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    feed(splitter, "one\ntwo\nthree\n");
    splitter.finish();

    assertThat(text()).containsExactly("one", "two", "three");
  }

  @Test
  void aLineSplitAcrossReadsComesOutWhole() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    feed(splitter, "hel");
    feed(splitter, "lo wo");
    assertThat(lines).isEmpty();
    feed(splitter, "rld\nnext");
    splitter.finish();

    assertThat(text()).containsExactly("hello world", "next");
  }

  @Test
  void aCarriageReturnBeforeTheNewlineIsKept() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    feed(splitter, "windows\r\nline\r\n");
    splitter.finish();

    assertThat(lines).containsExactly(bytes("windows\r"), bytes("line\r"));
  }

  @Test
  void anOverlongLineComesOutInPiecesOfTheMaximumLength() throws InterruptedException {
    LineSplitter splitter = splitter(4);

    feed(splitter, "abcdefghij\nxy\n");
    splitter.finish();

    assertThat(text()).containsExactly("abcd", "efgh", "ij", "xy");
  }

  @Test
  void anOverlongLineCutAcrossReadsIsNeverBufferedBeyondTheMaximum() throws InterruptedException {
    LineSplitter splitter = splitter(4);

    feed(splitter, "ab");
    feed(splitter, "cdef");
    assertThat(text()).containsExactly("abcd");
    feed(splitter, "ghijk");
    assertThat(text()).containsExactly("abcd", "efgh");
    feed(splitter, "\n");
    splitter.finish();

    assertThat(text()).containsExactly("abcd", "efgh", "ijk");
  }

  @Test
  void aLineOfExactlyTheMaximumLengthIsOneLine() throws InterruptedException {
    LineSplitter splitter = splitter(4);

    feed(splitter, "abcd\nef");
    feed(splitter, "gh");
    feed(splitter, "\nijkl");
    splitter.finish();

    assertThat(text()).containsExactly("abcd", "efgh", "ijkl");
  }

  @Test
  void aFinalLineWithoutNewlineComesOutAtTheEnd() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    feed(splitter, "first\nlast");
    assertThat(text()).containsExactly("first");
    splitter.finish();

    assertThat(text()).containsExactly("first", "last");
  }

  @Test
  void emptyLinesAreLinesButNothingAfterTheLastNewlineIsNot() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    feed(splitter, "\n\na\n\n");
    splitter.finish();

    assertThat(text()).containsExactly("", "", "a", "");
  }

  @Test
  void noInputMeansNoLines() throws InterruptedException {
    LineSplitter splitter = splitter(64);

    splitter.finish();

    assertThat(lines).isEmpty();
  }

  @Test
  void binaryBytesPassThroughUnchanged() throws InterruptedException {
    LineSplitter splitter = splitter(64);
    byte[] data = {0, (byte) 0xff, (byte) 0xc3, 0x28, '\r', 7, '\n', (byte) 0x80, 0};

    splitter.feed(data, 0, data.length);
    splitter.finish();

    assertThat(lines).containsExactly(
        new byte[] {0, (byte) 0xff, (byte) 0xc3, 0x28, '\r', 7}, new byte[] {(byte) 0x80, 0});
  }

  @Test
  void onlyTheGivenRangeOfTheBufferIsRead() throws InterruptedException {
    LineSplitter splitter = splitter(64);
    byte[] data = bytes("XXab\ncdYY");

    splitter.feed(data, 2, 5);
    splitter.finish();

    assertThat(text()).containsExactly("ab", "cd");
  }

  @Test
  void oneByteAtATimeGivesTheSameLines() throws InterruptedException {
    LineSplitter splitter = splitter(3);
    byte[] data = bytes("abcdefg\n\nhi\r\nj");

    for (int i = 0; i < data.length; i++) {
      splitter.feed(data, i, 1);
    }
    splitter.finish();

    assertThat(text()).containsExactly("abc", "def", "g", "", "hi\r", "j");
  }

  /** Each piece, with "\\n" after it where the input had a newline there. */
  private static String joined(int maxLineBytes, String... chunks) throws InterruptedException {
    var out = new StringBuilder();
    var pieces = new StringBuilder();
    LineSplitter splitter =
        new LineSplitter(maxLineBytes, (LineSplitter.PieceSink) (bytes, offset, length, newline) -> {
          String piece = new String(bytes, offset, length, StandardCharsets.UTF_8);
          out.append(piece).append(newline ? "\n" : "");
          pieces.append('[').append(piece).append(newline ? "|nl" : "").append(']');
        });
    for (String chunk : chunks) {
      feed(splitter, chunk);
    }
    splitter.finish();
    return pieces + " " + out.toString().replace("\n", "\\n");
  }

  @Test
  void eachPieceSaysWhetherANewlineFollowedItSoTheInputCanBeRebuilt() throws InterruptedException {
    assertThat(joined(4, "ab\ncd")).isEqualTo("[ab|nl][cd] ab\\ncd");
    assertThat(joined(4, "abcdefghij\n")).isEqualTo("[abcd][efgh][ij|nl] abcdefghij\\n");
    assertThat(joined(4, "abcd\n")).isEqualTo("[abcd|nl] abcd\\n");
    assertThat(joined(4, "ab", "cd", "\n")).isEqualTo("[abcd|nl] abcd\\n");
    assertThat(joined(4, "ab", "cd", "e")).isEqualTo("[abcd][e] abcde");
    assertThat(joined(4, "abcd")).isEqualTo("[abcd] abcd");
    assertThat(joined(4, "\n\n")).isEqualTo("[|nl][|nl] \\n\\n");
  }
}
