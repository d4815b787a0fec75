package io.hodei.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Frame;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerBootstrap;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.worker.WorkerId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Against a real Docker engine ({@code DOCKER_HOST}, else the local socket), with a tiny image
 * built from this machine's /bin/sh by {@code build-test-image.sh}. Skipped when no engine answers.
 */
class DockerWorkerProviderIT {
  static final String IMAGE = "hodei-test-sh:latest";
  /** The same, running as 10001:10001 as the worker image does. */
  static final String IMAGE_10001 = "hodei-test-sh:uid10001";
  static final String PROVIDER = "it-docker";
  /** On containers the tests make themselves, so that cleanup finds them. */
  static final String TEST_LABEL = "io.hodei.it";
  static final long MEMORY = 64L * 1024 * 1024;

  static String host;
  static DockerClient docker;

  private final List<DockerWorkerProvider> providers = new ArrayList<>();

  @BeforeAll
  static void engineAndImage() throws Exception {
    host = Optional.ofNullable(System.getenv("DOCKER_HOST")).filter(h -> !h.isBlank()).orElse(DockerWorkerProvider.DEFAULT_DOCKER_HOST);
    var config = DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(host).build();
    docker =
        DockerClientImpl.getInstance(
            config,
            new ZerodepDockerHttpClient.Builder()
                .dockerHost(config.getDockerHost())
                .sslConfig(config.getSSLConfig())
                .connectionTimeout(Duration.ofSeconds(3))
                .responseTimeout(Duration.ofSeconds(60))
                .build());
    String problem = null;
    try {
      docker.pingCmd().exec();
    } catch (RuntimeException e) {
      problem = DockerWorkerProvider.reason(e);
    }
    String why = problem;
    assumeTrue(why == null, () -> "no Docker engine at " + host + ": start dockerd, see .ci/run (" + why + ")");

    buildTestImage(IMAGE);
    buildTestImage(IMAGE_10001, "10001:10001");
  }

  private static void buildTestImage(String... args) throws Exception {
    Path script = Path.of(DockerWorkerProviderIT.class.getResource("/build-test-image.sh").toURI());
    var command = new ArrayList<>(List.of("bash", script.toString()));
    command.addAll(List.of(args));
    var build = new ProcessBuilder(command).redirectErrorStream(true);
    build.environment().put("DOCKER_HOST", host);
    Process process = build.start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertEquals(0, process.exitValue(), () -> "could not build " + args[0] + ":\n" + output);
  }

  @AfterAll
  static void closeClient() throws Exception {
    if (docker != null) {
      docker.close();
    }
  }

  @AfterEach
  void removeEveryTestContainer() {
    providers.forEach(DockerWorkerProvider::close);
    for (Container c : docker.listContainersCmd().withShowAll(true).exec()) {
      Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
      boolean ours =
          "true".equals(labels.get(TEST_LABEL))
              || ("true".equals(labels.get(DockerWorkerProvider.LABEL_MANAGED))
                  && labels.getOrDefault(DockerWorkerProvider.LABEL_PROVIDER, "").startsWith("it-"));
      if (ours) {
        try {
          docker.removeContainerCmd(c.getId()).withForce(true).exec();
        } catch (NotFoundException e) {
          // gone already
        }
      }
    }
  }

  private DockerWorkerProvider provider(String name, String image, List<String> command, Duration grace) {
    return provider(name, image, command, grace, DockerWorkerProvider.JobSandbox.NAMESPACES);
  }

  private DockerWorkerProvider provider(
      String name, String image, List<String> command, Duration grace, DockerWorkerProvider.JobSandbox sandbox) {
    var config =
        DockerWorkerProvider.Config.defaults(name, image)
            .withJobSandbox(sandbox)
            .withDockerHost(host)
            .withLimits(0.5, MEMORY, 64)
            .withCommand(command)
            .withWorkerEnv(Map.of("EXTRA", "x", "HODEI_WORKER_ID", "overridden-by-the-launch"))
            .withStopGrace(grace);
    var provider = new DockerWorkerProvider(config);
    providers.add(provider);
    return provider;
  }

  private DockerWorkerProvider sleeper(String name) {
    return provider(name, IMAGE, List.of("sh", "-c", "sleep 300"), Duration.ofSeconds(5));
  }

  private static WorkerLaunch launch(WorkerId worker) {
    return new WorkerLaunch(
        worker,
        "127.0.0.1:7070",
        new WorkerBootstrap(
            "otp-" + worker.value(),
            Optional.of(new WorkerBootstrap.Tls("ca-pem-" + worker.value(), "cert-pem-" + worker.value(), "key-pem-" + worker.value()))),
        Map.of("FROM_LAUNCH", "y"));
  }

  private static WorkerId newWorker() {
    return new WorkerId("w-it-" + UUID.randomUUID().toString().substring(0, 8));
  }

  private static Optional<InspectContainerResponse> inspect(String idOrName) {
    try {
      return Optional.of(docker.inspectContainerCmd(idOrName).exec());
    } catch (NotFoundException e) {
      return Optional.empty();
    }
  }

  private static String logs(String containerId) throws InterruptedException {
    var out = new StringBuilder();
    docker
        .logContainerCmd(containerId)
        .withStdOut(true)
        .withStdErr(true)
        .exec(
            new ResultCallback.Adapter<Frame>() {
              @Override
              public void onNext(Frame frame) {
                out.append(new String(frame.getPayload(), StandardCharsets.UTF_8));
              }
            })
        .awaitCompletion(5, TimeUnit.SECONDS);
    return out.toString();
  }

  /** Prints its settings, then its bootstrap file line by line (the image has no cat), then sleeps. */
  private static final List<String> SHOW_BOOTSTRAP =
      List.of(
          "sh",
          "-c",
          "echo $HODEI_WORKER_ID $HODEI_SERVER_ADDRESS ${HODEI_TOKEN:-no-token} $HODEI_BOOTSTRAP_FILE;"
              + " [ -O $HODEI_BOOTSTRAP_FILE ] && echo owned;"
              + " while read -r line; do echo \"$line\"; done < $HODEI_BOOTSTRAP_FILE; sleep 300");

  @Test
  void aWorkerRunsInALabelledLimitedContainerOnTheHostNetworkWithItsSettingsInItsEnvironment() throws Exception {
    var provider = provider(PROVIDER, IMAGE, SHOW_BOOTSTRAP, Duration.ofSeconds(5));
    WorkerId worker = newWorker();

    WorkerHandle handle = provider.create(launch(worker));

    assertThat(handle.workerId()).isEqualTo(worker);
    assertThat(handle.provider()).isEqualTo(PROVIDER);
    InspectContainerResponse c = inspect(handle.reference()).orElseThrow();
    assertThat(c.getName()).isEqualTo("/hodei-" + worker.value());
    assertThat(c.getState().getRunning()).isTrue();
    assertThat(c.getConfig().getLabels())
        .containsEntry("io.hodei.managed", "true")
        .containsEntry("io.hodei.provider", PROVIDER)
        .containsEntry("io.hodei.worker-id", worker.value());
    HostConfig hc = c.getHostConfig();
    assertThat(hc.getNetworkMode()).isEqualTo("host");
    assertThat(hc.getMemory()).isEqualTo(MEMORY);
    assertThat(hc.getNanoCPUs()).isEqualTo(500_000_000L);
    assertThat(hc.getPidsLimit()).isEqualTo(64L);
    assertThat(hc.getInit()).isTrue();
    assertThat(hc.getCapDrop()).containsExactly(Capability.ALL);
    assertThat(hc.getCapAdd())
        .containsExactlyInAnyOrder(
            Capability.SETUID, Capability.SETGID, Capability.SETPCAP, Capability.CHOWN, Capability.DAC_OVERRIDE,
            Capability.FOWNER, Capability.KILL, Capability.SYS_ADMIN, Capability.SYS_CHROOT);
    assertThat(hc.getSecurityOpts()).containsExactly("no-new-privileges:true");
    assertThat(c.getConfig().getEnv())
        .contains(
            "HODEI_JOB_SANDBOX=mount-namespace",
            "HODEI_JOB_CGROUPS=remount",
            "HODEI_WORKER_ID=" + worker.value(),
            "HODEI_SERVER_ADDRESS=127.0.0.1:7070",
            "HODEI_BOOTSTRAP_FILE=/tmp/hodei-bootstrap/bootstrap",
            "EXTRA=x",
            "FROM_LAUNCH=y");
    assertThat(String.join("\n", c.getConfig().getEnv()))
        .doesNotContain("otp-" + worker.value(), "key-pem", "cert-pem", "ca-pem", "HODEI_TOKEN");
    await().atMost(Duration.ofSeconds(10)).until(() -> logs(handle.reference()).contains("end"));
    assertThat(logs(handle.reference()).strip().lines().toList())
        .containsExactly(
            worker.value() + " 127.0.0.1:7070 no-token /tmp/hodei-bootstrap/bootstrap",
            "owned",
            "hodei-bootstrap 1",
            "token otp-" + worker.value(),
            "tls-ca " + base64("ca-pem-" + worker.value()),
            "tls-cert " + base64("cert-pem-" + worker.value()),
            "tls-key " + base64("key-pem-" + worker.value()),
            "end");
    assertThat(provider.isAlive(handle)).isTrue();

    long start = System.nanoTime();
    provider.destroy(handle);

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5)); // SIGTERM sufficed
    assertThat(inspect(handle.reference())).isEmpty();
    assertThat(provider.isAlive(handle)).isFalse();
    provider.destroy(handle); // idempotent
  }

  @Test
  void aPoolWhoseJobsShareTheContainerGivesItNoSysAdmin() {
    var provider = provider(PROVIDER, IMAGE, List.of("sh", "-c", "sleep 300"), Duration.ofSeconds(5), DockerWorkerProvider.JobSandbox.UIDS);

    WorkerHandle handle = provider.create(launch(newWorker()));

    InspectContainerResponse c = inspect(handle.reference()).orElseThrow();
    assertThat(c.getHostConfig().getCapAdd())
        .containsExactlyInAnyOrder(
            Capability.SETUID, Capability.SETGID, Capability.SETPCAP, Capability.CHOWN, Capability.DAC_OVERRIDE,
            Capability.FOWNER, Capability.KILL);
    assertThat(String.join("\n", c.getConfig().getEnv())).doesNotContain("HODEI_JOB_SANDBOX", "HODEI_JOB_CGROUPS");
  }

  @Test
  void theBootstrapIsOwnedByTheImagesUserAndReadableByNobodyElse() throws Exception {
    var provider = provider(PROVIDER, IMAGE_10001, SHOW_BOOTSTRAP, Duration.ofSeconds(5));
    WorkerId worker = newWorker();

    WorkerHandle handle = provider.create(launch(worker));

    await().atMost(Duration.ofSeconds(10)).until(() -> logs(handle.reference()).contains("end"));
    assertThat(logs(handle.reference())).contains("owned\n", "token otp-" + worker.value() + "\n");
    var entries = new java.util.LinkedHashMap<String, String>();
    try (var tar =
        new org.apache.commons.compress.archivers.tar.TarArchiveInputStream(
            docker.copyArchiveFromContainerCmd(handle.reference(), "/tmp/hodei-bootstrap").exec())) {
      org.apache.commons.compress.archivers.tar.TarArchiveEntry entry;
      while ((entry = tar.getNextEntry()) != null) {
        entries.put(entry.getName(), entry.getLongUserId() + ":" + entry.getLongGroupId() + " " + Integer.toOctalString(entry.getMode() & 0777));
      }
    }
    assertThat(entries)
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("hodei-bootstrap/", "10001:10001 700", "hodei-bootstrap/bootstrap", "10001:10001 600"));
  }

  @Test
  void anImageWhoseUserIsANameIsRefusedAndLeavesNoContainer() throws Exception {
    var named = provider(PROVIDER, "hodei-test-sh:named-user", SHOW_BOOTSTRAP, Duration.ofSeconds(5));
    buildTestImage("hodei-test-sh:named-user", "hodei");
    WorkerId worker = newWorker();

    assertThatThrownBy(() -> named.create(launch(worker)))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("numeric USER");
    assertThat(inspect(DockerWorkerProvider.containerName(worker))).isEmpty();
  }

  private static String base64(String text) {
    return java.util.Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void aWorkerThatIgnoresSigtermIsKilledAfterTheGrace() {
    var provider =
        provider(PROVIDER, IMAGE, List.of("sh", "-c", "trap '' TERM; while :; do sleep 1; done"), Duration.ofSeconds(1));
    WorkerHandle handle = provider.create(launch(newWorker()));
    assertThat(provider.isAlive(handle)).isTrue();

    long start = System.nanoTime();
    provider.destroy(handle);

    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(took).isBetween(Duration.ofSeconds(1), Duration.ofSeconds(10));
    assertThat(inspect(handle.reference())).isEmpty();
  }

  @Test
  void isAliveIsFalseOnceTheWorkerExitedAndForAContainerOfAnotherWorker() {
    var provider = provider(PROVIDER, IMAGE, List.of("sh", "-c", "sleep 1"), Duration.ofSeconds(5));
    WorkerHandle handle = provider.create(launch(newWorker()));
    var impostor = new WorkerHandle(newWorker(), PROVIDER, handle.reference());

    assertThat(provider.isAlive(impostor)).isFalse();
    provider.destroy(impostor); // not its container: left alone
    assertThat(inspect(handle.reference())).isPresent();

    await().atMost(Duration.ofSeconds(15)).until(() -> !provider.isAlive(handle));
    assertThat(inspect(handle.reference())).isPresent(); // exited, not removed
    provider.destroy(handle);
    assertThat(inspect(handle.reference())).isEmpty();
  }

  @Test
  void aProviderStartedAgainFindsItsWorkersByTheirHandles() {
    WorkerHandle handle = sleeper(PROVIDER).create(launch(newWorker()));
    var restarted = sleeper(PROVIDER);

    assertThat(restarted.isAlive(handle)).isTrue();
    restarted.destroy(handle);
    assertThat(restarted.isAlive(handle)).isFalse();
  }

  @Test
  void healthIsHealthyWithTheImageAndDegradedNamingTheImageWithoutIt() {
    assertThat(sleeper(PROVIDER).health()).isEqualTo(new ProviderHealth.Healthy());

    var missing = provider(PROVIDER, "hodei-missing-image:nope", List.of(), Duration.ofSeconds(1));
    assertThat(missing.health())
        .isEqualTo(
            new ProviderHealth.Degraded(
                "image hodei-missing-image:nope not found; build it with docker/build-worker-image.sh"));
  }

  @Test
  void anUnreachableEngineIsUnhealthyNamingTheHost() {
    var provider =
        new DockerWorkerProvider(
            DockerWorkerProvider.Config.defaults(PROVIDER, IMAGE).withDockerHost("unix:///nonexistent.sock"));
    providers.add(provider);
    long start = System.nanoTime();

    var health = provider.health();

    assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
    assertThat(health)
        .isInstanceOfSatisfying(
            ProviderHealth.Unhealthy.class,
            u -> assertThat(u.reason()).startsWith("cannot connect to unix:///nonexistent.sock: "));
  }

  @Test
  void createWithAMissingImageFailsNamingTheImageAndTheBuildScript() {
    var provider = provider(PROVIDER, "hodei-missing-image:nope", List.of(), Duration.ofSeconds(1));
    WorkerId worker = newWorker();

    assertThatThrownBy(() -> provider.create(launch(worker)))
        .isInstanceOf(UnavailableException.class)
        .hasMessageContaining("hodei-missing-image:nope")
        .hasMessageContaining("docker/build-worker-image.sh");
    assertThat(inspect(DockerWorkerProvider.containerName(worker))).isEmpty();
  }

  @Test
  void aWorkerWhoseProgramIsMissingIsSoonNotAliveAndItsLogSaysWhy() throws Exception {
    // The init process starts the program, so the engine starts the container and the failure
    // shows as an exit, which the control plane notices as a worker that died before registering.
    var provider = provider(PROVIDER, IMAGE, List.of("/no/such/program"), Duration.ofSeconds(1));

    WorkerHandle handle = provider.create(launch(newWorker()));

    await().atMost(Duration.ofSeconds(10)).until(() -> !provider.isAlive(handle));
    assertThat(logs(handle.reference())).contains("/no/such/program");
    provider.destroy(handle);
    assertThat(inspect(handle.reference())).isEmpty();
  }

  @Test
  void removeOrphansRemovesOnlyThisProvidersContainersOfUnknownWorkers() {
    var provider = sleeper(PROVIDER);
    WorkerHandle known = provider.create(launch(newWorker()));
    WorkerHandle orphan = provider.create(launch(newWorker()));
    WorkerHandle stoppedOrphan = provider.create(launch(newWorker()));
    docker.killContainerCmd(stoppedOrphan.reference()).exec();
    await().atMost(Duration.ofSeconds(10)).until(() -> !provider.isAlive(stoppedOrphan));
    WorkerHandle otherProviders = sleeper("it-other").create(launch(newWorker()));
    String unmanaged =
        docker
            .createContainerCmd(IMAGE)
            .withName("hodei-it-unmanaged-" + UUID.randomUUID().toString().substring(0, 8))
            .withLabels(Map.of(TEST_LABEL, "true"))
            .withCmd("sleep", "300")
            .withHostConfig(HostConfig.newHostConfig().withNetworkMode("host"))
            .exec()
            .getId();
    docker.startContainerCmd(unmanaged).exec();

    List<WorkerId> removed = provider.removeOrphans(known.workerId()::equals);

    assertThat(removed).containsExactlyInAnyOrder(orphan.workerId(), stoppedOrphan.workerId());
    assertThat(inspect(orphan.reference())).isEmpty();
    assertThat(inspect(stoppedOrphan.reference())).isEmpty();
    assertThat(provider.isAlive(known)).isTrue();
    assertThat(inspect(otherProviders.reference())).isPresent();
    assertThat(inspect(unmanaged).map(c -> c.getState().getRunning())).contains(true);
    assertThat(provider.removeOrphans(known.workerId()::equals)).isEmpty();
  }
}
