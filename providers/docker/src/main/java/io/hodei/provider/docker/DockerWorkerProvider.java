package io.hodei.provider.docker;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerCmd;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.core.DefaultDockerClientConfig;
import com.github.dockerjava.core.DockerClientConfig;
import com.github.dockerjava.core.DockerClientImpl;
import com.github.dockerjava.zerodep.ZerodepDockerHttpClient;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.core.worker.WorkerId;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each worker as a Docker container on one engine. The container runs the worker image
 * (see {@code docker/build-worker-image.sh}) with host networking, so the worker reaches the
 * control plane at the same address a local worker would, and registers with the one-time token
 * of its {@link io.hodei.core.provider.WorkerBootstrap}.
 *
 * <p>The bootstrap never goes into the container's environment ({@code docker inspect} and every
 * process of the container could read it there): between create and start, the provider copies it
 * into the container as {@value #BOOTSTRAP_DIRECTORY}{@code /}{@value #BOOTSTRAP_FILE_NAME}, a
 * {@code 0600} file in a {@code 0700} directory, both owned by the user the container runs as; the
 * environment names only that path ({@code HODEI_BOOTSTRAP_FILE}), and the worker deletes file and
 * directory as soon as it has read them, before it takes any job.
 *
 * <p>Invariants:
 *
 * <ul>
 *   <li>Every container this provider creates is named {@code hodei-<worker-id>} and labelled
 *       {@value #LABEL_MANAGED}{@code =true}, {@value #LABEL_PROVIDER}{@code =<name>} and {@value
 *       #LABEL_WORKER_ID}{@code =<worker-id>}; a handle's reference is the container id.
 *   <li>The provider only ever stops or removes containers that carry {@value #LABEL_MANAGED}
 *       {@code =true} and the expected worker id: it never touches a container it did not make.
 *   <li>A container that was created but could not be started is removed before {@link #create}
 *       throws, so a failed create leaves nothing behind.
 *   <li>Every container runs with an init process ({@code --init}), so SIGTERM reaches the worker
 *       and the processes its jobs leave behind are reaped.
 * </ul>
 *
 * <p>Thread-safe: the provider keeps no state of its own besides two Docker clients, which are
 * themselves thread-safe; Docker is the only record of which workers exist, so a control plane
 * that restarts finds its containers again by label ({@link #removeOrphans}).
 *
 * <p>Calls that must answer quickly ({@link #health}, {@link #isAlive}, inspections) use a client
 * with short timeouts; creating and removing containers, which on some storage drivers copies the
 * image, uses one with a longer response timeout.
 */
public final class DockerWorkerProvider implements WorkerProvider, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DockerWorkerProvider.class);

  /** Engine address used when none is configured. */
  public static final String DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock";

  /** Label on every container of every Docker provider: {@code true}. */
  public static final String LABEL_MANAGED = "io.hodei.managed";

  /** Label naming the provider instance that created the container. */
  public static final String LABEL_PROVIDER = "io.hodei.provider";

  /** Label carrying the worker id the container runs. */
  public static final String LABEL_WORKER_ID = "io.hodei.worker-id";

  /** The script that builds the default worker image, named in error messages. */
  static final String BUILD_HINT = "build it with docker/build-worker-image.sh";

  /** Where the bootstrap is copied to in a container, before it starts. */
  public static final String BOOTSTRAP_DIRECTORY = "/tmp/hodei-bootstrap";

  /** The bootstrap file's name in {@link #BOOTSTRAP_DIRECTORY}. */
  public static final String BOOTSTRAP_FILE_NAME = "bootstrap";

  /** The worker's variable naming its bootstrap file. */
  static final String ENV_BOOTSTRAP_FILE = "HODEI_BOOTSTRAP_FILE";

  private static final Pattern NUMERIC_USER = Pattern.compile("(\\d+)(?::(\\d+))?");

  private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(3);
  private static final Duration QUICK_RESPONSE_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration SLOW_RESPONSE_TIMEOUT = Duration.ofMinutes(2);
  private static final Duration STOP_POLL = Duration.ofMillis(200);
  private static final Pattern INVALID_NAME_CHARS = Pattern.compile("[^a-zA-Z0-9_.-]");
  private static final Pattern DOCKER_MESSAGE = Pattern.compile("\"message\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

  /**
   * @param name unique name of this provider instance; stamped on its containers
   * @param image the worker image, for example {@code hodei-worker:dev}
   * @param dockerHost the engine, for example {@value DockerWorkerProvider#DEFAULT_DOCKER_HOST} or
   *     {@code tcp://127.0.0.1:2375}
   * @param cpus CPU limit per worker ({@code --cpus}); 0 for none
   * @param memoryBytes memory limit per worker ({@code --memory}); 0 for none
   * @param pidsLimit process limit per worker ({@code --pids-limit}); 0 for none
   * @param command replaces the image's CMD (the arguments of its ENTRYPOINT, if it has one);
   *     empty keeps the image's default
   * @param workerEnv extra environment for every worker, never a credential; the settings of a
   *     launch ({@code HODEI_SERVER_ADDRESS}, {@code HODEI_WORKER_ID}...) win over it
   * @param stopGrace how long a worker gets after SIGTERM before it is killed
   * @param jobSandbox how far the worker may isolate its jobs from one another ({@link JobSandbox})
   */
  public record Config(
      String name,
      String image,
      String dockerHost,
      double cpus,
      long memoryBytes,
      long pidsLimit,
      List<String> command,
      Map<String, String> workerEnv,
      Duration stopGrace,
      JobSandbox jobSandbox) {

    public static final double DEFAULT_CPUS = 1.0;
    public static final long DEFAULT_MEMORY_BYTES = 512L * 1024 * 1024;
    public static final long DEFAULT_PIDS_LIMIT = 512;
    public static final Duration DEFAULT_STOP_GRACE = Duration.ofSeconds(15);

    public Config {
      requireText(name, "provider name");
      requireText(image, "image");
      requireText(dockerHost, "docker host");
      if (!(cpus >= 0) || Double.isInfinite(cpus)) {
        throw new IllegalArgumentException("cpus must be 0 (no limit) or positive, not " + cpus);
      }
      if (memoryBytes < 0) {
        throw new IllegalArgumentException("memory limit must be 0 (no limit) or positive, not " + memoryBytes);
      }
      if (pidsLimit < 0) {
        throw new IllegalArgumentException("pids limit must be 0 (no limit) or positive, not " + pidsLimit);
      }
      command = List.copyOf(command);
      workerEnv = WorkerLaunch.requireNoCredentials(workerEnv);
      Objects.requireNonNull(stopGrace, "stopGrace");
      if (stopGrace.isNegative()) {
        throw new IllegalArgumentException("stop grace must not be negative");
      }
      Objects.requireNonNull(jobSandbox, "jobSandbox");
    }

    /**
     * The image's own command on the local engine, 1 CPU, 512 MiB, 512 processes, 15 s to stop,
     * each job in namespaces of its own.
     */
    public static Config defaults(String name, String image) {
      return new Config(
          name,
          image,
          DEFAULT_DOCKER_HOST,
          DEFAULT_CPUS,
          DEFAULT_MEMORY_BYTES,
          DEFAULT_PIDS_LIMIT,
          List.of(),
          Map.of(),
          DEFAULT_STOP_GRACE,
          JobSandbox.NAMESPACES);
    }

    public Config withDockerHost(String host) {
      return new Config(name, image, host, cpus, memoryBytes, pidsLimit, command, workerEnv, stopGrace, jobSandbox);
    }

    public Config withImage(String newImage) {
      return new Config(name, newImage, dockerHost, cpus, memoryBytes, pidsLimit, command, workerEnv, stopGrace, jobSandbox);
    }

    public Config withLimits(double newCpus, long newMemoryBytes, long newPidsLimit) {
      return new Config(name, image, dockerHost, newCpus, newMemoryBytes, newPidsLimit, command, workerEnv, stopGrace, jobSandbox);
    }

    public Config withCommand(List<String> newCommand) {
      return new Config(name, image, dockerHost, cpus, memoryBytes, pidsLimit, newCommand, workerEnv, stopGrace, jobSandbox);
    }

    public Config withWorkerEnv(Map<String, String> env) {
      return new Config(name, image, dockerHost, cpus, memoryBytes, pidsLimit, command, env, stopGrace, jobSandbox);
    }

    public Config withJobSandbox(JobSandbox sandbox) {
      return new Config(name, image, dockerHost, cpus, memoryBytes, pidsLimit, command, workerEnv, stopGrace, sandbox);
    }

    public Config withStopGrace(Duration grace) {
      return new Config(name, image, dockerHost, cpus, memoryBytes, pidsLimit, command, workerEnv, grace, jobSandbox);
    }

    private static void requireText(String value, String what) {
      if (value == null || value.isBlank()) {
        throw new IllegalArgumentException(what + " must not be empty");
      }
    }
  }

  private final Config config;
  /** Short timeouts: health, inspections, listings. */
  private final DockerClient quick;
  /** Long response timeout: create, start, remove. */
  private final DockerClient slow;

  /**
   * Connects lazily: building the provider never touches the engine, so it can be built while
   * the engine is down (its {@link #health} then says so).
   */
  public DockerWorkerProvider(Config config) {
    this.config = config;
    DockerClientConfig clientConfig =
        DefaultDockerClientConfig.createDefaultConfigBuilder().withDockerHost(config.dockerHost()).build();
    this.quick = client(clientConfig, QUICK_RESPONSE_TIMEOUT);
    this.slow = client(clientConfig, SLOW_RESPONSE_TIMEOUT);
  }

  private static DockerClient client(DockerClientConfig clientConfig, Duration responseTimeout) {
    var http =
        new ZerodepDockerHttpClient.Builder()
            .dockerHost(clientConfig.getDockerHost())
            .sslConfig(clientConfig.getSSLConfig())
            .maxConnections(32)
            .connectionTimeout(CONNECT_TIMEOUT)
            .responseTimeout(responseTimeout)
            .build();
    return DockerClientImpl.getInstance(clientConfig, http);
  }

  public Config config() {
    return config;
  }

  @Override
  public String name() {
    return config.name();
  }

  @Override
  public String type() {
    return "docker";
  }

  /**
   * How far a Docker worker isolates its jobs from one another, and what the container is given
   * for it (docs/security.md, "Docker").
   */
  public enum JobSandbox {
    /**
     * Each job in pid, mount, IPC and UTS namespaces of its own, with a private {@code /tmp} and a
     * read-only view of the system directories, in a cgroup of its own with its cpu and memory
     * as limits. The worker gets {@code CAP_SYS_ADMIN} and {@code CAP_SYS_CHROOT} for it, under
     * Docker's default seccomp profile and {@code no-new-privileges}; jobs get no capability.
     */
    NAMESPACES,
    /**
     * Each job under a uid of its own only: jobs of one worker share its pid namespace and {@code
     * /tmp}, and the container's cpu and memory limits. For where an admin will not grant a
     * container {@code CAP_SYS_ADMIN}; the pool then reports itself degraded and says why.
     */
    UIDS;

    /** The name used in configuration: {@code namespaces} or {@code uids}. */
    public String key() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The sandbox named {@code key}; {@link IllegalArgumentException} naming the choices otherwise. */
    public static JobSandbox of(String key) {
      for (JobSandbox s : values()) {
        if (s.key().equals(key)) {
          return s;
        }
      }
      throw new IllegalArgumentException("job sandbox must be namespaces or uids, not '" + key + "'");
    }
  }

  /**
   * What the worker needs to run each job under a uid of its own and end its processes: change
   * uid and gid and drop a job's capabilities (SETUID, SETGID, SETPCAP), own and remove the job's
   * files (CHOWN, DAC_OVERRIDE, FOWNER), and signal the job's processes (KILL). {@link
   * JobSandbox#NAMESPACES} adds {@link #SANDBOX_CAPABILITIES}.
   */
  static final List<Capability> WORKER_CAPABILITIES =
      List.of(
          Capability.SETUID,
          Capability.SETGID,
          Capability.SETPCAP,
          Capability.CHOWN,
          Capability.DAC_OVERRIDE,
          Capability.FOWNER,
          Capability.KILL);

  /**
   * What the per-job namespaces take: SYS_ADMIN to make namespaces and mounts (Docker's default
   * seccomp profile allows them to a holder of it) and the cgroup file systems writable in the
   * container, SYS_CHROOT to enter the job's root. Not an unconfined seccomp profile: bwrap would
   * need one for {@code pivot_root}, which is why the worker's mount-namespace sandbox does
   * without it.
   */
  static final List<Capability> SANDBOX_CAPABILITIES = List.of(Capability.SYS_ADMIN, Capability.SYS_CHROOT);

  static final String ENV_JOB_UIDS = "HODEI_JOB_UIDS";
  private static final int JOB_UID_BLOCK = 1000;

  /**
   * A random block of {@value #JOB_UID_BLOCK} uids between 1,000,000 and 1,000,000,000, far from
   * the local workers' default range: one of a million blocks, so two workers' blocks meet with a
   * chance of about one in a million per pair.
   */
  static String jobUidBlock() {
    int first = 1_000_000 + java.util.concurrent.ThreadLocalRandom.current().nextInt(999_000) * JOB_UID_BLOCK;
    return first + "-" + (first + JOB_UID_BLOCK - 1);
  }

  /** The container name of a worker: {@code hodei-<worker-id>}, with characters Docker refuses replaced. */
  public static String containerName(WorkerId worker) {
    return "hodei-" + INVALID_NAME_CHARS.matcher(worker.value()).replaceAll("-");
  }

  /**
   * Creates and starts the worker's container. Blocks until the engine has started it (not until
   * the worker registered).
   *
   * @throws UnavailableException if the image is missing, the name is taken, the engine refuses
   *     or cannot be reached
   */
  @Override
  public WorkerHandle create(WorkerLaunch launch) {
    WorkerId worker = launch.workerId();
    String containerName = containerName(worker);
    var env = new TreeMap<>(config.workerEnv());
    env.putAll(launch.settings());
    env.put(ENV_BOOTSTRAP_FILE, BOOTSTRAP_DIRECTORY + "/" + BOOTSTRAP_FILE_NAME);
    // Containers share the host's uids: each worker's jobs get a block of its own, so that no two
    // containers' jobs (nor the host's) ever run under one uid and share its kernel limits.
    env.putIfAbsent(ENV_JOB_UIDS, jobUidBlock());
    if (config.pidsLimit() > 0) {
      // A job's own limit stays under the container's, which its worker shares: a fork bomb
      // must leave the worker, and the other jobs, room to run.
      env.putIfAbsent("HODEI_JOB_PIDS_MAX", Long.toString(Math.max(16, config.pidsLimit() / 2)));
    }
    List<Capability> capabilities = new ArrayList<>(WORKER_CAPABILITIES);
    if (config.jobSandbox() == JobSandbox.NAMESPACES) {
      capabilities.addAll(SANDBOX_CAPABILITIES);
      env.putIfAbsent("HODEI_JOB_SANDBOX", "mount-namespace");
      // The engine's marker file, which tools look for to know they run in a container: empty,
      // read-only, and the only thing of the container's root the sandbox adds to its own.
      env.putIfAbsent("HODEI_JOB_READ_ONLY_PATHS", "/.dockerenv");
      env.putIfAbsent("HODEI_JOB_CGROUPS", "remount");
    }
    List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();

    HostConfig hostConfig =
        HostConfig.newHostConfig()
            .withNetworkMode("host")
            .withInit(true)
            // The worker runs as root in the container only to give each job a uid (and with
            // NAMESPACES, namespaces) of its own: it keeps just what that takes, and nothing in
            // it may gain more.
            .withCapDrop(Capability.ALL)
            .withCapAdd(capabilities.toArray(Capability[]::new))
            .withSecurityOpts(List.of("no-new-privileges:true"));
    if (config.cpus() > 0) {
      hostConfig.withNanoCPUs(Math.round(config.cpus() * 1_000_000_000d));
    }
    if (config.memoryBytes() > 0) {
      hostConfig.withMemory(config.memoryBytes());
    }
    if (config.pidsLimit() > 0) {
      hostConfig.withPidsLimit(config.pidsLimit());
    }

    String containerId;
    try (CreateContainerCmd cmd =
        slow.createContainerCmd(config.image())
            .withName(containerName)
            .withEnv(envList)
            .withLabels(
                Map.of(LABEL_MANAGED, "true", LABEL_PROVIDER, config.name(), LABEL_WORKER_ID, worker.value()))
            .withHostConfig(hostConfig)) {
      if (!config.command().isEmpty()) {
        cmd.withCmd(config.command());
      }
      var created = cmd.exec();
      containerId = created.getId();
      if (created.getWarnings() != null && created.getWarnings().length > 0) {
        log.info("docker provider {}: engine warnings for worker {}: {}", name(), worker, String.join("; ", created.getWarnings()));
      }
    } catch (NotFoundException e) {
      throw new UnavailableException(
          "docker provider " + name() + ": image " + config.image() + " not found on " + config.dockerHost()
              + "; " + BUILD_HINT + " (or pull it)",
          e);
    } catch (ConflictException e) {
      throw new UnavailableException(
          "docker provider " + name() + ": a container named " + containerName + " already exists: " + reason(e), e);
    } catch (RuntimeException e) {
      throw new UnavailableException(
          "docker provider " + name() + " could not create worker " + worker + " on " + config.dockerHost()
              + ": " + reason(e),
          e);
    }

    try {
      copyBootstrap(containerId, launch);
    } catch (RuntimeException e) {
      removeQuietly(containerId, worker);
      throw new UnavailableException(
          "docker provider " + name() + " could not hand worker " + worker + " its credentials: " + reason(e), e);
    }

    try {
      slow.startContainerCmd(containerId).exec();
    } catch (RuntimeException e) {
      removeQuietly(containerId, worker);
      throw new UnavailableException(
          "docker provider " + name() + " could not start the container of worker " + worker + ": " + reason(e), e);
    }
    log.info(
        "docker provider {}: started worker {} in container {} ({}) from {} (logs: docker logs {})",
        name(), worker, shortId(containerId), containerName, config.image(), containerName);
    return new WorkerHandle(worker, name(), containerId);
  }

  /**
   * Copies the launch's bootstrap into the created, not yet started container, owned by the user
   * the container will run as (the image's {@code USER}, numeric, or root when it names none).
   *
   * @throws IllegalStateException if the container's user is a name: its uid cannot be known
   *     without the container's own {@code /etc/passwd}
   */
  private void copyBootstrap(String containerId, WorkerLaunch launch) {
    var inspected = quick.inspectContainerCmd(containerId).exec();
    String user = inspected.getConfig() == null || inspected.getConfig().getUser() == null
        ? "" : inspected.getConfig().getUser().strip();
    int uid = 0;
    int gid = 0;
    if (!user.isEmpty()) {
      Matcher m = NUMERIC_USER.matcher(user);
      if (!m.matches()) {
        throw new IllegalStateException(
            "image " + config.image() + " runs as user '" + user + "': the Docker provider needs a numeric USER uid[:gid]");
      }
      uid = Integer.parseInt(m.group(1));
      gid = m.group(2) == null ? uid : Integer.parseInt(m.group(2));
    }
    String dir = BOOTSTRAP_DIRECTORY.substring(BOOTSTRAP_DIRECTORY.lastIndexOf('/') + 1);
    String parent = BOOTSTRAP_DIRECTORY.substring(0, BOOTSTRAP_DIRECTORY.lastIndexOf('/'));
    byte[] tar = new BootstrapArchive(dir, BOOTSTRAP_FILE_NAME, launch.bootstrap().document(), uid, gid).bytes();
    slow.copyArchiveToContainerCmd(containerId)
        .withRemotePath(parent)
        .withTarInputStream(new java.io.ByteArrayInputStream(tar))
        .exec();
  }

  /**
   * Stops the worker's container (SIGTERM, then SIGKILL after {@link Config#stopGrace()}) and
   * removes it. Idempotent: a container that is already gone is fine. A container that does not
   * carry the handle's worker id is left alone.
   *
   * @throws UnavailableException if the engine cannot be reached
   */
  @Override
  public void destroy(WorkerHandle handle) {
    WorkerId worker = handle.workerId();
    InspectContainerResponse container;
    try {
      container = quick.inspectContainerCmd(reference(handle)).exec();
    } catch (NotFoundException e) {
      log.debug("docker provider {}: worker {} has no container any more", name(), worker);
      return;
    } catch (RuntimeException e) {
      throw unavailable("could not inspect the container of worker " + worker, e);
    }
    if (!belongsTo(container, worker)) {
      log.warn(
          "docker provider {}: container {} is not worker {}'s, leaving it alone",
          name(), shortId(container.getId()), worker);
      return;
    }
    String id = container.getId();
    try {
      if (running(container)) {
        stop(id, worker);
      }
      slow.removeContainerCmd(id).withForce(true).exec();
    } catch (NotFoundException e) {
      // removed meanwhile (by a concurrent destroy, say): that is what we wanted
    } catch (ConflictException e) {
      log.debug("docker provider {}: container {} is already being removed: {}", name(), shortId(id), reason(e));
    } catch (RuntimeException e) {
      throw unavailable("could not remove the container of worker " + worker, e);
    }
    log.info("docker provider {}: stopped and removed worker {} (container {})", name(), worker, shortId(id));
  }

  /** SIGTERM, then waits up to the grace period for the container to stop; the caller's forced remove kills it. */
  private void stop(String id, WorkerId worker) {
    try {
      quick.killContainerCmd(id).withSignal("SIGTERM").exec();
    } catch (NotFoundException | ConflictException | NotModifiedException e) {
      return; // gone or no longer running
    }
    long deadline = System.nanoTime() + config.stopGrace().toNanos();
    try {
      while (System.nanoTime() < deadline) {
        if (!running(quick.inspectContainerCmd(id).exec())) {
          return;
        }
        Thread.sleep(STOP_POLL);
      }
      log.warn(
          "docker provider {}: worker {} ignored SIGTERM for {}, killing it", name(), worker, config.stopGrace());
    } catch (NotFoundException e) {
      // gone already
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("docker provider {}: interrupted while worker {} stopped, killing it", name(), worker);
    }
  }

  /**
   * Whether the worker's container exists and runs. Answers {@code true} when the engine cannot be
   * asked: an engine that does not answer is no evidence that the worker died (its stream to the
   * control plane tells that), and declaring it dead would settle its jobs as lost.
   */
  @Override
  public boolean isAlive(WorkerHandle handle) {
    try {
      var container = quick.inspectContainerCmd(reference(handle)).exec();
      return belongsTo(container, handle.workerId()) && running(container);
    } catch (NotFoundException e) {
      return false;
    } catch (RuntimeException e) {
      log.warn(
          "docker provider {}: cannot ask {} about worker {}, assuming it still runs: {}",
          name(), config.dockerHost(), handle.workerId(), reason(e));
      return true;
    }
  }

  /**
   * Healthy when the engine answers and has the image; Degraded when the image is missing;
   * Unhealthy when the engine cannot be reached. Never throws; answers within a few seconds.
   */
  @Override
  public ProviderHealth health() {
    try {
      quick.infoCmd().exec();
    } catch (RuntimeException e) {
      return new ProviderHealth.Unhealthy("cannot connect to " + config.dockerHost() + ": " + reason(e));
    }
    try {
      quick.inspectImageCmd(config.image()).exec();
    } catch (NotFoundException e) {
      return new ProviderHealth.Degraded("image " + config.image() + " not found; " + BUILD_HINT);
    } catch (RuntimeException e) {
      return new ProviderHealth.Unhealthy(
          "cannot inspect image " + config.image() + " on " + config.dockerHost() + ": " + reason(e));
    }
    return new ProviderHealth.Healthy();
  }

  /**
   * Removes this provider's containers, running or not, whose worker the control plane does not
   * know, for example after the control plane restarted without them. Containers of other
   * providers and containers not made by Hodei are never touched. Orphans are killed, not stopped
   * gracefully: nobody waits for their work any more. A container that cannot be removed is
   * logged and skipped.
   *
   * @param isKnown whether the control plane still tracks a worker
   * @return the worker ids whose containers were removed
   * @throws UnavailableException if the engine cannot list the containers
   */
  @Override
  public List<WorkerId> removeOrphans(Predicate<WorkerId> isKnown) {
    List<Container> containers;
    try {
      containers =
          quick.listContainersCmd()
              .withShowAll(true)
              .withLabelFilter(Map.of(LABEL_MANAGED, "true", LABEL_PROVIDER, config.name()))
              .exec();
    } catch (RuntimeException e) {
      throw unavailable("could not list its containers", e);
    }
    List<WorkerId> removed = new ArrayList<>();
    for (Container container : containers) {
      Map<String, String> labels = container.getLabels() == null ? Map.of() : container.getLabels();
      String value = labels.get(LABEL_WORKER_ID);
      WorkerId worker = value == null || value.isBlank() ? null : new WorkerId(value);
      if (worker != null && isKnown.test(worker)) {
        continue;
      }
      try {
        slow.removeContainerCmd(container.getId()).withForce(true).exec();
      } catch (NotFoundException e) {
        // gone meanwhile
      } catch (RuntimeException e) {
        log.warn(
            "docker provider {}: could not remove orphan container {} of worker {}: {}",
            name(), shortId(container.getId()), worker, reason(e));
        continue;
      }
      log.info(
          "docker provider {}: removed orphan container {} of unknown worker {} (state {})",
          name(), shortId(container.getId()), worker, container.getState());
      if (worker != null) {
        removed.add(worker);
      }
    }
    return List.copyOf(removed);
  }

  /** Closes the connections to the engine. Containers keep running. */
  @Override
  public void close() {
    for (DockerClient client : List.of(quick, slow)) {
      try {
        client.close();
      } catch (IOException e) {
        log.debug("docker provider {}: closing a client failed: {}", name(), e.getMessage());
      }
    }
  }

  /**
   * By the container's name, which this provider derives from the worker id: every call that takes
   * the handle then checks the container's worker label before it acts.
   */
  @Override
  public java.util.Optional<WorkerHandle> find(WorkerId worker) {
    return java.util.Optional.of(new WorkerHandle(worker, name(), containerName(worker)));
  }

  private static String reference(WorkerHandle handle) {
    String ref = handle.reference();
    return ref == null || ref.isBlank() ? containerName(handle.workerId()) : ref;
  }

  private static boolean belongsTo(InspectContainerResponse container, WorkerId worker) {
    var labels = container.getConfig() == null ? null : container.getConfig().getLabels();
    return labels != null
        && "true".equals(labels.get(LABEL_MANAGED))
        && worker.value().equals(labels.get(LABEL_WORKER_ID));
  }

  private static boolean running(InspectContainerResponse container) {
    return container.getState() != null && Boolean.TRUE.equals(container.getState().getRunning());
  }

  private void removeQuietly(String containerId, WorkerId worker) {
    try {
      slow.removeContainerCmd(containerId).withForce(true).exec();
    } catch (RuntimeException e) {
      log.warn(
          "docker provider {}: could not remove the unstarted container {} of worker {}: {}",
          name(), shortId(containerId), worker, reason(e));
    }
  }

  private UnavailableException unavailable(String what, RuntimeException e) {
    return new UnavailableException(
        "docker provider " + name() + " " + what + " on " + config.dockerHost() + ": " + reason(e), e);
  }

  private static String shortId(String id) {
    return id == null ? "?" : id.substring(0, Math.min(12, id.length()));
  }

  /** A one-line reason: Docker's own message for an API error, else the root cause's message. */
  static String reason(Throwable e) {
    if (e instanceof DockerException && e.getMessage() != null) {
      Matcher m = DOCKER_MESSAGE.matcher(e.getMessage());
      if (m.find()) {
        return m.group(1).replace("\\\"", "\"");
      }
    }
    Throwable root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    String message = root.getMessage();
    if (message == null || message.isBlank()) {
      message = e.getMessage();
    }
    if (message == null || message.isBlank()) {
      return root.getClass().getSimpleName();
    }
    return message.strip().replaceAll("\\s+", " ");
  }
}
