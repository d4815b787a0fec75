package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.hodei.server.provisioning.PoolPolicy;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The database on a real 4 MiB tmpfs that fills up: a queued job is refused with
 * RESOURCE_EXHAUSTED naming the full disk (not a connection error, not INTERNAL), the server goes
 * on answering; readiness (the gRPC health service, {@code /ready}, {@code hodei_ready}) and the
 * waiting job's reason name the full disk; once there is room again the server sees it by itself
 * and queues as before. Needs root, for the mount.
 */
class StorageFullIT {
  @TempDir Path dir;
  private Path mounted;

  @AfterEach
  void unmount() throws Exception {
    if (mounted != null) {
      new ProcessBuilder("umount", "-l", mounted.toString()).inheritIO().start().waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aFullDiskIsAnsweredResourceExhaustedNamingItAndTheServerRecovers() throws Exception {
    assumeThat(System.getProperty("user.name")).as("mounting a tmpfs needs root").isEqualTo("root");
    Path data = Files.createDirectories(dir.resolve("data"));
    var mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", data.toString()).inheritIO().start();
    assumeThat(mount.waitFor(10, TimeUnit.SECONDS) && mount.exitValue() == 0).as("mount a tmpfs").isTrue();
    mounted = data;

    try (var plane =
        new TestControlPlane(dir, Clock.systemUTC(), PoolPolicy.DEFAULT,
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0), List.of("/nonexistent/hodei-worker"))) {
      String waiting = plane.queue(TestControlPlane.shell("true"));
      int metricsPort = plane.server.metrics().serve("127.0.0.1", 0);
      assertThat(ready(metricsPort)).isEqualTo("200 ready");
      assertThat(health(plane)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThat(health(plane, HodeiServer.READINESS_SERVICE)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThat(health(plane, HodeiServer.LIVENESS_SERVICE)).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      Path filler = data.resolve("filler");
      fill(filler);

      StatusRuntimeException refused = null;
      for (int i = 0; i < 50 && refused == null; i++) {
        // The first writes may still fit in pages SQLite already has.
        refused = catchThrowableOfType(StatusRuntimeException.class,
            () -> plane.queue(TestControlPlane.shell("echo", "x".repeat(50_000))));
      }
      assertThat(refused).as("a write refused once the disk is full").isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(refused.getStatus().getDescription()).contains("disk is full");
      // Readiness, the metrics and the waiting job say it too.
      await().until(() -> health(plane) == HealthCheckResponse.ServingStatus.NOT_SERVING);
      assertThat(health(plane, HodeiServer.READINESS_SERVICE)).isEqualTo(HealthCheckResponse.ServingStatus.NOT_SERVING);
      assertThat(health(plane, HodeiServer.LIVENESS_SERVICE))
          .as("alive all the same: a restart would not mend the disk").isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
      assertThat(ready(metricsPort)).startsWith("503 not ready: the control plane cannot write to its database: the database's disk is full");
      assertThat(plane.server.metrics().scrape()).contains("hodei_ready 0.0");
      assertThat(plane.get(waiting).getWaitingReason())
          .isEqualTo("the control plane cannot write to its database (the database's disk is full); this job's changes are held until an admin fixes it");

      Files.delete(filler);
      // An idle server notices by itself: it probes the storage while it is failing.
      await().until(() -> health(plane) == HealthCheckResponse.ServingStatus.SERVING);
      assertThat(ready(metricsPort)).isEqualTo("200 ready");
      assertThat(plane.get(waiting).getWaitingReason()).doesNotContain("database");
      assertThat(plane.queue(TestControlPlane.shell("true"))).as("room again: queued as before").isNotBlank();
    }
  }

  /** The gRPC health service's overall status, asked without any credential. */
  private static HealthCheckResponse.ServingStatus health(TestControlPlane plane) {
    return HealthGrpc.newBlockingStub(plane.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.getDefaultInstance()).getStatus();
  }

  /** The gRPC health service's status for {@code service}, asked without any credential. */
  private static HealthCheckResponse.ServingStatus health(TestControlPlane plane, String service) {
    return HealthGrpc.newBlockingStub(plane.channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .check(HealthCheckRequest.newBuilder().setService(service).build()).getStatus();
  }

  /** GET /ready: the status code and the body's first line. */
  private static String ready(int port) throws Exception {
    try (var client = HttpClient.newHttpClient()) {
      var response = client.send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/ready")).build(),
          HttpResponse.BodyHandlers.ofString());
      return response.statusCode() + " " + response.body().strip();
    }
  }

  private static void fill(Path file) {
    byte[] chunk = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(file)) {
      while (true) {
        out.write(chunk);
      }
    } catch (IOException expected) {
      // no space left on device
    }
  }
}
