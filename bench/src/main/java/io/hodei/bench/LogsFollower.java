package io.hodei.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.StreamLogsResponse;

/**
 * Reads one job's log over {@code StreamLogs} and checks it against what {@link LogsBench}'s
 * generator writes: line {@code i} is exactly {@code lineBytes - 1} bytes (the newline is not
 * kept) and starts with {@code i} in ten zero-padded digits. So a line missing, doubled or out of
 * order fails the benchmark, at the first line where it happens.
 *
 * <p>Reads with the blocking stub, which asks gRPC for one message at a time: the follower takes
 * the log as fast as it can consume it and no faster (flow control, as a real slow client).
 */
final class LogsFollower {
  /**
   * What one read saw.
   *
   * @param firstLineNanos {@link System#nanoTime()} when the first line arrived; 0 without lines
   * @param lastLineNanos the same for the last line
   * @param lastLineEpochNanos the wall clock (epoch nanoseconds) at the last line, to compare with
   *     the server's timestamps
   */
  record Result(
      long lines,
      long bytes,
      long messages,
      JobState finalState,
      long firstLineNanos,
      long lastLineNanos,
      long lastLineEpochNanos) {
    double linesPerSecond() {
      return lines / ((lastLineNanos - firstLineNanos) / 1e9);
    }
  }

  private LogsFollower() {}

  /** Reads from the beginning; with {@code follow}, until the job is final. */
  static Result read(ManagedChannel channel, String jobId, boolean follow, int lineBytes) {
    var stub = LogStreamServiceGrpc.newBlockingStub(channel);
    var responses =
        stub.streamLogs(StreamLogsRequest.newBuilder().setJobId(jobId).setFollow(follow).build());
    long lines = 0;
    long bytes = 0;
    long messages = 0;
    long first = 0;
    long last = 0;
    JobState state = JobState.JOB_STATE_UNSPECIFIED;
    while (responses.hasNext()) {
      StreamLogsResponse response = responses.next();
      messages++;
      if (response.getLinesCount() > 0) {
        if (first == 0) {
          first = System.nanoTime();
        }
        for (LogLine line : response.getLinesList()) {
          check(line, lines, lineBytes);
          lines++;
          bytes += line.getData().size();
        }
        last = System.nanoTime();
      }
      if (response.getFinalState() != JobState.JOB_STATE_UNSPECIFIED) {
        state = response.getFinalState();
      }
    }
    long lastEpoch = epochNanos() - (System.nanoTime() - last);
    return new Result(lines, bytes, messages, state, first, last, lastEpoch);
  }

  private static void check(LogLine line, long expected, int lineBytes) {
    ByteString data = line.getData();
    if (line.getSequence() != expected) {
      throw new BenchFailure("line " + expected + " came with sequence " + line.getSequence());
    }
    if (data.size() != lineBytes - 1) {
      throw new BenchFailure("line " + expected + " has " + data.size() + " bytes: " + data.toStringUtf8());
    }
    long number = 0;
    for (int i = 0; i < 10; i++) {
      int digit = data.byteAt(i) - '0';
      if (digit < 0 || digit > 9) {
        throw new BenchFailure("line " + expected + " does not start with its number: " + data.toStringUtf8());
      }
      number = number * 10 + digit;
    }
    if (number != expected) {
      throw new BenchFailure("line " + expected + " is line " + number + " of the job: missing or out of order");
    }
  }

  static long epochNanos() {
    java.time.Instant now = java.time.Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }
}
