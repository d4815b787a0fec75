package io.hodei.cli;

import io.hodei.store.DatabaseUrl;

import ch.qos.logback.classic.Level;
import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import io.hodei.provider.docker.DockerWorkerProvider;
import java.util.concurrent.CountDownLatch;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hodei dev}: the whole control plane on embedded defaults, in the foreground. */
@Command(
    name = "dev",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the control plane with an embedded SQLite store.",
      "Workers are started on demand as child processes (or, with --provider docker, as containers). Stop with Ctrl-C."
    })
class DevCommand implements Callable<Integer> {
  static final String LOOPBACK = "127.0.0.1";

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
      names = "--max-script-size",
      paramLabel = "SIZE",
      description = "Largest script (or command with its arguments) a job may have (default: ${DEFAULT-VALUE}).",
      defaultValue = "1Mi")
  String maxScriptSize;

  @Option(
      names = "--max-spec-size",
      paramLabel = "SIZE",
      description = "Largest job definition as sent, everything included (default: ${DEFAULT-VALUE}).",
      defaultValue = "2Mi")
  String maxSpecSize;

  @Option(
      names = "--max-env-vars",
      paramLabel = "N",
      description = "Most environment variables per job (default: ${DEFAULT-VALUE}).",
      defaultValue = "1000")
  int maxEnvVars;

  @Option(
      names = "--max-labels",
      paramLabel = "N",
      description = "Most labels per job (default: ${DEFAULT-VALUE}).",
      defaultValue = "64")
  int maxLabels;

  @Option(
      names = "--cancel-running",
      description = "On a clean stop (SIGTERM, Ctrl-C), cancel running jobs for good instead of keeping them to run again.")
  boolean cancelRunning;

  @Option(
      names = "--audit-retention",
      paramLabel = "DURATION",
      description = "Delete audit events older than this, every hour (default: ${DEFAULT-VALUE}).",
      defaultValue = "90d",
      converter = Durations.Converter.class)
  Duration auditRetention;

  @Option(
      names = "--audit-max-rows",
      paramLabel = "N",
      description = "Keep at most this many audit rows, the newest (default: ${DEFAULT-VALUE}).",
      defaultValue = "1000000")
  long auditMaxRows;

  @Option(
      names = "--max-waiting-jobs",
      paramLabel = "N",
      description = "Most pending or scheduled jobs per user; admins are not counted (default: ${DEFAULT-VALUE}).",
      defaultValue = "10000")
  int maxWaitingJobs;

  @Option(
      names = "--max-streams",
      paramLabel = "N",
      description = "Most open WatchJob, StreamLogs and StreamMetrics calls per user; admins are not counted (default: ${DEFAULT-VALUE}).",
      defaultValue = "64")
  int maxStreams;

  @Option(
      names = "--database-url",
      paramLabel = "URL",
      description = "The store: postgresql://USER@HOST:PORT/DATABASE, without a password (default: SQLite in the data directory).")
  String databaseUrl;

  @Option(
      names = "--replicas",
      paramLabel = "N",
      description = "Run N replicas on consecutive ports from --port, on --database-url or an embedded PostgreSQL in the data directory (dev only).")
  Integer replicas;

  @Option(
      names = "--replica-id",
      paramLabel = "ID",
      description = "This control plane's id among the replicas sharing --database-url (default: the host name); a live replica's id is refused.")
  String replicaId;

  @Option(
      names = "--database-password-file",
      paramLabel = "FILE",
      description = "File holding the database password (or env HODEI_DATABASE_PASSWORD); never on the command line.")
  Path databasePasswordFile;

  @Option(
      names = "--max-log-bytes-per-user",
      paramLabel = "SIZE",
      description = "Most log bytes stored for all jobs of one user, admins included; past it new jobs are refused and running jobs' output is cut (default: ${DEFAULT-VALUE}).",
      defaultValue = "10Gi")
  String maxLogBytesPerUser;

  @Option(
      names = "--log-retention",
      paramLabel = "DURATION",
      description = "Delete a finished job's log this long after its end, checked every hour; 0 keeps logs for ever (default: ${DEFAULT-VALUE}).",
      defaultValue = "30d",
      converter = Durations.Converter.class)
  Duration logRetention;

  @Option(
      names = "--max-priority",
      paramLabel = "N",
      description = "Highest priority a job may ask for; the lowest is its negative (default: ${DEFAULT-VALUE}).",
      defaultValue = "1000")
  int maxPriority;

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

  @Option(
      names = "--provider",
      paramLabel = "TYPE",
      description = {
        "Where workers run: local (child processes) or docker (containers of --docker-image; build it with"
            + " docker/build-worker-image.sh). Default: local. With --config, keeps only the providers of that name or type."
      })
  String provider;

  @Option(
      names = "--docker-image",
      paramLabel = "IMAGE",
      description = "Worker image of the docker provider (default: ${DEFAULT-VALUE}).",
      defaultValue = "hodei-worker:dev")
  String dockerImage;

  @Option(
      names = "--metrics-port",
      paramLabel = "PORT",
      description = "Serve Prometheus metrics (jobs per state, workers, certificate days left) at http://HOST:PORT/metrics (default: env HODEI_METRICS_PORT, else off).")
  Integer metricsPort;

  @Option(
      names = "--metrics-bind",
      paramLabel = "HOST",
      description = "Interface the metrics port listens on (default: env HODEI_METRICS_BIND, else 127.0.0.1; 0.0.0.0 for every interface).")
  String metricsBind;

  @Option(
      names = "--metrics-token-file",
      paramLabel = "FILE",
      description = "Answer /metrics only with 'Authorization: Bearer' and the token in FILE (default: env HODEI_METRICS_TOKEN_FILE, else none).")
  Path metricsTokenFile;

  @Option(
      names = "--config",
      paramLabel = "FILE",
      description = "YAML configuration (default: env HODEI_CONFIG, else none). Flags and HODEI_* variables win over it.")
  Path config;

  @Option(
      names = "--tls-dir",
      paramLabel = "DIR",
      description = "Serve mTLS with DIR/ca.crt, server.crt, server.key (from hodei pki init); with DIR/ca.key, workers get certificates.")
  Path tlsDir;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  /** The name in messages: "hodei dev" or "hodei server". */
  String commandName() {
    return "hodei dev";
  }

  /**
   * The role of a caller from loopback with no certificate and no token. Zero-config dev mode
   * (plaintext, loopback only) makes it a user, so {@code hodei run} works without flags; it is
   * never admin, because jobs on local workers call from loopback too. Admin calls need the token
   * of {@link #issuesAdminToken}. With TLS every caller has a certificate and nobody is let in
   * without one.
   */
  io.hodei.core.auth.Role anonymousRole() {
    return tlsDir == null ? io.hodei.core.auth.Role.USER : io.hodei.core.auth.Role.NONE;
  }

  /**
   * Whether this command keeps an admin token in {@code DATA/admin.token} ({@link DevAdminToken}):
   * dev mode without TLS, where it is the only admin credential. With TLS, {@code admin.crt} is.
   */
  boolean issuesAdminToken() {
    return tlsDir == null;
  }

  /** Interface to listen on: loopback only for dev. */
  /** Where workers are told to reach this server; empty: its bound address. */
  java.util.Optional<String> advertisedAddress(Settings settings) {
    return java.util.Optional.empty();
  }

  String bindHost() {
    return LOOPBACK;
  }

  private ServerConfig withTransport(ServerConfig config) {
    if (tlsDir == null) {
      return config;
    }
    Path dir = tlsDir.toAbsolutePath().normalize();
    if (java.nio.file.Files.isDirectory(dir)) {
      io.hodei.security.PemFiles.restrictKeys(dir);
    }
    return config.withTls(io.hodei.server.ServerTls.in(dir));
  }

  /** {@code --replicas N}: N {@code hodei dev} processes on one PostgreSQL (see {@link DevReplicas}). */
  int runReplicas(Settings settings, Path data) throws InterruptedException {
    if (!commandName().equals("hodei dev")) {
      throw new HodeiCli.UserError("--replicas is for hodei dev; run one " + commandName() + " per replica, each with its own --replica-id", 64);
    }
    if (replicas < 1 || replicas > 9) {
      throw new HodeiCli.UserError("--replicas: 1 to 9, got " + replicas, 64);
    }
    int first = settings.value("--port", port, "HODEI_PORT", Integer::parseInt, settings.file.server().port());
    if (first < 1 || first + replicas - 1 > 65535) {
      throw new HodeiCli.UserError("--port: " + replicas + " replicas need ports " + first + " to " + (first + replicas - 1), 64);
    }
    String url = settings.value("--database-url", databaseUrl, "HODEI_DATABASE_URL", x -> x, settings.file.database().url());
    List<String> args = new java.util.ArrayList<>(spec.commandLine().getParseResult().originalArgs());
    if (!args.isEmpty() && args.getFirst().equals("dev")) {
      args.removeFirst();
    }
    return new DevReplicas(data, first, DevReplicas.passThrough(args), System.out)
        .run(replicas, java.util.Optional.ofNullable(url).filter(u -> !u.isBlank()));
  }

  /** Checks before starting; {@code hodei server} refuses plaintext unless asked for it. */
  void checkTransport() {
    if (tlsDir == null) {
      System.out.println(
          "hodei dev: warning: plaintext gRPC on loopback only; for mTLS run hodei pki init --dir tls and hodei dev --tls-dir tls");
    }
  }

  @Override
  public Integer call() throws Exception {
    setLogLevel(Level.INFO);
    Path data = dataDir.toAbsolutePath().normalize();
    Settings settings = new Settings(spec, loadConfig(), System.getenv());
    if (replicas != null) {
      return runReplicas(settings, data);
    }
    checkTransport();
    var database = database(settings);
    ControlPlane plane;
    try {
      int resolvedPort = settings.value("--port", port, "HODEI_PORT", Integer::parseInt, settings.file.server().port());
      String resolvedStrategy =
          settings.value("--strategy", strategy, "HODEI_STRATEGY", x -> x, settings.file.server().strategy());
      Duration interval =
          settings.value("--heartbeat-interval", heartbeatInterval, "HODEI_HEARTBEAT_INTERVAL", Durations::parse,
              HodeiConfig.duration(settings.file.server().heartbeatInterval(), "server.heartbeat-interval").orElse(null));
      Duration timeout =
          settings.value("--heartbeat-timeout", heartbeatTimeout, "HODEI_HEARTBEAT_TIMEOUT", Durations::parse,
              HodeiConfig.duration(settings.file.server().heartbeatTimeout(), "server.heartbeat-timeout").orElse(null));
      Duration grace =
          settings.value("--kill-grace", killGrace, "HODEI_KILL_GRACE", Durations::parse,
              HodeiConfig.duration(settings.file.server().killGrace(), "server.kill-grace").orElse(null));
      long capMib =
          settings.value("--log-cap", logCapMib, "HODEI_LOG_CAP_MIB", Long::parseLong, settings.file.server().logCapMib());
      var limits = specLimits(settings);
      // Handed to every worker: checked here by the workers' own rule, so that a value they would
      // refuse stops this command instead of every worker it starts.
      try {
        io.hodei.worker.WorkerConfig.parseDuration(grace.toMillis() + "ms", "HODEI_KILL_GRACE");
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--kill-grace: must not be negative, got " + io.hodei.core.DurationText.format(grace));
      }
      var serverConfig =
      withTransport(ServerConfig.defaults())
              .withPort(resolvedPort)
              // Zero-config developer mode: plaintext, anonymous callers from loopback are
              // users; admins present the token in DATA/admin.token. With TLS every caller
              // has a certificate, and nobody is let in without one.
              .withAnonymousRole(anonymousRole())
              .withStrategy(
                  io.hodei.core.scheduling.Strategy.parse(resolvedStrategy)
                      .orElseThrow(
                          () ->
                              new IllegalArgumentException(
                                  "strategy: unknown strategy '" + resolvedStrategy + "'; known: "
                                      + io.hodei.core.scheduling.Strategy.names())))
              .withHeartbeats(interval, timeout)
              .withLogCap(capMib * 1024 * 1024)
              .withLimits(limits)
              .withAuditRetention(new io.hodei.server.auth.AuditRetention(
                  settings.value("--audit-retention", auditRetention, "HODEI_AUDIT_RETENTION", Durations::parse, null),
                  settings.value("--audit-max-rows", auditMaxRows, "HODEI_AUDIT_MAX_ROWS", Long::parseLong, null)))
              .withQuotas(new io.hodei.server.auth.UserQuotas(
                  settings.value("--max-waiting-jobs", maxWaitingJobs, "HODEI_MAX_WAITING_JOBS", Integer::parseInt, null),
                  settings.value("--max-streams", maxStreams, "HODEI_MAX_STREAMS", Integer::parseInt, null),
                  JobOptions.bytes(settings.value("--max-log-bytes-per-user", maxLogBytesPerUser, "HODEI_MAX_LOG_BYTES_PER_USER", x -> x, null), "--max-log-bytes-per-user")))
              .withLogRetention(settings.value("--log-retention", logRetention, "HODEI_LOG_RETENTION", Durations::parse, null))
              .withBindHost(bindHost())
              .withAdvertisedAddress(advertisedAddress(settings))
              .withReplica(new io.hodei.server.ReplicaSettings(
                  java.util.Optional.ofNullable(
                          settings.value("--replica-id", replicaId, "HODEI_REPLICA_ID", x -> x, settings.file.server().replicaId()))
                      .orElse(io.hodei.server.ReplicaSettings.SINGLE.id()),
                  io.hodei.server.ReplicaSettings.DEFAULT_LEASE));
      plane =
          ControlPlane.start(
              ControlPlane.Settings.of(data, serverConfig)
                  .withStore(database)
                  .withPools(pools(settings))
                  .withWorkerEnv(Map.of("HODEI_KILL_GRACE", grace.toMillis() + "ms"))
                  .withLocalWorkerCommand(WorkerLauncher::command));
    } catch (io.hodei.security.PkiException e) {
      throw new HodeiCli.UserError("--tls-dir: " + e.getMessage(), HodeiCli.EX_NOINPUT);
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError(e.getMessage(), 64);
    } catch (HodeiCli.UserError e) {
      throw e;
    } catch (RuntimeException e) {
      throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_UNAVAILABLE);
    }
    Path adminToken = null;
    if (issuesAdminToken()) {
      try {
        adminToken = DevAdminToken.ensure(data, plane.tokens());
      } catch (RuntimeException e) {
        plane.close();
        throw new HodeiCli.UserError("cannot keep the admin token in " + data + ": " + e.getMessage(), HodeiCli.EX_UNAVAILABLE);
      }
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  plane.close(cancelRunning ? io.hodei.server.HodeiServer.OnStop.CANCEL_RUNNING_JOBS : onStop());
                  stopped.countDown();
                },
                "hodei-dev-shutdown"));
    Integer resolvedMetricsPort = settings.value("--metrics-port", metricsPort, "HODEI_METRICS_PORT", Integer::parseInt, null);
    String metricsLine = "";
    if (resolvedMetricsPort != null) {
      String host = settings.value("--metrics-bind", metricsBind, "HODEI_METRICS_BIND", x -> x, null);
      if (host == null) {
        host = LOOPBACK;
      }
      Path tokenFile = settings.value("--metrics-token-file", metricsTokenFile, "HODEI_METRICS_TOKEN_FILE", Path::of, null);
      java.util.Optional<String> token = java.util.Optional.empty();
      if (tokenFile != null) {
        try {
          token = java.util.Optional.of(Files.readString(tokenFile).strip()).filter(t -> !t.isEmpty());
        } catch (java.io.IOException e) {
          throw new HodeiCli.UserError("--metrics-token-file: cannot read " + tokenFile + ": " + e.getMessage(), HodeiCli.EX_NOINPUT);
        }
        if (token.isEmpty()) {
          throw new HodeiCli.UserError("--metrics-token-file: " + tokenFile + " is empty", HodeiCli.EX_NOINPUT);
        }
      }
      try {
        int bound = plane.serveMetrics(host, resolvedMetricsPort, token);
        metricsLine = ", metrics: " + (plane.metricsOverTls() ? "https" : "http") + "://" + host + ":" + bound + "/metrics"
            + (token.isPresent() ? " (bearer token)" : "");
      } catch (java.io.UncheckedIOException e) {
        // The shutdown hook closes the control plane on the way out.
        throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_UNAVAILABLE);
      }
    }
    if (adminToken != null) {
      boolean pickedUpHere =
          Path.of("").toAbsolutePath().relativize(adminToken).equals(DevAdminToken.DEFAULT_FILE);
      System.out.println(
          commandName()
              + ": admin token in "
              + adminToken
              + " (owner-only; local callers without it are users). Client commands use it "
              + (pickedUpHere
                  ? "when run from this directory"
                  : "with " + DevAdminToken.ENV_FILE + "=" + adminToken)
              + ", or pass --token \"$(cat "
              + adminToken
              + ")\"");
    }
    System.out.println(
        commandName()
            + ": ready on "
            + plane.address()
            + (tlsDir != null ? " with mTLS" : "")
            + " (data: "
            + data
            + (database.url().embedded() ? "" : ", database: " + database.url().shown() + ", replica: " + plane.replicaId())
            + ", providers: "
            + String.join(", ", plane.providers())
            + metricsLine
            + "). Try: ./hodei run"
            + (tlsDir != null ? " --tls-dir " + tlsDir : "")
            + " -- echo hello");
    plane.problems()
        .forEach(
            (name, problem) ->
                System.out.println(commandName() + ": warning: provider " + name + " is " + problem));
    System.out.flush();
    stopped.await();
    return 0;
  }

  static void setLogLevel(Level level) {
    if (LoggerFactory.getLogger("io.hodei") instanceof ch.qos.logback.classic.Logger logger) {
      logger.setLevel(level);
    }
  }

  private HodeiConfig loadConfig() {
    Path file = config;
    if (file == null && System.getenv("HODEI_CONFIG") != null && !System.getenv("HODEI_CONFIG").isBlank()) {
      file = Path.of(System.getenv("HODEI_CONFIG"));
    }
    return file == null ? HodeiConfig.EMPTY : HodeiConfig.load(file);
  }

  /**
   * The pools: those the file names, or one default pool named after {@code --provider} ("local"
   * unless told otherwise). With a file, {@code --provider} keeps only the pools of that name or
   * type. The pool flags apply to the pool named like {@code --provider}.
   */
  List<PoolSpec> pools(Settings settings) {
    String chosen = settings.value("--provider", provider, "HODEI_PROVIDER", x -> x, null);
    boolean choseOne = chosen != null;
    String defaultName = choseOne ? chosen : "local";
    Map<String, HodeiConfig.Provider> configured = new LinkedHashMap<>(settings.file.providers());
    if (configured.isEmpty()) {
      if (!PROVIDER_TYPES.contains(defaultName)) {
        throw new HodeiCli.UserError(
            "--provider: unknown provider type '" + defaultName + "'; known: " + String.join(", ", PROVIDER_TYPES), 64);
      }
      configured.put(defaultName, HodeiConfig.Provider.ofType(defaultName));
    } else if (choseOne) {
      configured.entrySet().removeIf(e -> !e.getKey().equals(chosen) && !e.getValue().typeOrLocal().equals(chosen));
      if (configured.isEmpty()) {
        throw new HodeiCli.UserError(
            "--provider: the configuration file has no provider named or of type '" + chosen + "'; it has: "
                + String.join(", ", settings.file.providers().keySet()),
            64);
      }
    }
    List<PoolSpec> pools = new java.util.ArrayList<>();
    for (var entry : configured.entrySet()) {
      String name = entry.getKey();
      var section = entry.getValue();
      String type = section.typeOrLocal();
      var defaults =
          new PoolPolicy(maxWorkers, idleTimeout, Duration.ofSeconds(60)).withMinIdle(minIdle).withJobsPerWorker(jobsPerWorker);
      PoolPolicy policy;
      try {
        var fromFile = section.policy(name, defaults);
        policy =
            name.equals(defaultName)
                ? new PoolPolicy(
                    settings.value("--max-workers", maxWorkers, "HODEI_MAX_WORKERS", Integer::parseInt, section.maxWorkers()),
                    settings.value("--idle-timeout", idleTimeout, "HODEI_IDLE_TIMEOUT", Durations::parse, fromFile.idleTimeout()),
                    fromFile.registrationTimeout(),
                    settings.value("--min-idle", minIdle, "HODEI_MIN_IDLE", Integer::parseInt, section.minIdle()),
                    fromFile.maxLifetime(),
                    fromFile.ephemeral(),
                    settings.value("--jobs-per-worker", jobsPerWorker, "HODEI_JOBS_PER_WORKER", Integer::parseInt, section.jobsPerWorker()))
                : fromFile;
      } catch (IllegalArgumentException e) {
        if (settings.file.providers().isEmpty()) {
          throw e; // the flags' own mistake, reported as it always was
        }
        // A pool the file describes: say which (max workers 0, min idle above max workers, ...).
        throw new HodeiCli.UserError("providers." + name + ": " + e.getMessage(), 65);
      }
      switch (type) {
        case "local" -> {
          if (!section.dockerKeys().isEmpty()) {
            throw new HodeiCli.UserError(
                "providers." + name + ": " + String.join(", ", section.dockerKeys())
                    + (section.dockerKeys().size() == 1 ? " applies" : " apply") + " to docker pools only; this pool is of type local",
                65);
          }
          pools.add(new PoolSpec.Local(name, policy, section.labelsOrEmpty()));
        }
        case "docker" ->
            pools.add(
                new PoolSpec.Docker(
                    name, policy, section.labelsOrEmpty(), dockerConfig(name, section, settings, name.equals(defaultName))));
        default ->
            throw new HodeiCli.UserError(
                "providers." + name + ".type: unknown provider type '" + type + "'; known: "
                    + String.join(", ", PROVIDER_TYPES),
                65);
      }
    }
    return pools;
  }

  static final List<String> PROVIDER_TYPES = List.of("local", "docker");

  /** The Docker provider of pool {@code name}: file keys over defaults; the engine from DOCKER_HOST unless the file names one. */
  private DockerWorkerProvider.Config dockerConfig(
      String name, HodeiConfig.Provider section, Settings settings, boolean flagsApply) {
    String key = "providers." + name + ".";
    String image =
        flagsApply
            ? settings.value("--docker-image", dockerImage, "HODEI_DOCKER_IMAGE", x -> x, section.image())
            : (section.image() != null ? section.image() : dockerImage);
    String host =
        section.dockerHost() != null
            ? section.dockerHost()
            : settings.env("DOCKER_HOST").orElse(DockerWorkerProvider.DEFAULT_DOCKER_HOST);
    double cpus = section.cpus() != null ? section.cpus() : DockerWorkerProvider.Config.DEFAULT_CPUS;
    long memory =
        section.memory() != null
            ? JobOptions.bytes(section.memory(), key + "memory")
            : DockerWorkerProvider.Config.DEFAULT_MEMORY_BYTES;
    long pids = section.pidsLimit() != null ? section.pidsLimit() : DockerWorkerProvider.Config.DEFAULT_PIDS_LIMIT;
    try {
      var sandbox =
          section.jobSandbox() != null
              ? DockerWorkerProvider.JobSandbox.of(section.jobSandbox())
              : DockerWorkerProvider.JobSandbox.NAMESPACES;
      return DockerWorkerProvider.Config.defaults(name, image).withDockerHost(host).withLimits(cpus, memory, pids)
          .withJobSandbox(sandbox);
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError("providers." + name + ": " + e.getMessage(), 65);
    }
  }

  /** What a job's definition may hold: each flag, else its HODEI_MAX_* variable, else its default. */
  io.hodei.core.job.SpecLimits specLimits(Settings settings) {
    long script = JobOptions.bytes(settings.value("--max-script-size", maxScriptSize, "HODEI_MAX_SCRIPT_SIZE", x -> x, null), "--max-script-size");
    long spec = JobOptions.bytes(settings.value("--max-spec-size", maxSpecSize, "HODEI_MAX_SPEC_SIZE", x -> x, null), "--max-spec-size");
    for (long v : new long[] {script, spec}) {
      if (v > Integer.MAX_VALUE / 8) {
        throw new IllegalArgumentException("--max-script-size and --max-spec-size must be at most 256Mi");
      }
    }
    int env = settings.value("--max-env-vars", maxEnvVars, "HODEI_MAX_ENV_VARS", Integer::parseInt, null);
    int labels = settings.value("--max-labels", maxLabels, "HODEI_MAX_LABELS", Integer::parseInt, null);
    int priority = settings.value("--max-priority", maxPriority, "HODEI_MAX_PRIORITY", Integer::parseInt, null);
    var d = io.hodei.core.job.SpecLimits.DEFAULTS;
    return new io.hodei.core.job.SpecLimits(
        (int) script, env, d.envBytes(), labels, d.labelBytes(), d.constraintEntries(), (int) spec, priority);
  }

  /**
   * What a clean stop does with running jobs: hodei dev stops its local workers, and their jobs go
   * back to the queue to run again at the next start.
   */
  io.hodei.server.HodeiServer.OnStop onStop() {
    return io.hodei.server.HodeiServer.OnStop.REQUEUE_RUNNING_JOBS;
  }

  /** Where the store is, and the password to reach it, from the flags, the environment or the file. */
  private ControlPlane.Store database(Settings settings) {
    String url = settings.value("--database-url", databaseUrl, "HODEI_DATABASE_URL", x -> x, settings.file.database().url());
    DatabaseUrl parsed;
    try {
      parsed = DatabaseUrl.parse(url);
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError(e.getMessage(), 64);
    }
    Path passwordFile = settings.value("--database-password-file", databasePasswordFile, "HODEI_DATABASE_PASSWORD_FILE", Path::of,
        settings.file.database().passwordFile() == null ? null : Path.of(settings.file.database().passwordFile()));
    Optional<String> password = settings.env("HODEI_DATABASE_PASSWORD");
    if (passwordFile != null) {
      if (password.isPresent()) {
        throw new HodeiCli.UserError("the database password is given twice: HODEI_DATABASE_PASSWORD and a password file; give one", 64);
      }
      try {
        password = Optional.of(java.nio.file.Files.readString(passwordFile).strip());
      } catch (java.io.IOException e) {
        throw new HodeiCli.UserError("cannot read the database password file " + passwordFile + ": " + e.getMessage(), HodeiCli.EX_NOINPUT);
      }
    }
    if (parsed.embedded() && password.isPresent()) {
      throw new HodeiCli.UserError("a database password is given but no --database-url: the embedded SQLite takes none", 64);
    }
    return new ControlPlane.Store(parsed, password);
  }

  /** Where a setting comes from: the flag if given, else the environment, else the file, else the flag's default. */
  static final class Settings {
    private final picocli.CommandLine.Model.CommandSpec spec;
    final HodeiConfig file;
    private final Map<String, String> env;

    Settings(picocli.CommandLine.Model.CommandSpec spec, HodeiConfig file, Map<String, String> env) {
      this.spec = spec;
      this.file = file;
      this.env = env;
    }

    Optional<String> env(String name) {
      return Optional.ofNullable(env.get(name)).filter(v -> !v.isBlank()).map(String::strip);
    }

    <T> T value(String flag, T flagValue, String envName, java.util.function.Function<String, T> parse, T fromFile) {
      if (spec.commandLine().getParseResult().hasMatchedOption(flag)) {
        return flagValue;
      }
      String fromEnv = env.get(envName);
      if (fromEnv != null && !fromEnv.isBlank()) {
        try {
          return parse.apply(fromEnv.strip());
        } catch (RuntimeException e) {
          throw new HodeiCli.UserError(envName + "='" + fromEnv + "': " + e.getMessage(), 64);
        }
      }
      return fromFile != null ? fromFile : flagValue;
    }
  }
}
