package io.hodei.provider.local;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.core.worker.WorkerId;
import io.hodei.worker.JobCgroups;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default provider: each worker is a child process of the control plane, started
 * from {@code workerCommand} (normally {@code java -cp ... WorkerMain worker}) with {@code
 * --worker-id=<id>} appended. A worker's own output goes to {@code logDir/<worker-id>.log}; job
 * output never does, it travels over the stream.
 *
 * <p>Invariants: a worker's environment is built, not inherited: {@link #INHERITED} from the
 * control plane's, then {@link Config#workerEnv()}, then the launch's settings, and none of them
 * holds a credential (the control plane's own {@code HODEI_SECRET_KEY} or {@code HODEI_API_TOKEN}
 * never reach a worker or its jobs). The worker's {@link io.hodei.core.provider.WorkerBootstrap}
 * goes through a pipe on its stdin, written once and closed; neither its environment nor its
 * arguments carry a secret.
 *
 * <p>Thread-safe: the process table is a concurrent map and each worker is touched by one
 * create and at most one effective destroy.
 */
public final class LocalProcessProvider implements WorkerProvider {
  private static final Logger log = LoggerFactory.getLogger(LocalProcessProvider.class);

  /**
   * @param workerCommand the program and arguments that start a worker agent
   * @param logDir where each worker's own log file goes
   * @param stopGrace how long a worker gets to shut down after SIGTERM before it is killed
   * @param workerEnv extra environment for every worker (for example {@code HODEI_KILL_GRACE})
   */
  public record Config(
      String name,
      List<String> workerCommand,
      Path logDir,
      Duration stopGrace,
      Map<String, String> workerEnv) {
    public Config {
      workerEnv = WorkerLaunch.requireNoCredentials(workerEnv);
      workerCommand = List.copyOf(workerCommand);
      if (workerCommand.isEmpty()) {
        throw new IllegalArgumentException("worker command must not be empty");
      }
    }
  }

  /**
   * The variables of the control plane's environment a worker gets, when set: what a JVM and the
   * shell commands of jobs need to find programs, files, language and time zone. Nothing else.
   */
  public static final List<String> INHERITED =
      List.of("PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR");

  private final Config config;
  private final Map<WorkerId, Process> processes = new ConcurrentHashMap<>();
  /**
   * The control plane's cgroups, under which each worker gets one of its own ({@value
   * #CGROUP_PREFIX}{@code <id>}); the worker makes its jobs' cgroups inside it, so killing it
   * ends the worker and every job it ever started.
   */
  private final JobCgroups cgroups;

  static final String CGROUP_PREFIX = "hodei-worker-";

  public LocalProcessProvider(Config config) {
    this.config = config;
    this.cgroups = JobCgroups.detect();
    if (!cgroups.available()) {
      log.info("no cgroups to put local workers in ({}); a worker's jobs die with it through their sandbox",
          String.join("; ", cgroups.missing()));
    }
  }

  @Override
  public String name() {
    return config.name();
  }

  @Override
  public String type() {
    return "local";
  }

  @Override
  public WorkerHandle create(WorkerLaunch launch) {
    try {
      Files.createDirectories(config.logDir());
      Path logFile = config.logDir().resolve(launch.workerId().value() + ".log");
      var builder =
          new ProcessBuilder(command(launch.workerId()))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .redirectInput(ProcessBuilder.Redirect.PIPE);
      builder.environment().clear();
      builder.environment().putAll(environment(System.getenv(), launch));
      Process process = builder.start();
      // Before the bootstrap: the worker waits for it before anything else, so it has started
      // no job yet and everything it will start is inside.
      joinCgroup(launch.workerId(), process.pid());
      try (var stdin = process.getOutputStream()) {
        stdin.write(launch.bootstrap().document());
      } catch (IOException e) {
        try {
          process.waitFor(2, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
        }
        process.destroyForcibly();
        var handle = new WorkerHandle(launch.workerId(), name(), Long.toString(process.pid()));
        throw new UnavailableException(
            "worker " + launch.workerId() + " exited at once"
                + (process.isAlive() ? "" : " with code " + process.exitValue())
                + lastWords(handle).map(w -> ", saying: " + w).orElse("") + " (log: " + logFile + ")",
            e);
      }
      processes.put(launch.workerId(), process);
      log.info(
          "started local worker {} as pid {} (log: {})", launch.workerId(), process.pid(), logFile);
      return new WorkerHandle(launch.workerId(), name(), Long.toString(process.pid()));
    } catch (IOException e) {
      throw new UnavailableException(
          "local provider could not start " + config.workerCommand().getFirst() + ": " + e.getMessage(),
          e);
    }
  }

  private void joinCgroup(WorkerId worker, long pid) {
    if (!cgroups.available()) {
      return;
    }
    try {
      cgroups.createEverywhere(cgroupName(worker)).join(pid);
    } catch (IOException e) {
      log.warn("could not put local worker {} in a cgroup of its own: {}", worker, e.toString());
    }
  }

  private static String cgroupName(WorkerId worker) {
    return CGROUP_PREFIX + worker.value().replaceAll("[^A-Za-z0-9._-]", "_");
  }

  /** Kills whatever is left in the worker's cgroup, its jobs' included, and removes it. */
  private void removeCgroup(WorkerId worker) {
    if (cgroups.available()) {
      cgroups.existing(cgroupName(worker)).remove();
    }
  }

  /**
   * Kills the worker at once with SIGKILL, and every process in its cgroup (its jobs), before
   * returning: the control plane presumes it lost and is about to run its jobs elsewhere.
   */
  @Override
  public void fence(WorkerHandle handle) {
    Process process = processes.remove(handle.workerId());
    Optional<ProcessHandle> target = process != null ? Optional.of(process.toHandle()) : adopted(handle);
    target.filter(ProcessHandle::isAlive).ifPresent(LocalProcessProvider::killTree);
    removeCgroup(handle.workerId());
    log.info("fenced local worker {}: killed with everything it started", handle.workerId());
  }

  /** The worker's command line: the configured command and {@code --worker-id=<id>}. */
  List<String> command(WorkerId worker) {
    var command = new ArrayList<>(config.workerCommand());
    command.add(WORKER_ID_ARGUMENT + worker.value());
    return List.copyOf(command);
  }

  /**
   * The whole environment of a worker: the {@link #INHERITED} variables of {@code controlPlane}
   * that are set, then {@link Config#workerEnv()}, then {@link WorkerLaunch#settings()}.
   */
  Map<String, String> environment(Map<String, String> controlPlane, WorkerLaunch launch) {
    var env = new java.util.HashMap<String, String>();
    for (String name : INHERITED) {
      String value = controlPlane.get(name);
      if (value != null) {
        env.put(name, value);
      }
    }
    env.putAll(config.workerEnv());
    env.putAll(launch.settings());
    return Map.copyOf(env);
  }

  /** The argument that marks a worker's command line with its id (see {@code WorkerMain}). */
  static final String WORKER_ID_ARGUMENT = "--worker-id=";

  /**
   * Stops the worker: SIGTERM, then a kill after the grace period. A worker started by an earlier
   * run of the control plane is found by its pid (the handle's reference).
   */
  @Override
  public void destroy(WorkerHandle handle) {
    Process process = processes.remove(handle.workerId());
    Optional<ProcessHandle> target =
        process != null ? Optional.of(process.toHandle()) : adopted(handle);
    if (target.isEmpty() || !target.get().isAlive()) {
      removeCgroup(handle.workerId());
      return;
    }
    ProcessHandle worker = target.get();
    worker.destroy();
    try {
      worker.onExit().get(config.stopGrace().toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      killTree(worker);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      log.warn("local worker {} ignored SIGTERM for {}, killing it", handle.workerId(), config.stopGrace());
      killTree(worker);
    }
    removeCgroup(handle.workerId());
    log.info("stopped local worker {} (pid {})", handle.workerId(), worker.pid());
  }

  @Override
  public boolean isAlive(WorkerHandle handle) {
    Process process = processes.get(handle.workerId());
    if (process != null) {
      return process.isAlive();
    }
    return adopted(handle).map(ProcessHandle::isAlive).orElse(false);
  }

  /**
   * The process of a worker this provider did not start in this run, by the pid it recorded. A
   * pid can be recycled, so the process must also carry the worker's id in its command line.
   * Not in its environment: a worker makes itself non-dumpable, and the kernel then hands its
   * {@code /proc/PID/environ} to root, so a control plane not running as root could no longer
   * read it; {@code /proc/PID/cmdline} stays readable to everyone.
   */
  private static Optional<ProcessHandle> adopted(WorkerHandle handle) {
    long pid;
    try {
      pid = Long.parseLong(handle.reference());
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
    return ProcessHandle.of(pid).filter(p -> carriesWorkerId(pid, handle.workerId()));
  }

  /**
   * Scans the processes for the one whose command line carries the worker's id, run by this
   * control plane's user (a job runs under a uid of its own, so a job that puts the id in its own
   * command line is not taken for the worker).
   */
  @Override
  public Optional<WorkerHandle> find(WorkerId worker) {
    Process started = processes.get(worker);
    if (started != null) {
      return Optional.of(new WorkerHandle(worker, name(), Long.toString(started.pid())));
    }
    return ProcessHandle.allProcesses()
        .filter(p -> carriesWorkerId(p.pid(), worker))
        .findFirst()
        .map(p -> new WorkerHandle(worker, name(), Long.toString(p.pid())));
  }

  private static final Optional<String> OWN_USER = ProcessHandle.current().info().user();

  private static boolean carriesWorkerId(long pid, WorkerId worker) {
    var process = ProcessHandle.of(pid);
    if (process.isEmpty() || OWN_USER.isEmpty() || !process.get().info().user().equals(OWN_USER)) {
      return false;
    }
    try {
      byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline"));
      String args = new String(cmdline, java.nio.charset.StandardCharsets.UTF_8);
      return ("\0" + args).contains("\0" + WORKER_ID_ARGUMENT + worker.value() + "\0");
    } catch (IOException e) {
      return false;
    }
  }

  /** The pid of a worker this provider started, while it runs. */
  public Optional<Long> pid(WorkerId worker) {
    return Optional.ofNullable(processes.get(worker)).filter(Process::isAlive).map(Process::pid);
  }

  @Override
  public ProviderHealth health() {
    String program = config.workerCommand().getFirst();
    Path exe = Path.of(program);
    if (exe.isAbsolute() && !Files.isExecutable(exe)) {
      return new ProviderHealth.Unhealthy("worker program " + program + " is not executable");
    }
    try {
      Files.createDirectories(config.logDir());
    } catch (IOException e) {
      return new ProviderHealth.Unhealthy("cannot create log directory " + config.logDir() + ": " + e.getMessage());
    }
    if (!Files.isWritable(config.logDir())) {
      return new ProviderHealth.Unhealthy("log directory " + config.logDir() + " is not writable");
    }
    return new ProviderHealth.Healthy();
  }

  /** Stops every worker this provider started. For shutdown of the control plane. */
  public void destroyAll() {
    for (var entry : new ArrayList<>(processes.entrySet())) {
      destroy(new WorkerHandle(entry.getKey(), name(), Long.toString(entry.getValue().pid())));
    }
  }

  /** SIGKILL to the worker and what it started, then waits (briefly) until it is gone. */
  private static void killTree(ProcessHandle root) {
    root.descendants().forEach(ProcessHandle::destroyForcibly);
    root.destroyForcibly();
    try {
      root.onExit().get(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      log.warn("pid {} still exists 5 s after SIGKILL", root.pid());
    }
  }

  /** The last non-blank line of the worker's own log file, at most 500 characters of it. */
  @Override
  public java.util.Optional<String> lastWords(WorkerHandle handle) {
    Path logFile = config.logDir().resolve(handle.workerId().value() + ".log");
    try (var file = new java.io.RandomAccessFile(logFile.toFile(), "r")) {
      long length = file.length();
      int tail = (int) Math.min(length, 4096);
      byte[] bytes = new byte[tail];
      file.seek(length - tail);
      file.readFully(bytes);
      String[] lines = new String(bytes, java.nio.charset.StandardCharsets.UTF_8).split("\n");
      for (int i = lines.length - 1; i >= 0; i--) {
        String line = lines[i].strip();
        if (!line.isEmpty()) {
          return java.util.Optional.of(line.length() > 500 ? line.substring(0, 500) : line);
        }
      }
    } catch (java.io.IOException e) {
      // no log: nothing to say
    }
    return java.util.Optional.empty();
  }
}
