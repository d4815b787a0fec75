package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class LogChunkCodecTest {
  private static final Instant AT = Instant.parse("2026-11-27T05:00:00.123456789Z");

  @Test
  void linesComeBackExactlyWithTheChunksNumbering() {
    List<LogLine> lines =
        List.of(
            new LogLine(7, 2, LogStream.STDOUT, "hello".getBytes(), AT),
            new LogLine(8, 2, LogStream.STDERR, new byte[0], AT.plusNanos(1)),
            new LogLine(9, 2, LogStream.STDOUT, new byte[] {(byte) 0xff, 0, '\r'}, AT.minusSeconds(5)));

    List<LogLine> back = LogChunkCodec.decode(LogChunkCodec.encode(lines), 100, 3);

    assertThat(back).hasSize(3);
    for (int i = 0; i < 3; i++) {
      assertThat(back.get(i).sequence()).isEqualTo(100 + i);
      assertThat(back.get(i).attempt()).isEqualTo(3);
      assertThat(back.get(i).stream()).isEqualTo(lines.get(i).stream());
      assertThat(back.get(i).data()).isEqualTo(lines.get(i).data());
      assertThat(back.get(i).at()).isEqualTo(lines.get(i).at());
    }
  }

  /** The byte layout is the one stored chunks already have: what DataOutputStream wrote. */
  @Test
  void theFormatIsUnchanged() throws Exception {
    var line = new LogLine(0, 1, LogStream.STDERR, "ab".getBytes(), AT);
    var expected = new ByteArrayOutputStream();
    try (var out = new DataOutputStream(expected)) {
      out.writeByte(1);
      out.writeInt(1);
      out.writeByte(1);
      out.writeLong(AT.getEpochSecond());
      out.writeInt(AT.getNano());
      out.writeInt(2);
      out.write("ab".getBytes());
    }

    assertThat(LogChunkCodec.encode(List.of(line))).isEqualTo(expected.toByteArray());
  }

  @Test
  void whetherANewlineFollowedALineComesBackAndOldChunksReadAsFollowedByOne() {
    List<LogLine> lines =
        List.of(
            new LogLine(0, 1, LogStream.STDOUT, "piece".getBytes(), AT, true),
            new LogLine(1, 1, LogStream.STDERR, "end".getBytes(), AT, true),
            new LogLine(2, 1, LogStream.STDERR, "line".getBytes(), AT, false));

    byte[] chunk = LogChunkCodec.encode(lines);
    List<LogLine> back = LogChunkCodec.decode(chunk, 0, 1);

    assertThat(back).extracting(LogLine::noNewline).containsExactly(true, true, false);
    assertThat(back).extracting(LogLine::stream).containsExactly(LogStream.STDOUT, LogStream.STDERR, LogStream.STDERR);
    // The flag is the stream byte's high bit: a chunk written before it existed has it clear.
    assertThat(chunk[5]).isEqualTo((byte) 0x80);
    assertThat(chunk[5 + 17 + 5]).isEqualTo((byte) 0x81);
  }

  @Test
  void aTruncatedOrUnknownChunkIsRefused() {
    byte[] chunk =
        LogChunkCodec.encode(List.of(new LogLine(0, 1, LogStream.STDOUT, "hello".getBytes(), AT)));

    assertThatThrownBy(() -> LogChunkCodec.decode(Arrays.copyOf(chunk, chunk.length - 1), 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("corrupt");
    byte[] future = chunk.clone();
    future[0] = 2;
    assertThatThrownBy(() -> LogChunkCodec.decode(future, 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("version");
    byte[] hugeCount = chunk.clone();
    hugeCount[1] = 0x7f;
    assertThatThrownBy(() -> LogChunkCodec.decode(hugeCount, 0, 1))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("corrupt");
  }
}
