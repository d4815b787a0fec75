package io.hodei.provider.local;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.core.worker.WorkerId;
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
 * from {@code workerCommand} (normally {@code java -cp ... hodei worker}). A worker's own output
 * goes to {@code logDir/<worker-id>.log}; job output never does, it travels over the stream.
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
      workerEnv = Map.copyOf(workerEnv);
      workerCommand = List.copyOf(workerCommand);
      if (workerCommand.isEmpty()) {
        throw new IllegalArgumentException("worker command must not be empty");
      }
    }
  }

  private final Config config;
  private final Map<WorkerId, Process> processes = new ConcurrentHashMap<>();

  public LocalProcessProvider(Config config) {
    this.config = config;
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
          new ProcessBuilder(config.workerCommand())
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
      builder.environment().putAll(config.workerEnv());
      builder.environment().putAll(launch.workerEnvironment());
      Process process = builder.start();
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
   * pid can be recycled, so the process must also carry the worker's id in its environment.
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

  private static boolean carriesWorkerId(long pid, WorkerId worker) {
    try {
      byte[] environ = Files.readAllBytes(Path.of("/proc", Long.toString(pid), "environ"));
      String entries = new String(environ, java.nio.charset.StandardCharsets.UTF_8);
      return ("\0" + entries).contains("\0HODEI_WORKER_ID=" + worker.value() + "\0");
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
}
