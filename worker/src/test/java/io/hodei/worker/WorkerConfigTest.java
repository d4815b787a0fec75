package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerConfigTest {
  private static final Bootstrap TOKEN = Bootstrap.ofToken("t");

  @Test
  void theEnvironmentGivesTheRequiredAndOptionalSettings() {
    WorkerConfig config =
        WorkerConfig.fromEnvironment(
            Map.of(
                "HODEI_SERVER_ADDRESS", "control:9090",
                "HODEI_WORKER_ID", "w-1",
                "HODEI_WORKER_NAME", "builder",
                "HODEI_WORKER_LABELS", " zone = eu , gpu=true,,"),
            Bootstrap.ofToken("otp-1"));

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
                "HODEI_SERVER_ADDRESS", "[::1]:9090",
                "HODEI_WORKER_ID", "w-2"),
            TOKEN);

    assertThat(config.name()).isEqualTo("w-2");
    assertThat(config.labels()).isEmpty();
  }

  @Test
  void missingVariablesAreAllNamed() {
    assertThatThrownBy(() -> WorkerConfig.fromEnvironment(Map.of("HODEI_WORKER_ID", "w"), TOKEN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("HODEI_SERVER_ADDRESS")
        .hasMessageNotContaining("HODEI_WORKER_ID");
  }

  @Test
  void theTokenComesFromTheBootstrapNotFromTheEnvironment() {
    WorkerConfig config =
        WorkerConfig.fromEnvironment(
            Map.of("HODEI_SERVER_ADDRESS", "h:1", "HODEI_WORKER_ID", "w", "HODEI_TOKEN", "from-env"),
            Bootstrap.ofToken("from-bootstrap"));

    assertThat(config.token()).isEqualTo("from-bootstrap");
    assertThat(config.toString()).doesNotContain("from-bootstrap");
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
  void theKillGracePeriodIsTenSecondsUnlessTheEnvironmentSetsIt() {
    Map<String, String> required =
        Map.of("HODEI_SERVER_ADDRESS", "h:1", "HODEI_WORKER_ID", "w");
    assertThat(WorkerConfig.fromEnvironment(required, TOKEN).killGracePeriod())
        .isEqualTo(Duration.ofSeconds(10));

    Map<String, String> env = new HashMap<>(required);
    env.put("HODEI_KILL_GRACE", " 2m ");
    assertThat(WorkerConfig.fromEnvironment(env, TOKEN).killGracePeriod())
        .isEqualTo(Duration.ofMinutes(2));
  }

  @Test
  void resourceUsageIsSampledEvery35SecondsUnlessTheEnvironmentSaysOtherwise() {
    Map<String, String> required =
        Map.of("HODEI_SERVER_ADDRESS", "h:1", "HODEI_WORKER_ID", "w");
    assertThat(WorkerConfig.fromEnvironment(required, TOKEN).metricsTtl())
        .isEqualTo(Duration.ofSeconds(35));

    Map<String, String> env = new HashMap<>(required);
    env.put("HODEI_METRICS_TTL", "500ms");
    assertThat(WorkerConfig.fromEnvironment(env, TOKEN).metricsTtl()).isEqualTo(Duration.ofMillis(500));

    env.put("HODEI_METRICS_TTL", "soon");
    assertThatThrownBy(() -> WorkerConfig.fromEnvironment(env, TOKEN))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("HODEI_METRICS_TTL: ");
  }

  @Test
  void durationsAreAWholeNumberAndAUnit() {
    assertThat(WorkerConfig.parseDuration("500ms", "V")).isEqualTo(Duration.ofMillis(500));
    assertThat(WorkerConfig.parseDuration("10s", "V")).isEqualTo(Duration.ofSeconds(10));
    assertThat(WorkerConfig.parseDuration("2m", "V")).isEqualTo(Duration.ofMinutes(2));
    assertThat(WorkerConfig.parseDuration("1h", "V")).isEqualTo(Duration.ofHours(1));
  }

  @Test
  void aMalformedKillGraceIsRefusedNamingTheVariable() {
    for (String bad : List.of("10", "ten seconds", "1.5s", "-1s", "s", "5 d", "0s", "")) {
      Map<String, String> env =
          Map.of(
              "HODEI_SERVER_ADDRESS", "h:1",
              "HODEI_WORKER_ID", "w",
              "HODEI_KILL_GRACE", bad.isEmpty() ? "99999999999999999999s" : bad);
      assertThatThrownBy(() -> WorkerConfig.fromEnvironment(env, TOKEN))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("HODEI_KILL_GRACE: ");
    }
  }

  @Test
  void theTokenNeverAppearsInTheTextForm() {
    WorkerConfig config = WorkerConfig.of("super-secret-otp", "host:1", "w");

    assertThat(config.toString()).doesNotContain("super-secret-otp").contains("host:1");
  }
}
