package io.hodei.worker;

import java.util.Arrays;

/**
 * Cuts one stream of bytes into lines on {@code '\n'}. The newline is dropped; every other byte is
 * kept as it came, {@code '\r'} included. A line longer than {@code maxLineBytes} is passed on in
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

  private static final int INITIAL_PENDING_CAPACITY = 8 * 1024;

  private final int maxLineBytes;
  private final LineSink sink;
  private byte[] pending = new byte[0];
  private int pendingLength;

  LineSplitter(int maxLineBytes, LineSink sink) {
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
      emitPending();
    }
  }

  private void appendSegment(byte[] bytes, int from, int to, boolean terminated)
      throws InterruptedException {
    int position = from;
    while (true) {
      int remaining = to - position;
      if (pendingLength == 0) {
        while (remaining > maxLineBytes) {
          sink.acceptLine(bytes, position, maxLineBytes);
          position += maxLineBytes;
          remaining -= maxLineBytes;
        }
        if (terminated) {
          sink.acceptLine(bytes, position, remaining);
        } else {
          keep(bytes, position, remaining);
        }
        return;
      }
      if (remaining == 0) {
        if (terminated) {
          emitPending();
        }
        return;
      }
      if (pendingLength == maxLineBytes) {
        // The line goes on past a full piece: that piece is final.
        emitPending();
        continue;
      }
      int taken = Math.min(maxLineBytes - pendingLength, remaining);
      keep(bytes, position, taken);
      position += taken;
      if (position == to) {
        if (terminated) {
          emitPending();
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

  private void emitPending() throws InterruptedException {
    int length = pendingLength;
    pendingLength = 0;
    sink.acceptLine(pending, 0, length);
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
