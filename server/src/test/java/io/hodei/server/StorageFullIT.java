package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assumptions.assumeThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.server.provisioning.PoolPolicy;
import java.io.IOException;
import java.io.OutputStream;
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
 * on answering, and once there is room again it queues as before. Needs root, for the mount.
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
        new ControlPlane(dir, Clock.systemUTC(), PoolPolicy.DEFAULT,
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0), List.of("/nonexistent/hodei-worker"))) {
      assertThat(plane.queue(ControlPlane.shell("true"))).isNotBlank();
      Path filler = data.resolve("filler");
      fill(filler);

      StatusRuntimeException refused = null;
      for (int i = 0; i < 50 && refused == null; i++) {
        // The first writes may still fit in pages SQLite already has.
        refused = catchThrowableOfType(StatusRuntimeException.class,
            () -> plane.queue(ControlPlane.shell("echo", "x".repeat(50_000))));
      }
      assertThat(refused).as("a write refused once the disk is full").isNotNull();
      assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
      assertThat(refused.getStatus().getDescription()).contains("disk is full");

      Files.delete(filler);
      assertThat(plane.queue(ControlPlane.shell("true"))).as("room again: queued as before").isNotBlank();
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
