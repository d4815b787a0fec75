package io.hodei.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.provider.docker.DockerWorkerProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * {@link UntrustedJobIT} on {@code hodei dev --provider docker}: workers are containers of the
 * image {@code docker/build-worker-image.sh} builds (with the few extra tools the attacks use).
 * Skipped, by assumption, only when no Docker engine answers.
 */
class DockerUntrustedJobIT extends UntrustedJobIT {
  static final String IMAGE = System.getProperty("hodei.it.untrusted-image", "hodei-worker:untrusted-it");
  static final String TOOLS =
      "echo test seq sha256sum sleep cat env ls mkdir rm cp mv touch chmod ln head tail wc sort uniq tr cut tee date id"
          + " uname hostname basename dirname printf true false grep sed od base64 base32 find dd nohup setsid kill stat ps";

  @Override
  void prepare() throws Exception {
    String host =
        Optional.ofNullable(System.getenv("DOCKER_HOST")).filter(h -> !h.isBlank()).orElse(DockerWorkerProvider.DEFAULT_DOCKER_HOST);
    try (var probe = new DockerWorkerProvider(DockerWorkerProvider.Config.defaults("probe", IMAGE).withDockerHost(host))) {
      var health = probe.health();
      assumeTrue(!(health instanceof ProviderHealth.Unhealthy), () -> "no Docker engine at " + host + ": " + health);
    }
    var builder = new ProcessBuilder("bash", Path.of("..", "docker", "build-worker-image.sh").toString(), IMAGE).redirectErrorStream(true);
    builder.environment().put("HODEI_IMAGE_TOOLS", TOOLS);
    Process build = builder.start();
    String output = new String(build.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    build.waitFor(5, TimeUnit.MINUTES);
    assertEquals(0, build.exitValue(), () -> "could not build " + IMAGE + ":\n" + output);
  }

  @Override
  List<String> providerArguments() {
    return List.of("--provider", "docker", "--docker-image", IMAGE);
  }

  /** Worker JVMs in containers: host processes running WorkerMain that are not local workers' children. */
  @Override
  List<Long> workerPids() {
    return ProcessHandle.allProcesses()
        .filter(p -> cmdline(p.pid()).contains("io.hodei.worker.WorkerMain") || cmdline(p.pid()).contains("/opt/hodei/"))
        .filter(p -> p.parent().map(parent -> !cmdline(parent.pid()).contains("io.hodei.cli.HodeiCli")).orElse(true))
        .map(ProcessHandle::pid)
        .toList();
  }

  @Override
  boolean inContainers() {
    return true;
  }
}
