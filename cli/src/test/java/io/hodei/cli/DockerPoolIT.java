package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.provider.docker.DockerWorkerProvider;
import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control plane provisioning workers as containers on a real Docker engine, from the worker
 * image that {@code docker/build-worker-image.sh} builds out of this build's jars. Skipped, with
 * the reason, when no engine answers ({@code .ci/run} starts one).
 */
class DockerPoolIT {
  /** {@code -Dhodei.it.worker-image=TAG} keeps concurrent checkouts on one engine off each other's image. */
  static final String IMAGE = System.getProperty("hodei.it.worker-image", "hodei-worker:dev");
  static final String LABEL_IT = "io.hodei.it";
  static String dockerHost;

  @TempDir Path dir;
  private final List<AutoCloseable> toClose = new ArrayList<>();

  @BeforeAll
  static void engineAndImage() throws Exception {
    dockerHost =
        Optional.ofNullable(System.getenv("DOCKER_HOST")).filter(h -> !h.isBlank()).orElse(DockerWorkerProvider.DEFAULT_DOCKER_HOST);
    try (var probe = new DockerWorkerProvider(DockerWorkerProvider.Config.defaults("probe", IMAGE).withDockerHost(dockerHost))) {
      var health = probe.health();
      assumeTrue(
          !(health instanceof ProviderHealth.Unhealthy),
          () -> "no Docker engine at " + dockerHost + ", skipping: start dockerd as .ci/run does (" + health + ")");
    }
    buildImage();
  }

  /** Builds the worker image from this build's jars, once per test JVM (the script keeps an up-to-date one). */
  static synchronized void buildImage() {
    if (imageBuilt) {
      return;
    }
    try {
      var build = docker(Duration.ofMinutes(3), "bash", Path.of("..", "docker", "build-worker-image.sh").toString(), IMAGE);
      assertEquals(0, build.code(), () -> "could not build " + IMAGE + ":\n" + build.output());
    } catch (Exception e) {
      throw new IllegalStateException("could not build " + IMAGE, e);
    }
    imageBuilt = true;
  }

  private static boolean imageBuilt;

  @AfterEach
  void cleanUp() throws Exception {
    for (AutoCloseable c : toClose.reversed()) {
      c.close();
    }
    for (String id : containers("label=" + LABEL_IT)) {
      docker(Duration.ofSeconds(30), "docker", "rm", "-f", id);
    }
  }

  @Test
  void aJobRunsInAContainerWithThePoolsLimitsWhichIsRemovedOnceIdle() throws Exception {
    String pool = pool();
    var plane = start(new PoolPolicy(2, Duration.ofSeconds(3), Duration.ofSeconds(60)), pool, dockerHost);

    var result =
        hodei(
            "run", "-q", "--server", plane.address(), "--",
            "sh", "-c",
            "test -f /.dockerenv && echo in-container; id -u; test -e /sys/fs/cgroup && echo sees-cgroupfs; true");

    assertThat(result.exitCode()).as(result.stderr()).isZero();
    // The job's uid: one of the container's block, neither root nor the image's user; the job's
    // sandbox shows it no /sys (docs/security.md).
    assertThat(result.stdout()).matches("in-container\n\\d{7,10}\n");
    assertThat(containers("label=io.hodei.provider=" + pool)).singleElement().satisfies(id ->
        assertThat(docker(Duration.ofSeconds(30), "docker", "inspect", "--format", "{{.HostConfig.PidsLimit}}", id).output().strip())
            .isEqualTo("64"));
    await("the idle container is stopped and removed")
        .atMost(Duration.ofSeconds(60))
        .untilAsserted(() -> assertThat(containers("label=io.hodei.provider=" + pool)).isEmpty());
    assertThat(hodei("workers", "list", "--server", plane.address()).stdout()).contains("terminated");
  }

  /**
   * Issue 13: a job once read its worker's token from the container's environment. Now the
   * container's environment ({@code docker inspect}, {@code /proc/1/environ}) names only where the
   * bootstrap was, the worker has deleted it before taking the job, and neither the container's first process nor the worker ({@code
   * /proc/PID/environ}) is readable to the job, which runs under a uid of its own.
   */
  @Test
  void aJobInAContainerFindsNoCredentialInTheContainersEnvironmentNorInItsWorker() throws Exception {
    String pool = pool();
    var plane = start(new PoolPolicy(1, Duration.ofMinutes(1), Duration.ofSeconds(60)), pool, dockerHost);

    var result =
        hodei(
            "run", "-q", "--server", plane.address(), "--",
            "sh", "-c",
            "cat /proc/1/environ >/dev/null 2>&1 && echo container-environ-readable || echo container-environ-closed;"
                + " cat /proc/$PPID/environ >/dev/null 2>&1 && echo worker-environ-readable || echo worker-environ-closed;"
                + " test -e /tmp/hodei-bootstrap && echo bootstrap-left || echo bootstrap-gone");

    assertThat(result.exitCode()).as(result.stderr()).isZero();
    var lines = result.stdout().lines().toList();
    // A uid of its own: neither the container's first process nor the worker is readable to it.
    assertThat(lines).contains("container-environ-closed", "worker-environ-closed", "bootstrap-gone");
    assertThat(lines).noneMatch(l -> l.startsWith("HODEI_TOKEN") || l.startsWith("HODEI_TLS_"));
    String container = containers("label=io.hodei.provider=" + pool).getFirst();
    var env = docker(Duration.ofSeconds(30), "docker", "inspect", "--format", "{{json .Config.Env}}", container);
    assertThat(env.output()).contains("HODEI_BOOTSTRAP_FILE=/tmp/hodei-bootstrap/bootstrap").doesNotContain("HODEI_TOKEN", "BEGIN");
  }

  @Test
  void aBurstOfFiftyJobsNeverRunsMoreContainersThanThePoolAllows() throws Exception {
    String pool = pool();
    var plane = start(new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(90)), pool, dockerHost);
    var most = new AtomicInteger();
    var sampling = new AtomicBoolean(true);
    var sampler =
        Thread.ofVirtual()
            .start(
                () -> {
                  while (sampling.get()) {
                    most.accumulateAndGet(containers("label=io.hodei.provider=" + pool).size(), Math::max);
                  }
                });
    ManagedChannel channel = NettyChannelBuilder.forTarget(plane.address()).usePlaintext().build();
    toClose.add(channel::shutdownNow);
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel);

    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ids.add(
          jobs.withDeadlineAfter(30, TimeUnit.SECONDS)
              .queueJob(QueueJobRequest.newBuilder().setDefinition(shell("burst-" + i)).build())
              .getJobId());
    }
    await("all fifty jobs end")
        .atMost(Duration.ofMinutes(3))
        .pollInterval(Duration.ofMillis(500))
        .until(() -> ids.stream().allMatch(id -> isSettled(jobs, id)));
    sampling.set(false);
    sampler.join();

    for (String id : ids) {
      var job = jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob();
      assertThat(job.getState()).as("%s", job).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    }
    assertThat(most.get()).isBetween(1, 2);
    assertThat(
            ids.stream()
                .map(id -> jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getAttempts(0).getWorkerId())
                .distinct()
                .count())
        .isBetween(1L, 2L);
  }

  @Test
  void anUnreachableEngineIsSkippedAndTheSkipIsExplained() throws Exception {
    String dead = "unix://" + dir.resolve("no-docker.sock");
    var plane =
        start(
            new PoolSpec.Docker(
                "it-dead", new PoolPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(60)), Map.of("pool", "dead"),
                DockerWorkerProvider.Config.defaults("it-dead", IMAGE).withDockerHost(dead)),
            new PoolSpec.Local(
                "local", new PoolPolicy(1, Duration.ofMinutes(1), Duration.ofSeconds(60)), Map.of()));
    String server = plane.address();

    assertThat(plane.problems()).containsOnlyKeys("it-dead");
    assertThat(plane.problems().get("it-dead")).startsWith("unhealthy: cannot connect to " + dead);

    var explained = hodei("schedule", "--server", server, "--provider", "it-dead", "--", "echo", "hi");
    assertThat(explained.exitCode()).as(explained.stderr()).isZero();
    assertThat(explained.stdout()).contains("provider it-dead: unhealthy: cannot connect to " + dead);

    var preferred = hodei("run", "-q", "--server", server, "--provider", "it-dead", "--", "echo", "ran elsewhere");
    assertThat(preferred.exitCode()).as(preferred.stderr()).isZero();
    assertThat(preferred.stdout()).isEqualTo("ran elsewhere\n");

    ManagedChannel channel = NettyChannelBuilder.forTarget(server).usePlaintext().build();
    toClose.add(channel::shutdownNow);
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel);
    var onlyThere =
        shell("needs-the-dead-pool").toBuilder()
            .setConstraints(
                io.hodei.api.v1.JobConstraints.newBuilder()
                    .addLabelSelector(
                        io.hodei.api.v1.LabelRequirement.newBuilder()
                            .setKey("pool")
                            .setOperator(io.hodei.api.v1.SelectorOperator.SELECTOR_OPERATOR_IN)
                            .addValues("dead")))
            .build();
    String stuck = jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(onlyThere).build()).getJobId();
    await("the waiting job says why")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(
            () ->
                assertThat(hodei("jobs", "get", "--server", server, stuck).stdout())
                    .contains("provider it-dead: unhealthy: cannot connect to " + dead));
    assertThat(jobs.getJob(GetJobRequest.newBuilder().setJobId(stuck).build()).getJob().getState())
        .isEqualTo(JobState.JOB_STATE_PENDING);
  }

  @Test
  void startRemovesOnlyTheContainersItsProviderLeftBehind() throws Exception {
    String pool = pool();
    String orphan = sleeper("hodei-it-orphan-" + UUID.randomUUID(), pool, "w-orphan");
    String otherProviders = sleeper("hodei-it-other-" + UUID.randomUUID(), "it-someone-else", "w-other");
    String notOurs = sleeper("it-not-hodei-" + UUID.randomUUID(), null, null);

    start(new PoolPolicy(1, Duration.ofMinutes(1), Duration.ofSeconds(60)), pool, dockerHost);

    await("the orphan is removed")
        .atMost(Duration.ofSeconds(30))
        .untilAsserted(() -> assertThat(containers("id=" + orphan)).isEmpty());
    assertThat(containers("id=" + otherProviders)).hasSize(1);
    assertThat(containers("id=" + notOurs)).hasSize(1);
  }

  @Test
  void hodeiDevWithProviderDockerRunsJobsInContainersAndRemovesThemOnExit() throws Exception {
    var server =
        new ServerProcess(dir.resolve("dev"), List.of("--provider", "docker", "--max-workers", "1")).start();
    toClose.add(server);

    var result = hodei("run", "-q", "--server", server.address(), "--", "sh", "-c", "test -f /.dockerenv && echo in-container");
    assertThat(result.exitCode()).as(result.stderr()).isZero();
    assertThat(result.stdout()).isEqualTo("in-container\n");
    assertThat(containers("label=io.hodei.provider=docker")).hasSize(1);

    server.close();
    assertThat(containers("label=io.hodei.provider=docker")).isEmpty();
  }

  // --- helpers ---

  /** One Docker pool of 1 cpu, 256 MiB and 64 processes per worker. */
  private ControlPlane start(PoolPolicy policy, String pool, String host) {
    return start(
        new PoolSpec.Docker(
            pool, policy, Map.of(),
            DockerWorkerProvider.Config.defaults(pool, IMAGE)
                .withDockerHost(host)
                .withLimits(1, 256L * 1024 * 1024, 64)
                .withStopGrace(Duration.ofSeconds(5))));
  }

  private ControlPlane start(PoolSpec... pools) {
    var plane =
        ControlPlane.start(
            ControlPlane.Settings.of(
                    dir.resolve("data"), ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0))
                .withPools(List.of(pools))
                .withLocalWorkerCommand(WorkerLauncher::command));
    toClose.add(plane);
    return plane;
  }

  /** A provider name no other test uses, so that counting its containers counts only this test's. */
  private static String pool() {
    return "it-docker-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static JobDefinition shell(String text) {
    return JobDefinition.newBuilder()
        .setName(text)
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("echo").addArgs(text)))
        .build();
  }

  private static boolean isSettled(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String id) {
    var state = jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState();
    return state != JobState.JOB_STATE_PENDING && state != JobState.JOB_STATE_SCHEDULED && state != JobState.JOB_STATE_RUNNING;
  }

  /** Starts a long sleep in the worker image, labelled like a worker of {@code provider} unless null. */
  private static String sleeper(String name, String provider, String workerId) throws Exception {
    List<String> command = new ArrayList<>(List.of("docker", "run", "-d", "--name", name, "--network", "host", "--label", LABEL_IT + "=true"));
    if (provider != null) {
      command.addAll(
          List.of(
              "--label", DockerWorkerProvider.LABEL_MANAGED + "=true",
              "--label", DockerWorkerProvider.LABEL_PROVIDER + "=" + provider,
              "--label", DockerWorkerProvider.LABEL_WORKER_ID + "=" + workerId));
    }
    command.addAll(List.of("--entrypoint", "sleep", IMAGE, "600"));
    var run = docker(Duration.ofMinutes(1), command.toArray(String[]::new));
    assertEquals(0, run.code(), run::output);
    return run.output().strip();
  }

  /** Ids of the containers, running or not, that match the {@code docker ps} filter. */
  private static List<String> containers(String filter) {
    try {
      var ps = docker(Duration.ofSeconds(30), "docker", "ps", "-aq", "--no-trunc", "--filter", filter);
      assertEquals(0, ps.code(), ps::output);
      var ids = Arrays.stream(ps.output().split("\n")).map(String::strip).filter(s -> !s.isEmpty()).toList();
      // "id=" filters by prefix; the full id is what the callers hold
      return filter.startsWith("id=") ? ids.stream().filter(filter.substring(3)::equals).toList() : ids;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  record Ran(int code, String output) {}

  private static Ran docker(Duration timeout, String... command) throws Exception {
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      return new Ran(-1, output + "\n(timed out)");
    }
    return new Ran(process.exitValue(), output);
  }
}
