package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class HodeiConfigTest {
  @TempDir Path dir;

  private Path write(String yaml) throws Exception {
    Path file = dir.resolve("hodei.yaml");
    Files.writeString(file, yaml);
    return file;
  }

  @Test
  void everyKeyOfTheFileIsRead() throws Exception {
    var config =
        HodeiConfig.load(
            write(
                """
                server:
                  port: 6000
                  strategy: bin-pack
                  heartbeat-interval: 2s
                  heartbeat-timeout: 10s
                  kill-grace: 3s
                  log-cap-mib: 10
                providers:
                  fast:
                    type: local
                    max-workers: 8
                    min-idle: 2
                    idle-timeout: 5m
                    max-lifetime: 1h
                    ephemeral: true
                    jobs-per-worker: 3
                    labels: {zone: eu-1a}
                """));

    assertThat(config.server().port()).isEqualTo(6000);
    assertThat(config.server().strategy()).isEqualTo("bin-pack");
    assertThat(config.server().logCapMib()).isEqualTo(10);
    var fast = config.providers().get("fast");
    PoolPolicy policy = fast.policy("fast", PoolPolicy.DEFAULT);
    assertThat(policy)
        .isEqualTo(new PoolPolicy(8, Duration.ofMinutes(5), PoolPolicy.DEFAULT.registrationTimeout(), 2, Duration.ofHours(1), true, 3));
    assertThat(fast.labelsOrEmpty()).isEqualTo(Map.of("zone", "eu-1a"));
  }

  @Test
  void whatTheFileDoesNotSayKeepsItsDefault() throws Exception {
    var config = HodeiConfig.load(write("providers:\n  local:\n    max-workers: 2\n"));
    assertThat(config.server().port()).isNull();
    assertThat(config.providers().get("local").policy("local", PoolPolicy.DEFAULT).idleTimeout())
        .isEqualTo(PoolPolicy.DEFAULT.idleTimeout());
    assertThat(HodeiConfig.load(write("")).providers()).isEmpty();
  }

  @Test
  void mistakesAreOneLineErrorsNamingTheKey() throws Exception {
    assertThatThrownBy(() -> HodeiConfig.load(write("server:\n  prot: 1\n")))
        .hasMessageContaining("prot")
        .hasMessageContaining("server");
    assertThatThrownBy(
            () -> HodeiConfig.load(write("providers:\n  local:\n    idle-timeout: soon\n")).providers().get("local")
                .policy("local", PoolPolicy.DEFAULT))
        .hasMessageStartingWith("providers.local.idle-timeout:");
    assertThatThrownBy(() -> HodeiConfig.load(dir.resolve("missing.yaml"))).hasMessageContaining("does not exist");
  }

  @Test
  void aFlagBeatsTheEnvironmentWhichBeatsTheFile() {
    var dev = new DevCommand();
    new CommandLine(dev).parseArgs("--max-workers", "7");
    var file = new HodeiConfig(HodeiConfig.Server.EMPTY, Map.of());
    var settings = new DevCommand.Settings(dev.spec, file, Map.of("HODEI_MAX_WORKERS", "5", "HODEI_MIN_IDLE", "2"));

    assertThat(settings.value("--max-workers", dev.maxWorkers, "HODEI_MAX_WORKERS", Integer::parseInt, 3)).isEqualTo(7);
    assertThat(settings.value("--min-idle", dev.minIdle, "HODEI_MIN_IDLE", Integer::parseInt, 1)).isEqualTo(2);
    assertThat(settings.value("--jobs-per-worker", dev.jobsPerWorker, "HODEI_JOBS_PER_WORKER", Integer::parseInt, 4)).isEqualTo(4);
    assertThat(settings.value("--port", dev.port, "HODEI_PORT", Integer::parseInt, null)).isEqualTo(50051);
    assertThatThrownBy(
            () -> new DevCommand.Settings(dev.spec, file, Map.of("HODEI_PORT", "many"))
                .value("--port", dev.port, "HODEI_PORT", Integer::parseInt, null))
        .hasMessageStartingWith("HODEI_PORT='many'");
  }
}
