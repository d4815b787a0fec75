package io.hodei.cli;

import ch.qos.logback.classic.Level;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei dev}: the whole control plane on embedded defaults, in the foreground. */
@Command(
    name = "dev",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the control plane with an embedded SQLite store and the local-process provider.",
      "Workers are started on demand as child processes. Stop with Ctrl-C."
    })
final class DevCommand implements Callable<Integer> {

  @Option(names = "--port", description = "gRPC port (default: ${DEFAULT-VALUE}).", defaultValue = "50051")
  int port;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description = "Where the database and worker logs live (default: ${DEFAULT-VALUE}).",
      defaultValue = ".hodei/data")
  Path dataDir;

  @Option(
      names = "--max-workers",
      description = "Most local workers alive at once (default: ${DEFAULT-VALUE}).",
      defaultValue = "4")
  int maxWorkers;

  @Option(
      names = "--idle-timeout",
      paramLabel = "DURATION",
      description = "Stop a worker idle this long (default: ${DEFAULT-VALUE}).",
      defaultValue = "2m",
      converter = Durations.Converter.class)
  Duration idleTimeout;

  @Option(
      names = "--heartbeat-interval",
      paramLabel = "DURATION",
      description = "How often workers send heartbeats (default: ${DEFAULT-VALUE}).",
      defaultValue = "5s",
      converter = Durations.Converter.class)
  Duration heartbeatInterval;

  @Option(
      names = "--heartbeat-timeout",
      paramLabel = "DURATION",
      description = "A worker silent this long is lost; its jobs are retried or failed (default: ${DEFAULT-VALUE}).",
      defaultValue = "15s",
      converter = Durations.Converter.class)
  Duration heartbeatTimeout;

  @Option(
      names = "--kill-grace",
      paramLabel = "DURATION",
      description = "Between SIGTERM and SIGKILL when a job is cancelled or times out (default: ${DEFAULT-VALUE}).",
      defaultValue = "10s",
      converter = Durations.Converter.class)
  Duration killGrace;

  @Option(
      names = "--log-cap",
      paramLabel = "MIB",
      description = "Most output kept per job, in MiB; the rest is cut with a marker (default: ${DEFAULT-VALUE}).",
      defaultValue = "100")
  long logCapMib;

  @Option(
      names = "--strategy",
      paramLabel = "NAME",
      description = "How workers are chosen unless a job says otherwise: round-robin, least-connections, bin-pack, spread or affinity (default: ${DEFAULT-VALUE}).",
      defaultValue = "least-connections")
  String strategy;

  @Option(
      names = "--min-idle",
      paramLabel = "N",
      description = "Warm workers kept ready even with no work (default: ${DEFAULT-VALUE}).",
      defaultValue = "0")
  int minIdle;

  @Option(
      names = "--jobs-per-worker",
      paramLabel = "N",
      description = "Jobs one local worker runs at once, within its resources (default: ${DEFAULT-VALUE}).",
      defaultValue = "1")
  int jobsPerWorker;

  @Override
  public Integer call() throws Exception {
    setLogLevel(Level.INFO);
    Path data = dataDir.toAbsolutePath().normalize();
    EmbeddedControlPlane plane;
    try {
      plane =
          EmbeddedControlPlane.start(
              data,
              ServerConfig.defaults()
                  .withPort(port)
                  .withStrategy(
                      io.hodei.core.scheduling.Strategy.parse(strategy)
                          .orElseThrow(
                              () ->
                                  new IllegalArgumentException(
                                      "--strategy: unknown strategy '" + strategy + "'; known: "
                                          + io.hodei.core.scheduling.Strategy.names())))
                  .withHeartbeats(heartbeatInterval, heartbeatTimeout)
                  .withLogCap(logCapMib * 1024 * 1024),
              new PoolPolicy(maxWorkers, idleTimeout, Duration.ofSeconds(60)).withMinIdle(minIdle).withJobsPerWorker(jobsPerWorker),
              java.util.Map.of("HODEI_KILL_GRACE", killGrace.toMillis() + "ms"));
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError(e.getMessage(), 64);
    } catch (RuntimeException e) {
      throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_UNAVAILABLE);
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  plane.close();
                  stopped.countDown();
                },
                "hodei-dev-shutdown"));
    System.out.println(
        "hodei dev: ready on "
            + plane.address()
            + " (data: "
            + data
            + ", provider: local, max workers: "
            + maxWorkers
            + "). Try: ./hodei run -- echo hello");
    System.out.flush();
    stopped.await();
    return 0;
  }

  static void setLogLevel(Level level) {
    if (LoggerFactory.getLogger("io.hodei") instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(level);
    }
  }
}
