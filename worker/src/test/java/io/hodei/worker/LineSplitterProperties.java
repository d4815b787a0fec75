package io.hodei.worker;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A job's output, cut into pieces on the worker and joined again by whoever prints it: any bytes
 * (long lines past the piece size, {@code \r}, NULs, invalid UTF-8, binary, with or without a
 * final newline), read in any chunks, go through {@link LineSplitter} and {@link LogBatcher} into
 * the {@code LogLine}s the worker sends; joining their data, each followed by a newline unless
 * {@code no_newline} is set (what {@code hodei logs} does, see the CLI's {@code
 * LogFollowerProperties}), gives back the input byte for byte. Every piece is at most the piece
 * size, holds no newline, and is a whole piece unless a newline or the end of the input follows
 * it; the legacy {@link LineSplitter.LineSink} sees the same pieces.
 *
 * <p>The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code
 * LineSplitterPropertiesInputs/<method>/} in the test resources, the same every run. {@code
 * anyBytes…} takes its input as the output, each cut at 5 piece sizes and read in 4 chunk sizes:
 * 6 hand-written files ({@code text-*}: CRLF lines, a line just over 64 bytes, bytes that are no
 * UTF-8, a last line without newline, NULs and empty lines, a lone {@code \r}) and 40 of {@code
 * head -c 512 /dev/urandom}, so 47 inputs. {@code anyOutput…} draws output with long runs, piece
 * and chunk sizes from its input: 60 files of {@code head -c 512 /dev/urandom}, so 61 inputs.
 * {@code JAZZER_FUZZ=1 ./mvnw test -pl worker -am -Dtest='LineSplitterProperties#…'} fuzzes one
 * of them instead (one fuzz test per JVM); see docs/testing.md.
 */
class LineSplitterProperties {

  record Piece(byte[] bytes, boolean newline) {
    @Override
    public String toString() {
      return "'" + text(bytes) + "'" + (newline ? "\\n" : "");
    }
  }

  /** The input is the output itself, cut at a few piece sizes and read in a few chunk sizes. */
  @FuzzTest
  void anyBytesAreJoinedBackExactly(byte[] output) throws InterruptedException {
    for (int maxLineBytes : List.of(1, 2, 7, 64, 8 * 1024 + 1)) {
      for (int chunk : List.of(1, 5, 64, Math.max(1, output.length))) {
        try {
          joinedBackExactly(output, maxLineBytes, List.of(chunk));
        } catch (AssertionError e) {
          throw new AssertionError(
              "Falsified by piece size %d, chunks of %d\n%s".formatted(maxLineBytes, chunk, e.getMessage()), e);
        }
      }
    }
  }

  /** Output drawn from the input to have long lines, in chunks of several sizes. */
  @FuzzTest
  void anyOutputInAnyChunksIsJoinedBackExactly(FuzzedDataProvider data) throws InterruptedException {
    int maxLineBytes =
        switch (data.consumeInt(0, 3)) {
          case 0 -> data.consumeInt(1, 4);
          case 1 -> data.consumeInt(5, 64);
          case 2 -> data.consumeInt(65, 1000);
          // Past the splitter's initial buffer, so that it grows.
          default -> data.consumeInt(8 * 1024 - 2, 8 * 1024 + 2);
        };
    List<Integer> chunks = new ArrayList<>();
    for (int i = 0, n = data.consumeInt(1, 6); i < n; i++) {
      chunks.add(data.consumeInt(0, data.consumeBoolean() ? 16 : 3 * maxLineBytes + 1));
    }
    byte[] output = output(data, maxLineBytes);
    try {
      joinedBackExactly(output, maxLineBytes, chunks);
    } catch (AssertionError e) {
      throw new AssertionError(
          "Falsified by output '%s' (%d bytes), piece size %d, chunks %s\n%s"
              .formatted(shortened(text(output)), output.length, maxLineBytes, chunks, e.getMessage()),
          e);
    }
  }

  private static void joinedBackExactly(byte[] output, int maxLineBytes, List<Integer> chunks)
      throws InterruptedException {
    List<Piece> pieces = new ArrayList<>();
    List<byte[]> lines = new ArrayList<>();
    List<LogLine> sent = new CopyOnWriteArrayList<>();
    LogBatcher batcher =
        LogBatcher.start(
            "job-1",
            "exec-1",
            // Small batches, so that a piece's flag has to survive batching too.
            new WorkerConfig.LogBatching(maxLineBytes, 64, 3, Duration.ofMinutes(1)),
            batch -> sent.addAll(batch.getLinesList()));
    var at = com.google.protobuf.Timestamp.getDefaultInstance();
    LineSplitter splitter =
        new LineSplitter(
            maxLineBytes,
            (LineSplitter.PieceSink)
                (bytes, offset, length, newline) -> {
                  pieces.add(new Piece(Arrays.copyOfRange(bytes, offset, offset + length), newline));
                  batcher.append(LogStream.LOG_STREAM_STDOUT, at, bytes, offset, length, newline);
                });
    LineSplitter legacy =
        new LineSplitter(
            maxLineBytes,
            (LineSplitter.LineSink) (bytes, offset, length) -> lines.add(Arrays.copyOfRange(bytes, offset, offset + length)));

    // As a pipe reader does: one buffer, reused for every read, the read somewhere inside it.
    byte[] buffer = new byte[3 * maxLineBytes + 40];
    int fed = 0;
    for (int i = 0; fed < output.length; i++) {
      int size = Math.min(chunks.get(i % chunks.size()), output.length - fed);
      if (size == 0 && i >= chunks.size() && chunks.stream().allMatch(c -> c == 0)) {
        size = output.length - fed; // every chunk size is 0: feed the rest at once
      }
      if (buffer.length < size + 16) {
        buffer = new byte[size + 16];
      }
      int offset = size == 0 ? 0 : i % 16;
      // What lies around the read, and what the buffer held before, must not count.
      Arrays.fill(buffer, 0, offset, (byte) '\n');
      Arrays.fill(buffer, offset + size, Math.min(buffer.length, offset + size + 16), (byte) '\n');
      System.arraycopy(output, fed, buffer, offset, size);
      splitter.feed(buffer, offset, size);
      legacy.feed(buffer, offset, size);
      fed += size;
    }
    splitter.finish();
    legacy.finish();
    batcher.close();

    assertThat(text(joined(pieces))).as("the pieces %s joined", pieces).isEqualTo(text(output));
    for (int i = 0; i < pieces.size(); i++) {
      Piece piece = pieces.get(i);
      assertThat(piece.bytes().length).as("piece %d %s", i, piece).isLessThanOrEqualTo(maxLineBytes);
      assertThat(text(piece.bytes())).as("piece %d", i).doesNotContain("\n");
      if (!piece.newline() && i < pieces.size() - 1) {
        assertThat(piece.bytes().length).as("piece %d %s, cut without a newline", i, piece).isEqualTo(maxLineBytes);
      }
    }
    assertThat(lines.stream().map(LineSplitterProperties::text).toList())
        .as("the legacy sink's lines")
        .isEqualTo(pieces.stream().map(p -> text(p.bytes())).toList());

    assertThat(sent).hasSameSizeAs(pieces);
    var fromTheWire = new ByteArrayOutputStream();
    for (int i = 0; i < sent.size(); i++) {
      LogLine line = sent.get(i);
      assertThat(line.getSequence()).isEqualTo(i);
      fromTheWire.writeBytes(line.getData().toByteArray());
      if (!line.getNoNewline()) {
        fromTheWire.write('\n');
      }
    }
    assertThat(text(fromTheWire.toByteArray())).as("the LogLines sent, joined").isEqualTo(text(output));
  }

  private static byte[] joined(List<Piece> pieces) {
    var joined = new ByteArrayOutputStream();
    for (Piece piece : pieces) {
      joined.writeBytes(piece.bytes());
      if (piece.newline()) {
        joined.write('\n');
      }
    }
    return joined.toByteArray();
  }

  /**
   * Pieces of output: random bytes, text with LF and CRLF, empty lines, NULs, bytes that are no
   * UTF-8 (a lone continuation byte, a truncated sequence, 0xFF), and runs of one byte from just
   * under to past three times the piece size.
   */
  private static byte[] output(FuzzedDataProvider data, int maxLineBytes) {
    var output = new ByteArrayOutputStream();
    for (int i = 0, n = data.consumeInt(0, 12); i < n; i++) {
      switch (data.consumeInt(0, 5)) {
        case 0 -> output.writeBytes(data.consumeBytes(data.consumeInt(0, 40)));
        case 1 -> output.writeBytes(data.pickValue(List.of("\n", "\r\n", "\r", "\n\n", "\0", "ok\n")).getBytes(ISO_8859_1));
        case 2 -> output.writeBytes(data.pickValue(List.of(new byte[] {(byte) 0x80}, new byte[] {(byte) 0xE2, (byte) 0x82}, new byte[] {(byte) 0xFF, 0})));
        case 3 -> {
          byte[] run = new byte[Math.max(0, maxLineBytes + data.consumeInt(-2, 2 * maxLineBytes + 2))];
          Arrays.fill(run, data.pickValue(List.of((byte) 'x', (byte) 0, (byte) '\r', (byte) 0xC3)));
          output.writeBytes(run);
        }
        default -> output.writeBytes(data.consumeAsciiString(40).getBytes(ISO_8859_1));
      }
    }
    return output.toByteArray();
  }

  private static String shortened(String text) {
    return text.length() <= 2000 ? text : text.substring(0, 2000) + "...";
  }

  /** Bytes as characters one to one, so that a failure shows every byte and compares exactly. */
  private static String text(byte[] bytes) {
    return new String(bytes, ISO_8859_1);
  }
}
