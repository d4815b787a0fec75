package io.hodei.store;

import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStream;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The binary form of one {@code log_chunks.data} value: a batch of lines as appended.
 *
 * <pre>
 * byte  format version (1)
 * int   line count
 * per line:
 *   byte  stream (0 stdout, 1 stderr), plus 0x80 when no newline followed the data
 *   long  epoch second of the line's instant
 *   int   nanosecond of that second
 *   int   length of the data
 *   byte[length] data, as the process wrote it (any bytes, possibly none)
 * </pre>
 *
 * Big-endian (as {@code DataOutputStream} writes, which earlier versions of this class used). Sequence and attempt numbers live in the row, not
 * here. A future format gets a new version byte; readers refuse versions they do not know.
 */
final class LogChunkCodec {
  static final byte FORMAT_V1 = 1;
  /** In a line's stream byte: no newline followed it. Chunks written before it have it clear. */
  private static final int NO_NEWLINE = 0x80;

  private LogChunkCodec() {}

  static byte[] encode(List<LogLine> lines) {
    int size = 5;
    for (LogLine line : lines) {
      size += 17 + line.data().length;
    }
    // One exact-size array written in place: no stream layers, no growing, no final copy.
    ByteBuffer out = ByteBuffer.allocate(size); // big-endian, as the format says
    out.put(FORMAT_V1);
    out.putInt(lines.size());
    for (LogLine line : lines) {
      out.put((byte) (line.stream().ordinal() | (line.noNewline() ? NO_NEWLINE : 0)));
      out.putLong(line.at().getEpochSecond());
      out.putInt(line.at().getNano());
      out.putInt(line.data().length);
      out.put(line.data());
    }
    return out.array();
  }

  /** The chunk's lines, numbered from {@code firstSequence}, all of {@code attempt}. */
  static List<LogLine> decode(byte[] data, long firstSequence, int attempt) {
    try {
      ByteBuffer in = ByteBuffer.wrap(data);
      byte version = in.get();
      if (version != FORMAT_V1) {
        throw new IllegalStateException("log chunk has unknown format version " + version);
      }
      int count = in.getInt();
      if (count < 0 || count > in.remaining() / 17) {
        throw new IllegalStateException("log chunk at sequence " + firstSequence + " is corrupt: " + count + " lines");
      }
      LogStream[] streams = LogStream.values();
      List<LogLine> lines = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        int flags = Byte.toUnsignedInt(in.get());
        LogStream stream = streams[flags & ~NO_NEWLINE];
        Instant at = Instant.ofEpochSecond(in.getLong(), in.getInt());
        byte[] line = new byte[in.getInt()];
        in.get(line);
        lines.add(new LogLine(firstSequence + i, attempt, stream, line, at, (flags & NO_NEWLINE) != 0));
      }
      return lines;
    } catch (java.nio.BufferUnderflowException
        | ArrayIndexOutOfBoundsException
        | NegativeArraySizeException
        | java.time.DateTimeException e) {
      throw new IllegalStateException("log chunk at sequence " + firstSequence + " is corrupt", e);
    }
  }
}
