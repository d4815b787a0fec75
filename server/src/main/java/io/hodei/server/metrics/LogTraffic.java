package io.hodei.server.metrics;

import java.util.concurrent.atomic.LongAdder;

/**
 * Counts the log traffic between workers and this server process: {@code log_batch} messages
 * and their lines received, {@code StreamLogs} responses and their lines sent. {@link
 * ServerMetrics} exposes them as Prometheus counters ({@code hodei_log_batches_received_total}
 * and so on), which is how the {@code logs} benchmark measures gRPC messages per 1,000 lines.
 *
 * <p>Process-wide and thread-safe: the counts only grow, and each is a {@link LongAdder}, so the
 * hot path (one increment per message, never per line) does not contend between worker streams.
 * Several servers in one JVM (tests) share the counts; nothing but metrics reads them.
 */
public final class LogTraffic {
  private static final LongAdder BATCHES_RECEIVED = new LongAdder();
  private static final LongAdder LINES_RECEIVED = new LongAdder();
  private static final LongAdder RESPONSES_SENT = new LongAdder();
  private static final LongAdder LINES_SENT = new LongAdder();

  private LogTraffic() {}

  /** A worker's {@code log_batch} of {@code lines} lines arrived. */
  public static void batchReceived(int lines) {
    BATCHES_RECEIVED.increment();
    LINES_RECEIVED.add(lines);
  }

  /** A {@code StreamLogsResponse} of {@code lines} lines went to a reader. */
  public static void responseSent(int lines) {
    RESPONSES_SENT.increment();
    LINES_SENT.add(lines);
  }

  public static long batchesReceived() {
    return BATCHES_RECEIVED.sum();
  }

  public static long linesReceived() {
    return LINES_RECEIVED.sum();
  }

  public static long responsesSent() {
    return RESPONSES_SENT.sum();
  }

  public static long linesSent() {
    return LINES_SENT.sum();
  }
}
