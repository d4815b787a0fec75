package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A live {@code hodei workers top -o json}, a real process, across a kill -9 and restart of
 * {@code hodei dev} on the same port: it reconnects by itself, goes on printing the samples of the
 * worker that outlived the server, and prints none twice.
 */
class WorkersTopReconnectIT {
  @TempDir Path dir;

  @Test
  void liveTopResumesAfterTheServerRestartsAndPrintsNoSampleTwice() throws Exception {
    Path data = dir.resolve("data");
    var server = new ServerProcess(data, List.of("--max-workers", "1", "--min-idle", "1"), Map.of("HODEI_METRICS_TTL", "1s"));
    List<ProcessHandle> workers = new ArrayList<>();
    Process top = null;
    try {
      server.start();
      var command = new ArrayList<>(List.of(
          Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", System.getProperty("java.class.path"),
          HodeiCli.class.getName(), "workers", "top", "-o", "json", "-n", "12", "--server", server.address()));
      var builder = new ProcessBuilder(command);
      builder.environment().put(DevAdminToken.ENV_FILE, data.resolve(DevAdminToken.FILE).toString());
      top = builder.start();
      List<String> lines = new CopyOnWriteArrayList<>();
      List<String> errors = new CopyOnWriteArrayList<>();
      Process running = top;
      Thread.ofVirtual().start(() -> readInto(running.getInputStream(), lines));
      Thread.ofVirtual().start(() -> readInto(running.getErrorStream(), errors));
      await().atMost(Duration.ofSeconds(60)).until(() -> lines.size() >= 2);
      workers.addAll(server.handle().descendants().toList());

      server.kill9();
      int beforeRestart = lines.size();
      server.start();

      assertThat(top.waitFor(120, TimeUnit.SECONDS)).as("top ends after its 12 samples").isTrue();
      assertThat(top.exitValue()).as(String.join("\n", errors)).isZero();
      assertThat(lines).hasSize(12).doesNotHaveDuplicates()
          .allSatisfy(line -> assertThat(line).startsWith("{\"workerId\":"));
      assertThat(beforeRestart).as("some samples came after the restart").isLessThan(12);
      assertThat(String.join("\n", errors)).contains("reconnecting");
      workers.addAll(server.handle().descendants().toList());
    } finally {
      if (top != null) {
        top.destroyForcibly();
      }
      server.close();
      workers.forEach(ProcessHandle::destroyForcibly);
    }
  }

  private static void readInto(java.io.InputStream in, List<String> lines) {
    try (var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        lines.add(line);
      }
    } catch (java.io.IOException e) {
      // the process ended
    }
  }
}
