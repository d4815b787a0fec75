package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {

  @Test
  void theEnvironmentGivesTheRequiredAndOptionalSettings() {
    WorkerConfig config =
        WorkerConfig.fromEnvironment(
            Map.of(
                "HODEI_TOKEN", "otp-1",
                "HODEI_SERVER_ADDRESS", "control:9090",
                "HODEI_WORKER_ID", "w-1",
                "HODEI_WORKER_NAME", "builder",
                "HODEI_WORKER_LABELS", " zone = eu , gpu=true,,"));

    assertThat(config.token()).isEqualTo("otp-1");
    assertThat(config.serverAddress()).isEqualTo("control:9090");
    assertThat(config.workerId()).isEqualTo("w-1");
    assertThat(config.name()).isEqualTo("builder");
    assertThat(config.labels())
        .containsExactlyInAnyOrderEntriesOf(Map.of("zone", "eu", "gpu", "true"));
    assertThat(config.logBatching()).isEqualTo(WorkerConfig.LogBatching.defaults());
    assertThat(config.reconnect().deadline()).isEqualTo(Duration.ofMinutes(5));
    assertThat(config.tempRoot().getFileName().toString()).isEqualTo("hodei-worker-w-1");
  }

  @Test
  void theNameDefaultsToTheWorkerId() {
    WorkerConfig config =
        WorkerConfig.fromEnvironment(
            Map.of(
                "HODEI_TOKEN", "t",
                "HODEI_SERVER_ADDRESS", "[::1]:9090",
                "HODEI_WORKER_ID", "w-2"));

    assertThat(config.name()).isEqualTo("w-2");
    assertThat(config.labels()).isEmpty();
  }

  @Test
  void missingVariablesAreAllNamed() {
    assertThatThrownBy(() -> WorkerConfig.fromEnvironment(Map.of("HODEI_WORKER_ID", "w")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HODEI_TOKEN")
        .hasMessageContaining("HODEI_SERVER_ADDRESS")
        .hasMessageNotContaining("HODEI_WORKER_ID");
  }

  @Test
  void aServerAddressWithoutPortIsRefused() {
    assertThatThrownBy(() -> WorkerConfig.of("t", "control", "w"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("host:port");
  }

  @Test
  void malformedLabelsAreRefused() {
    assertThatThrownBy(() -> WorkerConfig.parseLabels("zone"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> WorkerConfig.parseLabels("a=1,a=2"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theTokenNeverAppearsInTheTextForm() {
    WorkerConfig config = WorkerConfig.of("super-secret-otp", "host:1", "w");

    assertThat(config.toString()).doesNotContain("super-secret-otp").contains("host:1");
  }
}
