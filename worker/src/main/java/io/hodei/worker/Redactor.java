package io.hodei.worker;

import java.net.URLEncoder;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Replaces every occurrence of a secret in job output with {@code [REDACTED:NAME]}, on raw bytes
 * and as the output streams in, before it is cut into lines.
 *
 * <p><b>Patterns.</b> Each secret contributes the byte strings listed by {@link #patternsOf}: its
 * UTF-8 bytes; its base64 text in the standard and URL-safe alphabets for each of the three byte
 * offsets it can have inside a longer base64 input; its URL-encoded text; and, when it spans
 * several lines, each line. A pattern shorter than {@code minLength} bytes is dropped. A pattern
 * that two secrets share is named after the first secret in name order.
 *
 * <p><b>Matching.</b> Leftmost-longest: of all pattern occurrences, the one that starts earliest
 * wins, and among those the longest; the search goes on after its end. No complete pattern is
 * therefore left in the output outside the replacement texts themselves.
 *
 * <p><b>Algorithm.</b> The patterns form one Aho–Corasick automaton over bytes, built once here
 * and then only read, so a {@code Redactor} is immutable and may be shared by any number of
 * threads. Each {@link Filter} walks it byte by byte and records every pattern end it reaches.
 * A byte is decided, either passed on as it is or covered by a replacement, once no pattern that
 * starts at or before it can still be completed; undecided bytes, at most (longest pattern − 1),
 * are held back between writes. Each byte is scanned once, so the work is linear in the output
 * plus the number of pattern occurrences.
 *
 * <p><b>Line breaks.</b> Only the whole-value pattern of a multi-line secret contains a line break.
 * While such a value may be in progress, the bytes held back span line breaks, so the line
 * splitter downstream gets those lines late: when the next bytes rule the value out, or at {@link
 * Filter#finish}. Every other pattern stays within one line, and a line that ends without a
 * possible start of one is passed on whole at once.
 */
final class Redactor {

  /** No secrets: passes everything through unchanged, with no copying. */
  static final Redactor NONE = new Redactor(null, List.of());

  private final Automaton automaton;
  private final List<Pattern> patterns;

  private Redactor(Automaton automaton, List<Pattern> patterns) {
    this.automaton = automaton;
    this.patterns = patterns;
  }

  /**
   * @param secrets name -> value
   * @param minLength values (and lines of multi-line values) shorter than this are not patterns;
   *     lengths are counted in UTF-8 bytes
   */
  static Redactor of(Map<String, String> secrets, int minLength) {
    Map<ByteBuffer, Pattern> byBytes = new LinkedHashMap<>();
    new TreeMap<>(secrets)
        .forEach(
            (name, value) -> {
              Objects.requireNonNull(value, () -> "no value for " + name);
              for (byte[] bytes : patternsOf(value, minLength)) {
                byBytes.putIfAbsent(ByteBuffer.wrap(bytes), new Pattern(name, bytes));
              }
            });
    if (byBytes.isEmpty()) {
      return NONE;
    }
    List<Pattern> patterns = List.copyOf(byBytes.values());
    return new Redactor(Automaton.of(patterns), patterns);
  }

  /**
   * The patterns one secret value contributes, without duplicates, each at least {@code
   * minLength} (and at least one) byte long.
   */
  static List<byte[]> patternsOf(String value, int minLength) {
    Map<ByteBuffer, byte[]> forms = new LinkedHashMap<>();
    byte[] raw = value.getBytes(StandardCharsets.UTF_8);
    add(forms, raw);
    for (Base64.Encoder alphabet :
        List.of(Base64.getEncoder().withoutPadding(), Base64.getUrlEncoder().withoutPadding())) {
      for (int offset = 0; offset < 3; offset++) {
        addBase64Forms(forms, raw, offset, alphabet);
      }
    }
    String formEncoded = URLEncoder.encode(value, StandardCharsets.UTF_8);
    // URLEncoder writes '+' for a space and "%2B" for a '+', so every '+' here was a space.
    String percentEncoded = formEncoded.replace("+", "%20");
    for (String encoded : List.of(formEncoded, percentEncoded)) {
      if (!encoded.equals(value)) {
        add(forms, encoded.getBytes(StandardCharsets.US_ASCII));
      }
    }
    // The form the job's stdin carries (SecretsJson): a job that prints its stdin as it is shows
    // quotes, backslashes and control characters escaped.
    String jsonEscaped = SecretsJson.escape(value);
    if (!jsonEscaped.equals(value)) {
      add(forms, jsonEscaped.getBytes(StandardCharsets.UTF_8));
    }
    if (value.indexOf('\n') >= 0) {
      for (String line : value.split("\r?\n", -1)) {
        add(forms, line.getBytes(StandardCharsets.UTF_8));
      }
    }
    int shortest = Math.max(1, minLength);
    return forms.values().stream().filter(form -> form.length >= shortest).toList();
  }

  /**
   * Base64 packs 3 bytes into 4 characters, so a value inside a longer input is encoded one of
   * three ways depending on its offset in its 3-byte group. For each offset this keeps the
   * characters whose 6 bits all come from the value: the <em>interior</em> form, found whatever
   * follows the value; and the form running to the end of the encoding, found when the value ends
   * the input (its last character then carries zero fill instead of the next byte's bits).
   */
  private static void addBase64Forms(
      Map<ByteBuffer, byte[]> forms, byte[] raw, int offset, Base64.Encoder alphabet) {
    byte[] shifted = new byte[offset + raw.length];
    System.arraycopy(raw, 0, shifted, offset, raw.length);
    byte[] encoded = alphabet.encode(shifted);
    int first = (8 * offset + 5) / 6;
    int interiorEnd = 8 * shifted.length / 6;
    if (interiorEnd > first) {
      add(forms, Arrays.copyOfRange(encoded, first, interiorEnd));
      add(forms, Arrays.copyOfRange(encoded, first, encoded.length));
    }
  }

  private static void add(Map<ByteBuffer, byte[]> forms, byte[] form) {
    forms.putIfAbsent(ByteBuffer.wrap(form), form);
  }

  boolean isEmpty() {
    return automaton == null;
  }

  /** Every pattern, in the order the automaton numbers them; for tests and diagnostics. */
  List<Pattern> patterns() {
    return patterns;
  }

  /** A filter for one output stream (stdout or stderr). Not thread-safe; one per stream. */
  Filter newFilter() {
    return new Filter(automaton);
  }

  /**
   * One byte string to redact and the secret it reveals. Its array is never changed; the record
   * compares it by identity.
   */
  record Pattern(String secretName, byte[] bytes) {}

  /** Receives output. The bytes are only valid during the call and must not be changed. */
  @FunctionalInterface
  interface Sink {
    void accept(byte[] bytes, int offset, int length) throws InterruptedException;
  }

  /**
   * Redacts one stream. Positions count the stream's bytes from 0; {@code emitted <= decided <=
   * consumed} always holds, every byte before {@code decided} is either passed on as it is or
   * covered by a replacement, and the automaton state is the longest suffix of the bytes from
   * {@code decided} to {@code consumed} that is a pattern prefix. Bytes from {@code emitted} to
   * {@code consumed} that belong to earlier writes are kept in {@code held}; a write's own bytes
   * are read from the caller's array while it runs. A pattern end is recorded in a ring indexed by
   * start position, large enough for every start that is not yet decided.
   *
   * <p>Not thread-safe: one reader thread owns one filter. After the sink throws, the filter must
   * not be used again.
   */
  static final class Filter {
    private final Automaton automaton;
    private final byte[] held;
    private final long[] recordStart;
    private final int[] recordPattern;
    private final int recordMask;

    private int state;
    private long consumed;
    private long decided;
    private long emitted;
    private int heldLength;
    private long lastRecordStart = -1;

    private byte[] chunk;
    private int chunkOffset;
    private long chunkStart;

    private Filter(Automaton automaton) {
      this.automaton = automaton;
      if (automaton == null) {
        held = new byte[0];
        recordStart = new long[0];
        recordPattern = new int[0];
        recordMask = 0;
        return;
      }
      held = new byte[automaton.longest];
      int capacity = Integer.highestOneBit(automaton.longest) * 2;
      recordStart = new long[capacity];
      Arrays.fill(recordStart, -1);
      recordPattern = new int[capacity];
      recordMask = capacity - 1;
      state = Automaton.ROOT;
    }

    /**
     * Feeds a chunk as read from the pipe; passes to sink every byte that can no longer be part of
     * a match, redacted. Holds back at most (longest pattern - 1) bytes: the longest suffix of what
     * is pending that a pattern could still complete.
     */
    void write(byte[] bytes, int offset, int length, Sink sink) throws InterruptedException {
      if (automaton == null) {
        sink.accept(bytes, offset, length);
        return;
      }
      Objects.checkFromIndexSize(offset, length, bytes.length);
      chunk = bytes;
      chunkOffset = offset;
      chunkStart = consumed;
      try {
        int end = offset + length;
        for (int i = offset; i < end; i++) {
          state = automaton.next(state, bytes[i]);
          consumed++;
          int output = automaton.output[state];
          if (output >= 0) {
            recordEndsAt(output);
          }
          // Without records, deciding can wait until the end of the chunk.
          if (lastRecordStart >= decided) {
            decideBefore(consumed - automaton.holdDepth[state], sink);
          }
        }
        decideBefore(consumed - automaton.holdDepth[state], sink);
        emitUnchangedBefore(decided, sink);
        holdTheRest();
      } finally {
        chunk = null;
      }
    }

    /**
     * End of stream: emits what is held back (redacting complete matches). The filter then holds
     * nothing and may take a new stream.
     */
    void finish(Sink sink) throws InterruptedException {
      if (automaton == null) {
        return;
      }
      chunkStart = consumed;
      // No byte is coming that could complete a pattern.
      state = Automaton.ROOT;
      decideBefore(consumed, sink);
      emitUnchangedBefore(consumed, sink);
      heldLength = 0;
    }

    /** How many bytes are held back; for tests. */
    int heldBack() {
      return (int) (consumed - emitted);
    }

    private void recordEndsAt(int output) {
      for (int match = output; match >= 0; match = automaton.output[automaton.fail[match]]) {
        long start = consumed - automaton.depth[match];
        int slot = (int) (start & recordMask);
        // A later end at the same start is a longer match: it replaces the earlier one.
        recordStart[slot] = start;
        recordPattern[slot] = automaton.pattern[match];
        lastRecordStart = Math.max(lastRecordStart, start);
      }
    }

    /** Decides every byte before {@code limit}, which no unfinished pattern can cover. */
    private void decideBefore(long limit, Sink sink) throws InterruptedException {
      while (decided < limit) {
        if (lastRecordStart < decided) {
          decided = limit;
          return;
        }
        // A start that is still undecided lies within one pattern length of the end.
        long position = Math.max(decided, consumed - automaton.longest);
        long end = Math.min(limit, lastRecordStart + 1);
        while (position < end && recordStart[(int) (position & recordMask)] != position) {
          position++;
        }
        if (position >= end) {
          decided = end;
          continue;
        }
        int match = recordPattern[(int) (position & recordMask)];
        emitUnchangedBefore(position, sink);
        byte[] replacement = automaton.replacements[match];
        sink.accept(replacement, 0, replacement.length);
        decided = position + automaton.patternLength[match];
        emitted = decided;
        // Bytes the match covered may no longer begin a pattern.
        while (automaton.depth[state] > consumed - decided) {
          state = automaton.fail[state];
        }
        limit = Math.max(limit, consumed - automaton.holdDepth[state]);
      }
    }

    private void emitUnchangedBefore(long position, Sink sink) throws InterruptedException {
      if (position <= emitted) {
        return;
      }
      if (emitted < chunkStart) {
        long heldStart = chunkStart - heldLength;
        long to = Math.min(position, chunkStart);
        sink.accept(held, (int) (emitted - heldStart), (int) (to - emitted));
        emitted = to;
      }
      if (position > emitted) {
        sink.accept(chunk, chunkOffset + (int) (emitted - chunkStart), (int) (position - emitted));
        emitted = position;
      }
    }

    /** Keeps the undecided tail, from {@code emitted} to {@code consumed}, for the next write. */
    private void holdTheRest() {
      int keep = (int) (consumed - emitted);
      if (emitted >= chunkStart) {
        System.arraycopy(chunk, chunkOffset + (int) (emitted - chunkStart), held, 0, keep);
      } else {
        int fromHeld = (int) (chunkStart - emitted);
        System.arraycopy(held, heldLength - fromHeld, held, 0, fromHeld);
        System.arraycopy(chunk, chunkOffset, held, fromHeld, (int) (consumed - chunkStart));
      }
      heldLength = keep;
    }
  }

  /**
   * An Aho–Corasick automaton over bytes: a trie of the patterns with failure links. Immutable
   * after construction.
   */
  private static final class Automaton {
    static final int ROOT = 0;

    final int longest;
    final int[] depth;
    final int[] fail;
    /** The pattern a state completes, or -1. */
    final int[] pattern;
    /** The deepest state on the failure chain, this one included, that completes a pattern. */
    final int[] output;
    /**
     * Depth of the deepest state on the failure chain that has children: the bytes that a longer
     * pattern could still grow from.
     */
    final int[] holdDepth;

    /** By pattern index. */
    final int[] patternLength;
    /** By pattern index; the patterns of one secret share the array. */
    final byte[][] replacements;

    private final int[] firstChild;
    private final int[] nextSibling;
    private final byte[] label;
    /**
     * Rows of 256 complete transitions for the root and its children, where output that contains
     * no secret spends its time; other states keep sibling lists and fall back along failure
     * links.
     */
    private final int[] dense;
    private final int[] denseRow;

    private Automaton(
        List<Pattern> patterns,
        int[] depth,
        int[] firstChild,
        int[] nextSibling,
        byte[] label,
        int[] pattern) {
      this.longest = patterns.stream().mapToInt(p -> p.bytes().length).max().orElseThrow();
      int states = depth.length;
      this.depth = depth;
      this.firstChild = firstChild;
      this.nextSibling = nextSibling;
      this.label = label;
      this.pattern = pattern;
      this.fail = new int[states];
      this.output = new int[states];
      this.holdDepth = new int[states];
      this.denseRow = new int[states];
      Arrays.fill(denseRow, -1);
      denseRow[ROOT] = 0;
      int rows = 1;
      for (int child = firstChild[ROOT]; child >= 0; child = nextSibling[child]) {
        denseRow[child] = rows++;
      }
      this.dense = new int[rows << 8];
      linkFailures();
      Map<String, byte[]> byName = new LinkedHashMap<>();
      patternLength = new int[patterns.size()];
      replacements = new byte[patterns.size()][];
      for (int i = 0; i < patterns.size(); i++) {
        patternLength[i] = patterns.get(i).bytes().length;
        replacements[i] =
            byName.computeIfAbsent(
                patterns.get(i).secretName(),
                name -> ("[REDACTED:" + name + "]").getBytes(StandardCharsets.UTF_8));
      }
    }

    static Automaton of(List<Pattern> patterns) {
      int capacity = 1 + patterns.stream().mapToInt(p -> p.bytes().length).sum();
      int[] depth = new int[capacity];
      int[] firstChild = new int[capacity];
      int[] nextSibling = new int[capacity];
      byte[] label = new byte[capacity];
      int[] pattern = new int[capacity];
      Arrays.fill(firstChild, -1);
      Arrays.fill(nextSibling, -1);
      Arrays.fill(pattern, -1);
      int states = 1;
      for (int index = 0; index < patterns.size(); index++) {
        int state = ROOT;
        for (byte b : patterns.get(index).bytes()) {
          int child = childOf(state, b, firstChild, nextSibling, label);
          if (child < 0) {
            child = states++;
            label[child] = b;
            depth[child] = depth[state] + 1;
            nextSibling[child] = firstChild[state];
            firstChild[state] = child;
          }
          state = child;
        }
        pattern[state] = index;
      }
      return new Automaton(
          patterns,
          Arrays.copyOf(depth, states),
          Arrays.copyOf(firstChild, states),
          Arrays.copyOf(nextSibling, states),
          Arrays.copyOf(label, states),
          Arrays.copyOf(pattern, states));
    }

    /**
     * Breadth first, so that a state's failure target, and the dense row it may use, are finished
     * before the state.
     */
    private void linkFailures() {
      int[] queue = new int[depth.length];
      int head = 0;
      int tail = 0;
      fail[ROOT] = ROOT;
      output[ROOT] = -1;
      holdDepth[ROOT] = 0;
      queue[tail++] = ROOT;
      while (head < tail) {
        int state = queue[head++];
        for (int child = firstChild[state]; child >= 0; child = nextSibling[child]) {
          fail[child] = state == ROOT ? ROOT : next(fail[state], label[child]);
          output[child] = pattern[child] >= 0 ? child : output[fail[child]];
          holdDepth[child] = firstChild[child] >= 0 ? depth[child] : holdDepth[fail[child]];
          queue[tail++] = child;
        }
        int row = denseRow[state];
        if (row >= 0) {
          for (int b = 0; b < 256; b++) {
            int child = childOf(state, (byte) b, firstChild, nextSibling, label);
            int viaFailure = state == ROOT ? ROOT : dense[(denseRow[fail[state]] << 8) | b];
            dense[(row << 8) | b] = child >= 0 ? child : viaFailure;
          }
        }
      }
    }

    /** The state after reading {@code b} in {@code state}. */
    int next(int state, byte b) {
      for (int s = state; ; s = fail[s]) {
        int row = denseRow[s];
        if (row >= 0) {
          return dense[(row << 8) | (b & 0xff)];
        }
        int child = childOf(s, b, firstChild, nextSibling, label);
        if (child >= 0) {
          return child;
        }
      }
    }

    private static int childOf(
        int state, byte b, int[] firstChild, int[] nextSibling, byte[] label) {
      for (int child = firstChild[state]; child >= 0; child = nextSibling[child]) {
        if (label[child] == b) {
          return child;
        }
      }
      return -1;
    }
  }
}
