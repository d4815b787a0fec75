package io.hodei.worker;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The transducer behind the redactor's <em>decoded view</em> of a job's output: what the text
 * says once the usual ways of printing a value are undone. It reads the output byte by byte and
 * passes on each byte of the view with the span of output bytes it came from, so that a match in
 * the view maps back to the output bytes to replace.
 *
 * <p><b>Rules</b>, applied in one pass (a decoded byte is not decoded again):
 *
 * <ul>
 *   <li>{@code \r} is dropped, and so is a decoded one ({@code %0D}, {@code \r}).
 *   <li>ANSI escape sequences are dropped: CSI ({@code ESC [} parameters, intermediates, a final
 *       byte), OSC ({@code ESC ]} up to BEL or {@code ESC \}, at most {@value #OSC_LIMIT} bytes),
 *       and the two-byte and {@code ESC} intermediate forms. A byte that cannot continue a
 *       sequence ends it and is read as ordinary output.
 *   <li>{@code %XY} with two hex digits in either case is the byte XY.
 *   <li>JSON string escapes: {@code \" \\ \/ \b \f \n \r \t} and {@code \}{@code uXXXX}, with
 *       surrogate pairs, as UTF-8. A lone surrogate stays as it is.
 *   <li>A line break is dropped when the line it ends finishes with at least {@value #JOIN_RUN}
 *       base64, base32 or hex characters ({@code A-Z a-z 0-9 + / = _ -}): a wrapped encoding
 *       ({@code base64}'s 76 columns, {@code openssl}'s 64, {@code xxd -p}'s 60) then reads as one
 *       run.
 * </ul>
 *
 * <p>A sequence that fails part-way gives back its first byte as it is and reads the rest again,
 * so at most {@value #MAX_PENDING} bytes (a surrogate pair) are pending at any time. Memory is
 * constant.
 *
 * <p>Not thread-safe: one per {@link Redactor.Filter}.
 */
final class Normalizer {
  /** A line whose last this many characters are of an encoding alphabet continues on the next. */
  static final int JOIN_RUN = 16;

  /**
   * The most bytes pending at once: a surrogate pair, {@code \}{@code uD83D\}{@code uDE00}, once
   * its last digit is in.
   */
  static final int MAX_PENDING = 12;

  static final int OSC_LIMIT = 256;

  static final byte ALPHABET = 0;
  static final byte OTHER = 1;
  static final byte SPECIAL = 2;

  /** Each byte's class: in an encoding alphabet, another byte, or one the view treats apart. */
  static final byte[] CLASSES = new byte[256];

  /** The same for a redactor without the decoded view: nothing is special. */
  static final byte[] LITERAL = new byte[256];

  static {
    Arrays.fill(CLASSES, OTHER);
    Arrays.fill(LITERAL, OTHER);
    for (int b = 0; b < 256; b++) {
      if (b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9') {
        CLASSES[b] = ALPHABET;
      }
    }
    for (char c : "+/=_-".toCharArray()) {
      CLASSES[c] = ALPHABET;
    }
    for (char c : "\r\n\u001b%\\".toCharArray()) {
      CLASSES[c] = SPECIAL;
    }
  }

  /** Receives each byte of the view and the span {@code [start, end)} of the output it reads. */
  @FunctionalInterface
  interface Output {
    void accept(byte b, long start, long end);
  }

  private static final int IDLE = 0;
  private static final int ESC = 1;
  private static final int CSI = 2;
  private static final int INTERMEDIATE = 3;
  private static final int OSC = 4;
  private static final int OSC_ESC = 5;
  private static final int PERCENT = 6;
  private static final int BACKSLASH = 7;
  private static final int UNICODE = 8;
  private static final int LOW_BACKSLASH = 9;
  private static final int LOW_U = 10;
  private static final int LOW_UNICODE = 11;

  private final int initialRun;
  private int state = IDLE;
  private final byte[] pending = new byte[MAX_PENDING];
  private int pendingLength;
  private long pendingStart;
  private int hex;
  private int hexDigits;
  private int highSurrogate;
  private int oscLength;
  private int lineRun;

  /**
   * @param initialRun how many alphabet characters the first line is taken to begin after: 0 for
   *     a stream, {@link #JOIN_RUN} to read a pattern as if it followed an encoded run
   */
  Normalizer(int initialRun) {
    this.initialRun = initialRun;
    this.lineRun = initialRun;
  }

  /** {@code text} as the view reads it, starting with the given line run and ending there. */
  static byte[] normalise(byte[] text, int initialRun) {
    Normalizer normalizer = new Normalizer(initialRun);
    ByteArrayOutputStream view = new ByteArrayOutputStream(text.length);
    Output out = (b, start, end) -> view.write(b);
    for (int i = 0; i < text.length; i++) {
      normalizer.accept(text[i], i, out);
    }
    normalizer.finish(out);
    return view.toByteArray();
  }

  /** How many alphabet characters the current line ends with so far, up to {@link #JOIN_RUN}. */
  int lineRun() {
    return lineRun;
  }

  /**
   * Sets the line run after bytes that the caller passed to the view itself: plain bytes read
   * while no sequence was in progress, each its own view byte.
   */
  void lineRun(int run) {
    lineRun = run;
  }

  private void passed(byte byteClass) {
    lineRun = byteClass == ALPHABET ? Math.min(lineRun + 1, JOIN_RUN) : 0;
  }

  /** No sequence in progress: the next byte starts afresh. */
  boolean idle() {
    return state == IDLE;
  }

  /** Where the pending bytes begin, or {@code otherwise} if none are pending. */
  long pendingFrom(long otherwise) {
    return pendingLength > 0 ? pendingStart : otherwise;
  }

  /** Reads output byte {@code b}, at {@code position} in the stream. */
  void accept(byte b, long position, Output out) {
    int u = b & 0xff;
    switch (state) {
      case IDLE -> idle(b, position, out);
      case ESC -> {
        if (u == '[') {
          state = CSI;
        } else if (u == ']') {
          state = OSC;
          oscLength = 0;
        } else if (u >= 0x20 && u <= 0x2f) {
          state = INTERMEDIATE;
        } else if (u >= 0x30 && u <= 0x7e) {
          state = IDLE;
        } else {
          state = IDLE;
          idle(b, position, out);
        }
      }
      case CSI, INTERMEDIATE -> {
        // Parameters (CSI only) and intermediates go on; a final byte ends the sequence.
        if (u >= 0x20 && u <= (state == CSI ? 0x3f : 0x2f)) {
          return;
        }
        state = IDLE;
        if (u > 0x7e || u < 0x20) {
          idle(b, position, out);
        }
      }
      case OSC -> {
        if (u == 0x07) {
          state = IDLE;
        } else if (u == 0x1b) {
          state = OSC_ESC;
        } else if (u < 0x20 || ++oscLength > OSC_LIMIT) {
          state = IDLE;
          idle(b, position, out);
        }
      }
      case OSC_ESC -> {
        if (u == '\\') {
          state = IDLE;
        } else {
          state = ESC;
          accept(b, position, out);
        }
      }
      case PERCENT -> {
        if (!hexDigit(b, position, out)) {
          return;
        }
        if (hexDigits == 2) {
          emitDecoded(hex, position + 1, out);
        }
      }
      case BACKSLASH -> backslash(b, position, out);
      case UNICODE, LOW_UNICODE -> {
        if (!hexDigit(b, position, out) || hexDigits < 4) {
          return;
        }
        unicode(position, out);
      }
      case LOW_BACKSLASH -> expect(b, '\\', LOW_U, position, out);
      case LOW_U -> {
        if (expect(b, 'u', LOW_UNICODE, position, out)) {
          hex = 0;
          hexDigits = 0;
        }
      }
      default -> throw new IllegalStateException("state " + state);
    }
  }

  /** End of stream: pending bytes are passed on as they are; the next stream starts afresh. */
  void finish(Output out) {
    while (pendingLength > 0) {
      giveBackFirst(out);
    }
    reset();
  }

  void reset() {
    state = IDLE;
    pendingLength = 0;
    lineRun = initialRun;
  }

  private void idle(byte b, long position, Output out) {
    switch (b) {
      case '\r' -> {}
      case '\n' -> {
        boolean join = lineRun >= JOIN_RUN;
        lineRun = 0;
        if (!join) {
          out.accept(b, position, position + 1);
        }
      }
      case 0x1b -> state = ESC;
      case '%' -> {
        begin(b, position, PERCENT);
        hex = 0;
        hexDigits = 0;
      }
      case '\\' -> begin(b, position, BACKSLASH);
      default -> {
        passed(CLASSES[b & 0xff]);
        out.accept(b, position, position + 1);
      }
    }
  }

  private void begin(byte b, long position, int next) {
    pendingStart = position;
    pending[0] = b;
    pendingLength = 1;
    state = next;
  }

  private void backslash(byte b, long position, Output out) {
    int decoded =
        switch (b) {
          case '"', '\\', '/' -> b;
          case 'b' -> '\b';
          case 'f' -> '\f';
          case 'n' -> '\n';
          case 'r' -> '\r';
          case 't' -> '\t';
          case 'u' -> -1;
          default -> -2;
        };
    if (decoded == -2) {
      fail(b, position, out);
    } else if (decoded == -1) {
      pending[pendingLength++] = b;
      state = UNICODE;
      hex = 0;
      hexDigits = 0;
    } else {
      emitDecoded(decoded, position + 1, out);
    }
  }

  /** Takes a hex digit into {@link #hex}; false, the sequence failed, if {@code b} is not one. */
  private boolean hexDigit(byte b, long position, Output out) {
    int digit = Character.digit(b, 16);
    if (digit < 0) {
      fail(b, position, out);
      return false;
    }
    pending[pendingLength++] = b;
    hex = hex << 4 | digit;
    hexDigits++;
    return true;
  }

  private boolean expect(byte b, char wanted, int next, long position, Output out) {
    if (b != wanted) {
      fail(b, position, out);
      return false;
    }
    pending[pendingLength++] = b;
    state = next;
    return true;
  }

  /** Four hex digits of a {@code \}{@code u} escape are in: a code point, or half of one. */
  private void unicode(long position, Output out) {
    boolean low = hex >= 0xdc00 && hex <= 0xdfff;
    if (state == UNICODE) {
      if (hex >= 0xd800 && hex <= 0xdbff) {
        highSurrogate = hex;
        state = LOW_BACKSLASH;
      } else if (low) {
        fail(null, position, out);
      } else {
        emitCodePoint(hex, position + 1, out);
      }
    } else if (low) {
      emitCodePoint(0x10000 + ((highSurrogate - 0xd800) << 10) + (hex - 0xdc00), position + 1, out);
    } else {
      fail(null, position, out);
    }
  }

  private void emitCodePoint(int codePoint, long end, Output out) {
    byte[] utf8 = Character.toString(codePoint).getBytes(StandardCharsets.UTF_8);
    long start = pendingStart;
    pendingLength = 0;
    state = IDLE;
    for (byte b : utf8) {
      emit(b, start, end, out);
    }
  }

  private void emitDecoded(int decoded, long end, Output out) {
    long start = pendingStart;
    pendingLength = 0;
    state = IDLE;
    emit((byte) decoded, start, end, out);
  }

  /** A decoded byte: content whatever it is, except that a carriage return is still dropped. */
  private void emit(byte b, long start, long end, Output out) {
    if (b == '\r') {
      return;
    }
    passed(CLASSES[b & 0xff]);
    out.accept(b, start, end);
  }

  /**
   * The sequence in progress cannot go on with {@code b} (or, for {@code null}, cannot be decoded
   * as it is): its first byte is passed on as it is, and the rest, then {@code b}, read again.
   */
  private void fail(Byte b, long position, Output out) {
    if (b != null) {
      pending[pendingLength++] = b;
    }
    giveBackFirst(out);
  }

  private void giveBackFirst(Output out) {
    byte[] rest = Arrays.copyOfRange(pending, 1, pendingLength);
    long start = pendingStart;
    byte first = pending[0];
    pendingLength = 0;
    state = IDLE;
    passed(CLASSES[first & 0xff]);
    out.accept(first, start, start + 1);
    for (int i = 0; i < rest.length; i++) {
      accept(rest[i], start + 1 + i, out);
    }
  }
}
