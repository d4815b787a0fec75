package io.hodei.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.worker.WorkerId;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** What the provider does without an engine; needs no Docker. */
class DockerWorkerProviderTest {

  @ParameterizedTest
  @ValueSource(strings = {"unix:///nonexistent.sock", "tcp://127.0.0.1:1"})
  void anUnreachableEngineIsUnhealthyNamingTheHostAndAnsweredQuickly(String host) {
    try (var provider = new DockerWorkerProvider(DockerWorkerProvider.Config.defaults("d", "img:1").withDockerHost(host))) {
      long start = System.nanoTime();

      ProviderHealth health = provider.health();

      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
      assertThat(health)
          .isInstanceOfSatisfying(
              ProviderHealth.Unhealthy.class,
              u -> assertThat(u.reason()).startsWith("cannot connect to " + host + ": ").hasSizeGreaterThan(("cannot connect to " + host + ": ").length()));
    }
  }

  @Test
  void withoutAnEngineCreateDestroyAndRemoveOrphansFailAsUnavailableAndIsAliveAssumesTheWorkerRuns() {
    String host = "unix:///nonexistent.sock";
    try (var provider = new DockerWorkerProvider(DockerWorkerProvider.Config.defaults("d", "img:1").withDockerHost(host))) {
      var launch = new WorkerLaunch(new WorkerId("w-1"), "127.0.0.1:1", io.hodei.core.provider.WorkerBootstrap.plaintext("otp"), Map.of());
      var handle = new WorkerHandle(new WorkerId("w-1"), "d", "0123456789ab");

      assertThatThrownBy(() -> provider.create(launch))
          .isInstanceOf(UnavailableException.class)
          .hasMessageContaining(host)
          .hasMessageContaining("w-1");
      assertThatThrownBy(() -> provider.destroy(handle)).isInstanceOf(UnavailableException.class).hasMessageContaining(host);
      assertThatThrownBy(() -> provider.removeOrphans(w -> false)).isInstanceOf(UnavailableException.class).hasMessageContaining(host);
      assertThat(provider.isAlive(handle)).isTrue();
    }
  }

  @Test
  void defaultsAndValidation() {
    var config = DockerWorkerProvider.Config.defaults("docker", "hodei-worker:dev");
    assertThat(config.dockerHost()).isEqualTo("unix:///var/run/docker.sock");
    assertThat(config.cpus()).isEqualTo(1.0);
    assertThat(config.memoryBytes()).isEqualTo(512L * 1024 * 1024);
    assertThat(config.pidsLimit()).isEqualTo(512);
    assertThat(config.command()).isEmpty();
    assertThat(config.stopGrace()).isEqualTo(Duration.ofSeconds(15));
    assertThat(config.withCommand(List.of("sh")).withLimits(0, 0, 0).command()).containsExactly("sh");

    assertThatThrownBy(() -> config.withImage(" ")).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> config.withLimits(-1, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> config.withLimits(Double.NaN, 1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> config.withLimits(1, -1, 1)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> config.withStopGrace(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void containerNamesAreTheWorkerIdMadeSafeForDocker() {
    assertThat(DockerWorkerProvider.containerName(new WorkerId("w-abc123"))).isEqualTo("hodei-w-abc123");
    assertThat(DockerWorkerProvider.containerName(new WorkerId("w/a b:c"))).isEqualTo("hodei-w-a-b-c");
  }

  @Test
  void reasonsAreDockersOwnMessageOrTheRootCause() {
    var api = new com.github.dockerjava.api.exception.NotFoundException(
        "Status 404: {\"message\":\"No such image: x:1\"}\n");
    assertThat(DockerWorkerProvider.reason(api)).isEqualTo("No such image: x:1");
    var wrapped = new RuntimeException("outer", new java.io.IOException("Connection refused"));
    assertThat(DockerWorkerProvider.reason(wrapped)).isEqualTo("Connection refused");
  }
}
