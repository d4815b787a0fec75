package io.hodei.worker;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A measurement, not a test: the worker's output path up to the batcher ({@link Redactor.Filter}
 * then {@link LineSplitter}) fed the logs benchmark's lines (ten digits, a space, 52 'x', a
 * newline: 64 bytes) in 16 KiB reads, as {@code JobExecution.readLines} gets them from the pipe,
 * with no secrets and with ten. Prints lines per second of the thread's CPU time for each (the
 * median of five passes after two of warm-up; CPU time, not wall time, so that other work on a
 * shared machine counts less) and their ratio. Run it as docs/benchmarks.md ("Redaction") says.
 */
public final class RedactorThroughput {
  private static final int LINE_BYTES = 64;
  private static final int READ_BYTES = 16 * 1024;
  private static final java.lang.management.ThreadMXBean CPU =
      java.lang.management.ManagementFactory.getThreadMXBean();

  private RedactorThroughput() {}

  public static void main(String[] args) throws InterruptedException {
    int lines = args.length > 0 ? Integer.parseInt(args[0]) : 5_000_000;
    int secretCount = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    byte[] output = output(lines);
    Redactor none = Redactor.of(Map.of(), JobExecution.MIN_SECRET_LENGTH);
    // "literal" as a third argument: without the decoded view, to see what it costs.
    boolean literal = args.length > 2 && args[2].equals("literal");
    Redactor some =
        literal
            ? Redactor.literal(secrets(secretCount), JobExecution.MIN_SECRET_LENGTH)
            : Redactor.of(secrets(secretCount), JobExecution.MIN_SECRET_LENGTH);
    double noneRate = rate(none, output, lines);
    double someRate = rate(some, output, lines);
    System.out.printf(
        "redaction: %,d lines of %d B; 0 secrets %,.0f lines/CPU-s;"
            + " %d secrets (%d patterns) %,.0f lines/CPU-s; ratio %.3f%n",
        lines,
        LINE_BYTES,
        noneRate,
        secretCount,
        some.patterns().size(),
        someRate,
        someRate / noneRate);
  }

  /**
   * The logs benchmark's values (LogsBench.secrets, in another module, so written again here:
   * the two measurements must redact the same tokens): none occurs in the output.
   */
  static Map<String, String> secrets(int count) {
    var random = new Random(42);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Map<String, String> secrets = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      var value = new StringBuilder("tok_");
      for (int c = 0; c < 32; c++) {
        value.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      secrets.put("BENCH_SECRET_" + i, value.toString());
    }
    return secrets;
  }

  private static byte[] output(int lines) {
    byte[] all = new byte[lines * LINE_BYTES];
    byte[] tail = (" " + "x".repeat(LINE_BYTES - 12) + "\n").getBytes(StandardCharsets.US_ASCII);
    for (int i = 0; i < lines; i++) {
      byte[] number = String.format("%010d", i).getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(number, 0, all, i * LINE_BYTES, 10);
      System.arraycopy(tail, 0, all, i * LINE_BYTES + 10, tail.length);
    }
    return all;
  }

  private static double rate(Redactor redactor, byte[] output, int lines)
      throws InterruptedException {
    double[] rates = new double[7];
    long[] seen = {0};
    for (int pass = 0; pass < rates.length; pass++) {
      seen[0] = 0;
      LineSplitter splitter = new LineSplitter(64 * 1024, (bytes, offset, length) -> seen[0]++);
      Redactor.Filter filter = redactor.newFilter();
      Redactor.Sink sink = splitter::feed;
      long t0 = CPU.getCurrentThreadCpuTime();
      for (int at = 0; at < output.length; at += READ_BYTES) {
        filter.write(output, at, Math.min(READ_BYTES, output.length - at), sink);
      }
      filter.finish(sink);
      splitter.finish();
      rates[pass] = lines / ((CPU.getCurrentThreadCpuTime() - t0) / 1e9);
      if (seen[0] != lines) {
        throw new IllegalStateException("split " + seen[0] + " of " + lines + " lines");
      }
    }
    double[] measured = Arrays.copyOfRange(rates, 2, rates.length);
    Arrays.sort(measured);
    return measured[measured.length / 2];
  }
}
