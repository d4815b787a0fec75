package io.hodei.cli;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.StreamLogsRequest;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Prints a job's log, stdout lines to stdout and stderr lines to stderr, as bytes. When following,
 * it survives a restarting server: it reconnects from the next line it has not printed yet.
 */
final class LogFollower {
  private static final Duration RECONNECT_FOR = Duration.ofSeconds(60);

  private final Channel channel;
  private final PrintStream out;
  private final PrintStream err;
  private long next;

  LogFollower(Channel channel, PrintStream out, PrintStream err, long from) {
    this.channel = channel;
    this.out = out;
    this.err = err;
    this.next = from;
  }

  /** Prints until the log ends; returns the final state if the job ended, empty otherwise. */
  Optional<JobState> print(String jobId, boolean follow) {
    var stub = LogStreamServiceGrpc.newBlockingStub(channel);
    Instant giveUp = null;
    while (true) {
      try {
        var responses =
            stub.streamLogs(
                StreamLogsRequest.newBuilder()
                    .setJobId(jobId)
                    .setFromSequence(next)
                    .setFollow(follow)
                    .build());
        while (responses.hasNext()) {
          var response = responses.next();
          giveUp = null;
          for (LogLine line : response.getLinesList()) {
            print(line, out, err);
            next = line.getSequence() + 1;
          }
          out.flush();
          err.flush();
          if (response.getFinalState() != JobState.JOB_STATE_UNSPECIFIED) {
            return Optional.of(response.getFinalState());
          }
        }
        return Optional.empty();
      } catch (StatusRuntimeException e) {
        if (!follow || !worthReconnecting(e.getStatus())) {
          throw e;
        }
        Instant now = Instant.now();
        if (giveUp == null) {
          giveUp = now.plus(RECONNECT_FOR);
          err.println("hodei: lost the server, reconnecting...");
        } else if (now.isAfter(giveUp)) {
          throw e;
        }
        sleep(Duration.ofMillis(500));
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /**
   * Prints one line as the job wrote it: its bytes, then a newline unless the job wrote none after
   * them ({@code no_newline}: a piece of a longer line, or a last line without one).
   */
  static void print(LogLine line, PrintStream out, PrintStream err) throws java.io.IOException {
    PrintStream target = line.getStream() == LogStream.LOG_STREAM_STDERR ? err : out;
    line.getData().writeTo(target);
    if (!line.getNoNewline()) {
      target.write('\n');
    }
  }

  /**
   * Whether a follower should reconnect: the server or the connection went away (UNAVAILABLE,
   * a GOAWAY however it is coded, a reset stream), not a refusal of the call itself. Resuming
   * from the next unprinted sequence repeats and loses nothing.
   */
  static boolean worthReconnecting(Status status) {
    String description = status.getDescription() == null ? "" : status.getDescription();
    return switch (status.getCode()) {
      case UNAVAILABLE, ABORTED -> true;
      case INTERNAL, UNKNOWN, CANCELLED -> description.contains("RST_STREAM") || description.contains("GOAWAY")
          || description.contains("connection") || description.contains("Connection");
      case RESOURCE_EXHAUSTED -> description.contains("GOAWAY") || description.contains("too_many_pings");
      default -> false;
    };
  }

  private static void sleep(Duration d) {
    try {
      Thread.sleep(d);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
