package io.hodei.store;

import io.hodei.core.log.LogLine;
import io.hodei.core.log.LogStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
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
 *   byte  stream (0 stdout, 1 stderr)
 *   long  epoch second of the line's instant
 *   int   nanosecond of that second
 *   int   length of the data
 *   byte[length] data, as the process wrote it (any bytes, possibly none)
 * </pre>
 *
 * Big-endian, as {@link DataOutputStream} writes. Sequence and attempt numbers live in the row, not
 * here. A future format gets a new version byte; readers refuse versions they do not know.
 */
final class LogChunkCodec {
  static final byte FORMAT_V1 = 1;

  private LogChunkCodec() {}

  static byte[] encode(List<LogLine> lines) {
    int size = 5;
    for (LogLine line : lines) {
      size += 17 + line.data().length;
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(size);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeByte(FORMAT_V1);
      out.writeInt(lines.size());
      for (LogLine line : lines) {
        out.writeByte(line.stream().ordinal());
        out.writeLong(line.at().getEpochSecond());
        out.writeInt(line.at().getNano());
        out.writeInt(line.data().length);
        out.write(line.data());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return bytes.toByteArray();
  }

  /** The chunk's lines, numbered from {@code firstSequence}, all of {@code attempt}. */
  static List<LogLine> decode(byte[] data, long firstSequence, int attempt) {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
      byte version = in.readByte();
      if (version != FORMAT_V1) {
        throw new IllegalStateException("log chunk has unknown format version " + version);
      }
      int count = in.readInt();
      List<LogLine> lines = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        LogStream stream = LogStream.values()[in.readUnsignedByte()];
        Instant at = Instant.ofEpochSecond(in.readLong(), in.readInt());
        byte[] line = new byte[in.readInt()];
        in.readFully(line);
        lines.add(new LogLine(firstSequence + i, attempt, stream, line, at));
      }
      return lines;
    } catch (IOException | ArrayIndexOutOfBoundsException | NegativeArraySizeException e) {
      throw new IllegalStateException("log chunk at sequence " + firstSequence + " is corrupt", e);
    }
  }
}
