package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.server.PoolSpec;
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

  private static java.util.List<PoolSpec> pools(HodeiConfig file, Map<String, String> env, String... args) {
    var dev = new DevCommand();
    new CommandLine(dev).parseArgs(args);
    return dev.pools(new DevCommand.Settings(dev.spec, file, env));
  }

  @Test
  void withNoFileThePoolIsLocalUnlessProviderDockerSaysOtherwise() {
    assertThat(pools(HodeiConfig.EMPTY, Map.of())).singleElement().isInstanceOf(PoolSpec.Local.class);

    var docker = pools(HodeiConfig.EMPTY, Map.of("DOCKER_HOST", "tcp://127.0.0.1:2375"), "--provider", "docker", "--max-workers", "3");
    assertThat(docker).singleElement().isInstanceOfSatisfying(
        PoolSpec.Docker.class,
        d -> {
          assertThat(d.name()).isEqualTo("docker");
          assertThat(d.policy().maxWorkers()).isEqualTo(3);
          assertThat(d.docker().image()).isEqualTo("hodei-worker:dev");
          assertThat(d.docker().dockerHost()).isEqualTo("tcp://127.0.0.1:2375");
        });
    assertThat(pools(HodeiConfig.EMPTY, Map.of("HODEI_PROVIDER", "docker", "HODEI_DOCKER_IMAGE", "mine:1")))
        .singleElement()
        .isInstanceOfSatisfying(PoolSpec.Docker.class, d -> assertThat(d.docker().image()).isEqualTo("mine:1"));
    assertThatThrownBy(() -> pools(HodeiConfig.EMPTY, Map.of(), "--provider", "kubernetes"))
        .hasMessage("--provider: unknown provider type 'kubernetes'; known: local, docker");
  }

  @Test
  void aDockerSectionSetsTheImageEngineAndLimits() throws Exception {
    var file =
        HodeiConfig.load(
            write(
                """
                providers:
                  local:
                    max-workers: 2
                  containers:
                    type: docker
                    image: registry.example/hodei-worker:1.0
                    docker-host: tcp://127.0.0.1:2375
                    cpus: 0.5
                    memory: 256Mi
                    pids-limit: 100
                    job-sandbox: uids
                    max-workers: 6
                    labels: {isolation: container}
                """));

    var all = pools(file, Map.of());
    assertThat(all).extracting(PoolSpec::name).containsExactly("local", "containers");
    var docker = (PoolSpec.Docker) all.get(1);
    assertThat(docker.docker())
        .isEqualTo(
            io.hodei.provider.docker.DockerWorkerProvider.Config.defaults("containers", "registry.example/hodei-worker:1.0")
                .withDockerHost("tcp://127.0.0.1:2375")
                .withLimits(0.5, 256L * 1024 * 1024, 100)
                .withJobSandbox(io.hodei.provider.docker.DockerWorkerProvider.JobSandbox.UIDS));
    assertThat(docker.policy().maxWorkers()).isEqualTo(6);
    assertThat(docker.labels()).isEqualTo(Map.of("isolation", "container"));

    assertThat(pools(file, Map.of(), "--provider", "docker")).extracting(PoolSpec::name).containsExactly("containers");
    assertThat(pools(file, Map.of(), "--provider", "local")).extracting(PoolSpec::name).containsExactly("local");
    assertThatThrownBy(() -> pools(file, Map.of(), "--provider", "gpu"))
        .hasMessage("--provider: the configuration file has no provider named or of type 'gpu'; it has: local, containers");
  }

  @Test
  void dockerKeysOnALocalPoolAndUnknownTypesAreRefused() throws Exception {
    var local = HodeiConfig.load(write("providers:\n  here:\n    type: local\n    image: x:1\n    cpus: 2\n"));
    assertThatThrownBy(() -> pools(local, Map.of()))
        .hasMessage("providers.here: image, cpus apply to docker pools only; this pool is of type local");

    var unknown = HodeiConfig.load(write("providers:\n  k8s:\n    type: kubernetes\n"));
    assertThatThrownBy(() -> pools(unknown, Map.of()))
        .hasMessage("providers.k8s.type: unknown provider type 'kubernetes'; known: local, docker");

    var badMemory = HodeiConfig.load(write("providers:\n  d:\n    type: docker\n    memory: lots\n"));
    assertThatThrownBy(() -> pools(badMemory, Map.of())).hasMessageStartingWith("providers.d.memory 'lots'");

    var sandbox = HodeiConfig.load(write("providers:\n  d:\n    type: docker\n    job-sandbox: none\n"));
    assertThatThrownBy(() -> pools(sandbox, Map.of()))
        .hasMessage("providers.d: job sandbox must be namespaces or uids, not 'none'");
    var sandboxOnLocal = HodeiConfig.load(write("providers:\n  here:\n    job-sandbox: uids\n"));
    assertThatThrownBy(() -> pools(sandboxOnLocal, Map.of()))
        .hasMessage("providers.here: job-sandbox applies to docker pools only; this pool is of type local");

    var negative = HodeiConfig.load(write("providers:\n  d:\n    type: docker\n    cpus: -1\n"));
    assertThatThrownBy(() -> pools(negative, Map.of())).hasMessageStartingWith("providers.d: cpus must be");
  }

  @Test
  void aFileThatIsNoYamlIsOneLineNamingTheFileAndWhere() throws Exception {
    Path tabs = write("server:\n\tport: 1\n");
    assertThatThrownBy(() -> HodeiConfig.load(tabs))
        .isInstanceOfSatisfying(HodeiCli.UserError.class, e -> assertThat(e.exitCode()).isEqualTo(65))
        .hasMessageStartingWith("configuration file " + tabs + " is not valid YAML: ")
        .hasMessageContaining("at line 2, column 1")
        .hasMessageNotContaining("\n");
    Path inASection = write("providers:\n  x:\n    docker-host: |\n  text\n\n    jobs-per-worker: 1\n");
    assertThatThrownBy(() -> HodeiConfig.load(inASection))
        .hasMessageStartingWith("configuration file " + inASection + " is not valid YAML: ")
        .hasMessageContaining("at line ")
        .hasMessageNotContaining("\n");
    Path nul = write("server:\n  strategy: a\0b\n");
    assertThatThrownBy(() -> HodeiConfig.load(nul))
        .hasMessage("configuration file " + nul + " is not valid YAML: character U+0000 is not allowed in YAML (at offset 21)");
    Path latin1 = dir.resolve("latin1.yaml");
    Files.write(latin1, new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});
    assertThatThrownBy(() -> HodeiConfig.load(latin1)).hasMessage("configuration file " + latin1 + " is not UTF-8 text");
  }

  @Test
  void anEmptyPoolSectionIsAPoolOfDefaults() throws Exception {
    // Once a NullPointerException in hodei dev, printed as "hodei: Cannot invoke ...".
    var file = HodeiConfig.load(write("providers:\n  local:\n  containers:\n    type: docker\n"));
    assertThat(pools(file, Map.of())).extracting(PoolSpec::name).containsExactly("local", "containers");
    assertThat(pools(file, Map.of()).get(0)).isInstanceOf(PoolSpec.Local.class);
  }

  @Test
  void aPoolPolicyTheFileMakesImpossibleNamesThePool() throws Exception {
    // Once "hodei: min idle must be between 0 and max workers (1), got 2", naming no pool.
    var file = HodeiConfig.load(write("providers:\n  local:\n  big:\n    max-workers: 1\n    min-idle: 2\n"));
    assertThatThrownBy(() -> pools(file, Map.of()))
        .isInstanceOfSatisfying(HodeiCli.UserError.class, e -> assertThat(e.exitCode()).isEqualTo(65))
        .hasMessage("providers.big: min idle must be between 0 and max workers (1), got 2");
    var zero = HodeiConfig.load(write("providers:\n  local:\n    max-workers: 0\n"));
    assertThatThrownBy(() -> pools(zero, Map.of())).hasMessage("providers.local: max workers must be at least 1, got 0");
  }

  @Test
  void aValueOrKeyOfSeveralLinesIsQuotedOnOneLine() throws Exception {
    Path value = write("server: |\n  two\n  lines\n");
    assertThatThrownBy(() -> HodeiConfig.load(value))
        .hasMessageStartingWith("configuration file " + value + ": ")
        .hasMessageContaining("'two\\nlines'")
        .hasMessageEndingWith(" at server");
    Path key = write("server:\n  ? |\n    two\n    lines\n  : 1\n");
    assertThatThrownBy(() -> HodeiConfig.load(key))
        .hasMessageStartingWith("configuration file " + key + ": unknown key server.two\\nlines\\n; known there: ");
  }
}
