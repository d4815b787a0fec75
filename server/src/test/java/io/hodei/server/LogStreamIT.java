package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.StreamLogsResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** StreamLogs against a real control plane, worker and SQLite store: pace and completeness. */
class LogStreamIT {
  @TempDir Path dir;

  /**
   * A log of many large messages is read at the pace of the connection. Each message is far
   * above gRPC's on-ready threshold (32 KiB), so the server waits for on-ready before every
   * message; when it waited on the call's own thread the on-ready handler could not run there
   * and every such wait ended only at its one-second re-check: 3 messages a second, so 40
   * messages took over 10 s. Now it takes a fraction of that.
   */
  @Test
  void aLogOfManyLargeMessagesIsReadAtTheConnectionsPace() throws Exception {
    try (var plane = TestControlPlane.start(dir)) {
      // 160,000 lines of 64 bytes: 10 MiB, some 40 messages of 4096 lines.
      String id =
          plane.queue(
              TestControlPlane.shell(
                  "bash", "-c", "seq -f '%010.0f " + "x".repeat(52) + "' 0 159999"));
      var followed = plane.follow(id);
      assertThat(followed.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
      assertThat(followed.lines()).hasSize(160_000);

      long started = System.nanoTime();
      var responses =
          LogStreamServiceGrpc.newBlockingStub(plane.channel)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .streamLogs(StreamLogsRequest.newBuilder().setJobId(id).build());
      long lines = 0;
      long messages = 0;
      while (responses.hasNext()) {
        StreamLogsResponse response = responses.next();
        for (var line : response.getLinesList()) {
          assertThat(line.getSequence()).isEqualTo(lines);
          assertThat(line.getData().toStringUtf8()).startsWith(String.format("%010d ", lines));
          lines++;
        }
        messages++;
      }
      double seconds = (System.nanoTime() - started) / 1e9;

      assertThat(lines).isEqualTo(160_000);
      assertThat(messages).isGreaterThanOrEqualTo(40);
      assertThat(seconds).as("seconds to read %d messages", messages).isLessThan(6.0);
    }
  }

  /**
   * Long lines make small batches, each stored as a chunk of its own; a message of up to 4096
   * lines would then be far beyond the 4 MiB a gRPC client takes by default. Messages are cut at
   * 1 MiB of line data instead, and every line still arrives once, in order.
   */
  @Test
  void longLinesComeInMessagesAClientTakes() throws Exception {
    try (var plane = TestControlPlane.start(dir)) {
      // 200 lines of 60,000 bytes: 12 MB.
      String id =
          plane.queue(
              TestControlPlane.shell("bash", "-c", "for i in $(seq 1 200); do printf '%60000d\\n' $i; done"));
      var followed = plane.follow(id);
      assertThat(followed.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

      var responses =
          LogStreamServiceGrpc.newBlockingStub(plane.channel)
              .withDeadlineAfter(60, TimeUnit.SECONDS)
              .streamLogs(StreamLogsRequest.newBuilder().setJobId(id).build());
      long lines = 0;
      while (responses.hasNext()) {
        StreamLogsResponse response = responses.next();
        assertThat(response.getSerializedSize()).isLessThan(2 * 1024 * 1024);
        for (var line : response.getLinesList()) {
          assertThat(line.getSequence()).isEqualTo(lines);
          assertThat(line.getData().size()).isEqualTo(60_000);
          assertThat(line.getData().toStringUtf8().strip()).isEqualTo(Long.toString(lines + 1));
          lines++;
        }
      }
      assertThat(lines).isEqualTo(200);
      assertThat(followed.lines()).hasSize(200);
    }
  }
}
