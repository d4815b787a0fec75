package io.hodei.worker;

import java.util.Arrays;

/**
 * Cuts one stream of bytes into lines on {@code '\n'}. The newline is dropped (a {@link PieceSink}
 * is told whether one followed); every other byte is kept as it came, {@code '\r'} included. A line longer than {@code maxLineBytes} is passed on in
 * pieces of exactly that size (the last piece may be shorter), so no line is ever buffered beyond
 * that bound. {@link #finish()} passes on a last line that had no newline.
 *
 * <p>Lines that lie whole inside one {@link #feed} call are handed over as slices of the caller's
 * buffer, without copying; only a line cut by a read boundary is copied into the splitter's own
 * buffer.
 *
 * <p>Not thread-safe: one reader thread owns one splitter.
 */
final class LineSplitter {

  /** Receives each line. The bytes are only valid during the call. */
  @FunctionalInterface
  interface LineSink {
    void acceptLine(byte[] bytes, int offset, int length) throws InterruptedException;
  }

  /**
   * Receives each piece and whether a newline followed it in the input: false for the pieces of
   * an over-long line but its last, and for a last line that had no newline. Joining the pieces,
   * each followed by a newline where one followed it, gives back the input exactly.
   */
  @FunctionalInterface
  interface PieceSink {
    void accept(byte[] bytes, int offset, int length, boolean newline) throws InterruptedException;
  }

  private static final int INITIAL_PENDING_CAPACITY = 8 * 1024;

  private final int maxLineBytes;
  private final PieceSink sink;
  private byte[] pending = new byte[0];
  private int pendingLength;

  LineSplitter(int maxLineBytes, LineSink sink) {
    this(maxLineBytes, (PieceSink) (bytes, offset, length, newline) -> sink.acceptLine(bytes, offset, length));
  }

  LineSplitter(int maxLineBytes, PieceSink sink) {
    if (maxLineBytes < 1) {
      throw new IllegalArgumentException("maxLineBytes must be positive: " + maxLineBytes);
    }
    this.maxLineBytes = maxLineBytes;
    this.sink = sink;
  }

  /** Consumes {@code length} bytes from {@code bytes[offset]}, passing on every line they end. */
  void feed(byte[] bytes, int offset, int length) throws InterruptedException {
    int end = offset + length;
    int start = offset;
    while (start < end) {
      int newline = indexOfNewline(bytes, start, end);
      if (newline < 0) {
        appendSegment(bytes, start, end, false);
        return;
      }
      appendSegment(bytes, start, newline, true);
      start = newline + 1;
    }
  }

  /** At end of input: passes on the last line if it had no newline. */
  void finish() throws InterruptedException {
    if (pendingLength > 0) {
      emitPending(false);
    }
  }

  private void appendSegment(byte[] bytes, int from, int to, boolean terminated)
      throws InterruptedException {
    int position = from;
    while (true) {
      int remaining = to - position;
      if (pendingLength == 0) {
        while (remaining > maxLineBytes) {
          sink.accept(bytes, position, maxLineBytes, false);
          position += maxLineBytes;
          remaining -= maxLineBytes;
        }
        if (terminated) {
          sink.accept(bytes, position, remaining, true);
        } else {
          keep(bytes, position, remaining);
        }
        return;
      }
      if (remaining == 0) {
        if (terminated) {
          emitPending(true);
        }
        return;
      }
      if (pendingLength == maxLineBytes) {
        // The line goes on past a full piece: that piece is final, and no newline follows it.
        emitPending(false);
        continue;
      }
      int taken = Math.min(maxLineBytes - pendingLength, remaining);
      keep(bytes, position, taken);
      position += taken;
      if (position == to) {
        if (terminated) {
          emitPending(true);
        }
        return;
      }
    }
  }

  private void keep(byte[] bytes, int offset, int length) {
    if (length == 0) {
      return;
    }
    int needed = pendingLength + length;
    if (needed > pending.length) {
      int capacity = Math.max(pending.length, INITIAL_PENDING_CAPACITY);
      while (capacity < needed) {
        capacity *= 2;
      }
      pending = Arrays.copyOf(pending, Math.min(capacity, maxLineBytes));
    }
    System.arraycopy(bytes, offset, pending, pendingLength, length);
    pendingLength = needed;
  }

  private void emitPending(boolean newline) throws InterruptedException {
    int length = pendingLength;
    pendingLength = 0;
    sink.accept(pending, 0, length, newline);
  }

  private static int indexOfNewline(byte[] bytes, int from, int to) {
    for (int i = from; i < to; i++) {
      if (bytes[i] == '\n') {
        return i;
      }
    }
    return -1;
  }
}
