package io.hodei.worker;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Replaces every occurrence of a secret in job output with {@code [REDACTED:NAME]}, on raw bytes
 * and as the output streams in, before it is cut into lines.
 *
 * <p><b>Patterns.</b> Each secret contributes the byte strings listed by {@link SecretForms}: its
 * UTF-8 bytes, its base64, base64url, base32 and hex encodings at every offset, its JSON escape
 * and its lines. A pattern shorter than {@code minLength} bytes is dropped. A pattern that two
 * secrets share is named after the secret whose value it is, else after the first in name order.
 *
 * <p><b>Two views.</b> The patterns are looked for in the output as it is (the <em>raw</em> view)
 * and in its <em>decoded</em> view ({@link Normalizer}: carriage returns and ANSI sequences
 * dropped, {@code %XY} and JSON escapes decoded, wrapped encoded lines joined), in which each byte
 * maps back to the span of output bytes it came from. A match in either view covers output bytes;
 * the raw view keeps every value the decoding could hide (a value right after {@code ESC [} loses
 * its first letter to the sequence, one that contains {@code %41} decodes to something else).
 *
 * <p><b>Matching.</b> Leftmost-longest over the spans of both views: of all matches, the one that
 * starts earliest in the output wins, and among those the one that ends last; the search goes on
 * after its end. A replacement keeps the line breaks of what it covers, each followed by the
 * replacement again, so a wrapped value is masked on every line it touches and lines keep their
 * number.
 *
 * <p><b>Algorithm.</b> The patterns form one Aho–Corasick automaton over bytes, built once here
 * and then only read, so a {@code Redactor} is immutable and may be shared by any number of
 * threads. Each {@link Filter} walks it once per view and records every match end it reaches.
 * While the decoded view has read exactly the output's bytes (no byte was dropped or decoded
 * within the current candidate) the two views are in the same state and one walk serves both;
 * only output near a special byte ({@code \r \n ESC % \}) takes the slower path. A byte is
 * decided, either passed on as it is or covered by a replacement, once no match that starts at or
 * before it can still be completed in either view; undecided bytes are held back between writes.
 * Each byte is read once, so the work is linear in the output plus the number of matches.
 *
 * <p><b>Bounds.</b> A match in the decoded view may span at most {@code 8 × longest + 256} output
 * bytes (room for a colour code between every two characters); a candidate that would grow past
 * that is given up. So a filter holds back at most that many bytes plus {@link
 * Normalizer#MAX_PENDING}, and its memory is fixed when it is made.
 *
 * <p><b>Line breaks.</b> A candidate that spans a line break (a multi-line value, or an encoded
 * run that the decoded view joins) makes the line splitter downstream get those lines late: when
 * the next bytes rule the value out, or at {@link Filter#finish}. A line that ends without a
 * possible start of a pattern is passed on whole at once.
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
   * @param minLength values (and their derived forms) shorter than this are not patterns; lengths
   *     are counted in UTF-8 bytes
   */
  static Redactor of(Map<String, String> secrets, int minLength) {
    return build(secrets, minLength, true);
  }

  /**
   * The same patterns, looked for only in the output as it is, without the decoded view: the
   * matching core alone, for tests that check it against a naive search.
   */
  static Redactor literal(Map<String, String> secrets, int minLength) {
    return build(secrets, minLength, false);
  }

  private static Redactor build(Map<String, String> secrets, int minLength, boolean decoding) {
    Map<ByteBuffer, Pattern> byBytes = new LinkedHashMap<>();
    Map<String, String> byName = new TreeMap<>(secrets);
    // A value itself first: a string that is one secret's value and another's derived form is
    // named after the first.
    byName.forEach(
        (name, value) -> {
          Objects.requireNonNull(value, () -> "no value for " + name);
          byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
          if (bytes.length >= Math.max(1, minLength)) {
            byBytes.putIfAbsent(ByteBuffer.wrap(bytes), new Pattern(name, bytes));
          }
        });
    byName.forEach(
        (name, value) -> {
          for (byte[] bytes : SecretForms.of(value, minLength)) {
            byBytes.putIfAbsent(ByteBuffer.wrap(bytes), new Pattern(name, bytes));
          }
        });
    if (byBytes.isEmpty()) {
      return NONE;
    }
    List<Pattern> patterns = List.copyOf(byBytes.values());
    return new Redactor(Automaton.of(patterns, decoding), patterns);
  }

  /** The patterns one secret value contributes; see {@link SecretForms#of}. */
  static List<byte[]> patternsOf(String value, int minLength) {
    return SecretForms.of(value, minLength);
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
   * consumed} always holds, and every byte before {@code decided} is either passed on as it is or
   * covered by a replacement.
   *
   * <p>The raw view's state is the longest suffix of the bytes from {@code decided} to {@code
   * consumed} that is a pattern prefix. The decoded view's state is the same for the view bytes
   * that the normaliser has passed on; the last {@code depth} of them are in a ring with the
   * output span each came from. While {@code synced}, the normaliser is idle and the decoded
   * state's bytes are exactly the last output bytes, so it equals the raw state, is not kept, and
   * the ring is not written; on the first special byte the ring is filled in from the raw state.
   *
   * <p>Bytes from {@code emitted} to {@code consumed} that belong to earlier writes are kept in
   * {@code held}; a write's own bytes are read from the caller's array while it runs. A match is
   * recorded in a ring indexed by its start, large enough for every start that is not yet decided;
   * a later record at the same start ends later and replaces the earlier one.
   *
   * <p>Not thread-safe: one reader thread owns one filter. After the sink throws, the filter must
   * not be used again.
   */
  static final class Filter {
    private static final byte[] NEWLINE = {'\n'};

    private final Automaton automaton;
    private final byte[] classes;
    private final Normalizer normalizer = new Normalizer(0);
    private final Normalizer.Output toView = this::viewByte;
    /** The longest span of output a decoded match may cover. */
    private final int maxSpan;
    /** How far before {@code consumed} an undecided start may lie. */
    private final int reach;
    private final byte[] held;
    private final long[] recordStart;
    private final long[] recordEnd;
    private final int[] recordPattern;
    private final int recordMask;
    private final long[] viewStart;
    private final int viewMask;

    private int rawState;
    private int viewState;
    private boolean synced = true;
    private long viewCount;
    private long consumed;
    private long decided;
    private long emitted;
    private int heldLength;
    private long lastRecordStart = -1;
    /** While synced: where the bytes begin that the normaliser's line run does not count yet. */
    private long plainSince;

    private byte[] chunk;
    private int chunkOffset;
    private long chunkStart;

    private Filter(Automaton automaton) {
      this.automaton = automaton;
      if (automaton == null) {
        classes = Normalizer.LITERAL;
        maxSpan = reach = 0;
        held = new byte[0];
        recordStart = recordEnd = viewStart = new long[0];
        recordPattern = new int[0];
        recordMask = viewMask = 0;
        return;
      }
      classes = automaton.decoding ? Normalizer.CLASSES : Normalizer.LITERAL;
      maxSpan = automaton.decoding ? 8 * automaton.longest + 256 : automaton.longest;
      reach = maxSpan + Normalizer.MAX_PENDING;
      held = new byte[reach];
      int capacity = Integer.highestOneBit(reach) * 2;
      recordStart = new long[capacity];
      Arrays.fill(recordStart, -1);
      recordEnd = new long[capacity];
      recordPattern = new int[capacity];
      recordMask = capacity - 1;
      int viewCapacity = Integer.highestOneBit(automaton.longest) * 2;
      viewStart = new long[viewCapacity];
      viewMask = viewCapacity - 1;
      rawState = viewState = Automaton.ROOT;
    }

    /**
     * Feeds a chunk as read from the pipe; passes to sink every byte that can no longer be part of
     * a match, redacted, and holds back the rest: from the earliest start that a pattern could
     * still complete in either view.
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
      plainSince = consumed;
      try {
        // The common case in locals: the views are in step, no match is waiting to be decided,
        // and the byte neither completes a pattern nor means anything to the decoded view.
        int[] denseRow = automaton.denseRow;
        int[] dense = automaton.dense;
        int[] output = automaton.output;
        byte[] classes = this.classes;
        int state = rawState;
        long position = consumed;
        boolean fast = synced && lastRecordStart < decided;
        int end = offset + length;
        for (int i = offset; i < end; i++) {
          byte b = bytes[i];
          int before = state;
          int row = denseRow[state];
          state = row >= 0 ? dense[row << 8 | (b & 0xff)] : automaton.next(state, b);
          position++;
          if (fast && output[state] < 0 && classes[b & 0xff] != Normalizer.SPECIAL) {
            continue;
          }
          rawState = state;
          consumed = position;
          step(b, before, sink);
          state = rawState;
          fast = synced && lastRecordStart < decided;
        }
        rawState = state;
        consumed = position;
        if (synced) {
          catchUpLineRun(consumed);
        }
        decideBefore(holdLimit(), sink);
        emitUnchangedBefore(decided, sink);
        holdTheRest();
      } finally {
        chunk = null;
      }
    }

    /** Byte {@code b}, just read into the raw view, when it is not the common case. */
    private void step(byte b, int rawStateBefore, Sink sink) throws InterruptedException {
      int output = automaton.output[rawState];
      if (output >= 0) {
        recordRawEndsAt(output);
      }
      if (!synced || classes[b & 0xff] == Normalizer.SPECIAL) {
        readIntoView(b, rawStateBefore);
      }
      if (lastRecordStart >= decided) {
        decideBefore(holdLimit(), sink);
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
      if (!synced) {
        normalizer.finish(toView);
      }
      // No byte is coming that could complete a pattern.
      rawState = viewState = Automaton.ROOT;
      synced = true;
      normalizer.reset();
      decideBefore(consumed, sink);
      emitUnchangedBefore(consumed, sink);
      heldLength = 0;
    }

    /** How many bytes are held back; for tests. */
    int heldBack() {
      return (int) (consumed - emitted);
    }

    /** The slow path: {@code b}, at {@code consumed - 1}, goes through the normaliser. */
    private void readIntoView(byte b, int rawStateBefore) {
      long position = consumed - 1;
      if (synced) {
        catchUpLineRun(position);
        // The decoded view has read what the raw view has: its candidate is the raw one's.
        viewState = rawStateBefore;
        for (int k = automaton.depth[viewState]; k > 0; k--) {
          viewStart[(int) (viewCount++ & viewMask)] = position - k;
        }
        synced = false;
      }
      normalizer.accept(b, position, toView);
      plainSince = consumed;
      trimView(consumed - maxSpan);
      int depth = automaton.depth[viewState];
      if (normalizer.idle()
          && viewState == rawState
          && (depth == 0 || viewStartOf(depth) == consumed - depth)) {
        // Each of the last depth view bytes is one output byte, the last one just read.
        synced = true;
      }
    }

    /**
     * While synced, the plain bytes of the chunk from {@code plainSince} to {@code upTo} went to
     * the decoded view unseen by the normaliser: tells it how many alphabet characters they end
     * with (all it needs of them), looking back at most {@link Normalizer#JOIN_RUN} bytes.
     */
    private void catchUpLineRun(long upTo) {
      if (!automaton.decoding || upTo <= plainSince) {
        return;
      }
      int last = chunkOffset + (int) (upTo - chunkStart) - 1;
      long from = Math.max(plainSince, upTo - Normalizer.JOIN_RUN);
      int stop = chunkOffset + (int) (from - chunkStart);
      int run = 0;
      for (int i = last; i >= stop; i--) {
        if (Normalizer.CLASSES[chunk[i] & 0xff] != Normalizer.ALPHABET) {
          normalizer.lineRun(run);
          plainSince = upTo;
          return;
        }
        run++;
      }
      // All alphabet back to plainSince: the run goes on from what the normaliser had counted.
      int total = run == Normalizer.JOIN_RUN ? run : normalizer.lineRun() + run;
      normalizer.lineRun(Math.min(Normalizer.JOIN_RUN, total));
      plainSince = upTo;
    }

    /** One byte of the decoded view, from output bytes {@code [start, end)}. */
    private void viewByte(byte b, long start, long end) {
      viewStart[(int) (viewCount++ & viewMask)] = start;
      viewState = automaton.next(viewState, b);
      trimView(consumed - maxSpan);
      for (int match = automaton.output[viewState];
          match >= 0;
          match = automaton.output[automaton.fail[match]]) {
        record(viewStartOf(automaton.depth[match]), end, automaton.pattern[match]);
      }
    }

    /** Where the decoded view's byte {@code depth} back from the last began in the output. */
    private long viewStartOf(int depth) {
      return viewStart[(int) ((viewCount - depth) & viewMask)];
    }

    /** Gives up decoded candidates that begin before {@code from}. */
    private void trimView(long from) {
      while (automaton.depth[viewState] > 0 && viewStartOf(automaton.depth[viewState]) < from) {
        viewState = automaton.fail[viewState];
      }
    }

    private void recordRawEndsAt(int output) {
      for (int match = output; match >= 0; match = automaton.output[automaton.fail[match]]) {
        record(consumed - automaton.depth[match], consumed, automaton.pattern[match]);
      }
    }

    private void record(long start, long end, int pattern) {
      if (start < decided) {
        return;
      }
      int slot = (int) (start & recordMask);
      if (recordStart[slot] != start || recordEnd[slot] <= end) {
        recordStart[slot] = start;
        recordEnd[slot] = end;
        recordPattern[slot] = pattern;
      }
      lastRecordStart = Math.max(lastRecordStart, start);
    }

    /** Bytes from here on may still begin a match in one of the views. */
    private long holdLimit() {
      long limit = consumed - automaton.holdDepth[rawState];
      if (!synced) {
        int hold = automaton.holdDepth[viewState];
        if (hold > 0) {
          limit = Math.min(limit, viewStartOf(hold));
        }
        limit = Math.min(limit, normalizer.pendingFrom(limit));
      }
      return limit;
    }

    /** Decides every byte before {@code limit}, which no unfinished match can cover. */
    private void decideBefore(long limit, Sink sink) throws InterruptedException {
      while (decided < limit) {
        if (lastRecordStart < decided) {
          decided = limit;
          return;
        }
        // A start that is still undecided lies within reach of the end.
        long position = Math.max(decided, consumed - reach);
        long end = Math.min(limit, lastRecordStart + 1);
        while (position < end && recordStart[(int) (position & recordMask)] != position) {
          position++;
        }
        if (position >= end) {
          decided = end;
          continue;
        }
        int slot = (int) (position & recordMask);
        emitUnchangedBefore(position, sink);
        emitReplacement(recordPattern[slot], position, recordEnd[slot], sink);
        decided = recordEnd[slot];
        emitted = decided;
        // Bytes the match covered may no longer begin a pattern.
        while (automaton.depth[rawState] > consumed - decided) {
          rawState = automaton.fail[rawState];
        }
        if (!synced) {
          trimView(decided);
        }
        limit = Math.max(limit, holdLimit());
      }
    }

    /** The replacement, and after each line break in {@code [from, to)} the break and it again. */
    private void emitReplacement(int pattern, long from, long to, Sink sink)
        throws InterruptedException {
      byte[] replacement = automaton.replacements[pattern];
      sink.accept(replacement, 0, replacement.length);
      for (long p = from; p < to; p++) {
        if (byteAt(p) == '\n') {
          sink.accept(NEWLINE, 0, 1);
          sink.accept(replacement, 0, replacement.length);
        }
      }
    }

    /** An output byte not yet emitted: from {@code held}, or from the chunk being written. */
    private byte byteAt(long position) {
      return position < chunkStart
          ? held[(int) (position - (chunkStart - heldLength))]
          : chunk[chunkOffset + (int) (position - chunkStart)];
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

    /** Whether filters also match in the decoded view. */
    final boolean decoding;
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
    final int[] dense;
    /** The row in {@link #dense} of a state that has one, else -1. */
    final int[] denseRow;

    private Automaton(
        boolean decoding,
        List<Pattern> patterns,
        int[] depth,
        int[] firstChild,
        int[] nextSibling,
        byte[] label,
        int[] pattern) {
      this.decoding = decoding;
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

    static Automaton of(List<Pattern> patterns, boolean decoding) {
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
          decoding,
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
