package io.hodei.worker;

import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a worker agent in the foreground: {@code java io.hodei.worker.WorkerMain} with the {@code
 * HODEI_*} environment of {@link WorkerConfig} and its credentials from a {@link Bootstrap}, or
 * {@code hodei worker}. SIGTERM stops it gracefully.
 *
 * <p>Before anything else the process makes itself non-dumpable ({@link NonDumpable}), so that the
 * credentials it is about to read stay out of its jobs' reach; only then does it read them, once.
 *
 * <p>Arguments: {@code worker} and {@value #WORKER_ID_ARGUMENT}{@code <id>} are for {@code ps} and
 * for a provider finding its workers again after a restart ({@code /proc/PID/cmdline} stays
 * readable when the process is not dumpable); the id must then be {@value
 * WorkerConfig#ENV_WORKER_ID}'s. Others are ignored.
 *
 * <p>Local workers and the worker image start this class directly rather than {@code hodei
 * worker}: the CLI's parser (picocli) is compiled for Java 5, and classes that old cannot go into
 * a JDK 25 AOT class cache, so parsing one word cost a cold worker a third of its start-up. With
 * {@value AotTraining#ENV}{@code =1} it runs the {@link AotTraining} instead.
 */
public final class WorkerMain {
  private static final Logger log = LoggerFactory.getLogger(WorkerMain.class);
  /**
   * How long SIGTERM waits for the graceful stop, beyond the kill grace period, before the JVM
   * goes down anyway: the jobs' kill, then delivering their results and unregistering.
   */
  private static final Duration SHUTDOWN_HOOK_EXTRA = Duration.ofSeconds(20);

  /** The argument naming the worker's id: {@code --worker-id=<id>}. */
  public static final String WORKER_ID_ARGUMENT = "--worker-id=";

  private WorkerMain() {}

  public static void main(String[] args) {
    NonDumpable.apply();
    if (AotTraining.requested(System.getenv())) {
      System.exit(AotTraining.run());
      return;
    }
    WorkerConfig config;
    try {
      config = configure(args);
    } catch (IllegalArgumentException | java.io.UncheckedIOException e) {
      System.err.println("hodei worker: " + e.getMessage());
      System.exit(WorkerExit.FAILED.code());
      return;
    }
    System.exit(run(config));
  }

  /**
   * Makes this process non-dumpable, reads its bootstrap (once: from a file it then deletes, a
   * token file, or stdin) and its settings from the environment.
   *
   * @throws IllegalArgumentException one line saying what is missing or wrong
   */
  public static WorkerConfig configure(String[] args) {
    NonDumpable.apply();
    var env = System.getenv();
    Bootstrap bootstrap = Bootstrap.read(env, System.in, Bootstrap.stdinIsTerminal());
    WorkerConfig config = WorkerConfig.fromEnvironment(env, bootstrap);
    for (String arg : args) {
      if (arg.startsWith(WORKER_ID_ARGUMENT) && !arg.substring(WORKER_ID_ARGUMENT.length()).equals(config.workerId())) {
        throw new IllegalArgumentException(
            arg + " does not match " + WorkerConfig.ENV_WORKER_ID + "=" + config.workerId());
      }
    }
    return config;
  }

  /**
   * Runs a worker until it ends and returns the process exit code: 0 after a requested shutdown,
   * non-zero when it had to give up (see {@link WorkerExit}). A JVM shutdown hook stops it
   * gracefully on SIGTERM, waiting up to the drain timeout, the kill grace period and {@link
   * #SHUTDOWN_HOOK_EXTRA};
   * the hook is removed again when the worker ends by itself.
   */
  public static int run(WorkerConfig config) {
    WorkerAgent agent = new WorkerAgent(config);
    Duration hookWait = config.drainTimeout().plus(config.killGracePeriod()).plus(SHUTDOWN_HOOK_EXTRA);
    Thread hook =
        new Thread(
            () -> {
              agent.shutdown();
              try {
                if (!agent.awaitTermination(hookWait)) {
                  log.warn("the worker did not stop within {}", hookWait);
                }
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "hodei-worker-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      agent.start();
      return agent.awaitExit().code();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted; stopping the worker");
      agent.shutdown();
      return agent.exitStatus().orElse(WorkerExit.FAILED).code();
    } finally {
      removeHook(hook);
    }
  }

  private static void removeHook(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      log.debug("the JVM is shutting down; the hook stays: {}", e.toString());
    }
  }
}
