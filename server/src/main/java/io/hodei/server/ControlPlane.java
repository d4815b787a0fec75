package io.hodei.server;

import io.hodei.core.Storage;
import io.hodei.core.auth.TokenService;
import io.hodei.core.job.Resources;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.provider.docker.DockerWorkerProvider;
import io.hodei.provider.local.LocalProcessProvider;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.store.Database;
import io.hodei.store.DatabaseUrl;
import io.hodei.store.SecretCipher;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;

/**
 * The control plane assembled: one data directory, its store, its worker pools and a started
 * {@link HodeiServer}. {@code hodei dev}, {@code hodei server}, the benchmarks and the tests all
 * start it from {@link Settings}.
 *
 * <p>{@link #start} takes, in this order: the data directory's lock ({@link DataDirectoryLock}:
 * one control plane per data directory), the database, the secret cipher ({@value
 * SecretCipher#ENV_KEY}, else {@code DATA/secret.key}), a provider per pool, then the server; it
 * undoes what it took if a later step fails. {@link #close(HodeiServer.OnStop)} lets go in the
 * reverse order: server, providers, database, lock.
 */
public final class ControlPlane implements AutoCloseable {
  /** Worker settings that local workers take over from the environment of the control plane. */
  static final List<String> LOCAL_WORKER_SETTINGS =
      List.of(
          "HODEI_METRICS_TTL", "HODEI_PROCESS_LAUNCHER", "HODEI_KILL_GRACE",
          // How jobs are isolated (see JobSandbox in the worker and docs/security.md).
          "HODEI_JOB_ISOLATION", "HODEI_JOB_UIDS", "HODEI_JOB_PIDS_MAX", "HODEI_JOB_ROOT",
          "HODEI_JOB_READ_ONLY_PATHS", "HODEI_JOB_UID_LOCKS");

  /** Where the store is: the database URL and its password (empty for none). */
  public record Store(DatabaseUrl url, Optional<String> password) {
    /** SQLite in the data directory. */
    public static final Store EMBEDDED = new Store(DatabaseUrl.EMBEDDED, Optional.empty());

    public Store {
      Objects.requireNonNull(url, "url");
      Objects.requireNonNull(password, "password");
    }

    @Override
    public String toString() {
      return url.shown(); // never the password
    }
  }

  /**
   * What to start.
   *
   * @param dataDir the data directory: lock, SQLite database, secret key, workers' logs
   * @param store the database: SQLite in {@code dataDir} unless it names a PostgreSQL server
   * @param server the server's own settings (port, TLS, roles, limits...)
   * @param pools the worker pools, in the order the ready line lists them
   * @param workerEnv extra environment for every worker, local or in a container
   * @param localWorkerCommand the command line of a local worker for the (absolute) data
   *     directory; called once per local pool, after the lock is taken. Required with a local pool
   */
  public record Settings(
      Path dataDir,
      Store store,
      ServerConfig server,
      List<PoolSpec> pools,
      Map<String, String> workerEnv,
      Optional<Function<Path, List<String>>> localWorkerCommand) {
    public Settings {
      Objects.requireNonNull(dataDir, "dataDir");
      Objects.requireNonNull(store, "store");
      Objects.requireNonNull(server, "server");
      pools = List.copyOf(pools);
      workerEnv = Map.copyOf(workerEnv);
      Objects.requireNonNull(localWorkerCommand, "localWorkerCommand");
    }

    /** The embedded store, no pools, no extra worker environment. */
    public static Settings of(Path dataDir, ServerConfig server) {
      return new Settings(dataDir, Store.EMBEDDED, server, List.of(), Map.of(), Optional.empty());
    }

    public Settings withStore(Store store) {
      return new Settings(dataDir, store, server, pools, workerEnv, localWorkerCommand);
    }

    public Settings withPools(List<? extends PoolSpec> pools) {
      return new Settings(dataDir, store, server, List.copyOf(pools), workerEnv, localWorkerCommand);
    }

    public Settings withWorkerEnv(Map<String, String> workerEnv) {
      return new Settings(dataDir, store, server, pools, workerEnv, localWorkerCommand);
    }

    public Settings withLocalWorkerCommand(Function<Path, List<String>> command) {
      return new Settings(dataDir, store, server, pools, workerEnv, Optional.of(command));
    }
  }

  private final Database database;
  private final Storage stores;
  private final HodeiServer server;
  private final List<WorkerProvider> providers;
  private final List<String> descriptions;
  private final DataDirectoryLock lock;

  private ControlPlane(
      Database database,
      Storage stores,
      HodeiServer server,
      List<WorkerProvider> providers,
      List<String> descriptions,
      DataDirectoryLock lock) {
    this.lock = lock;
    this.database = database;
    this.stores = stores;
    this.server = server;
    this.providers = List.copyOf(providers);
    this.descriptions = List.copyOf(descriptions);
  }

  /**
   * Starts the control plane.
   *
   * @throws IllegalStateException if another control plane holds the data directory
   * @throws IllegalArgumentException if a local pool is given without a local worker command
   */
  public static ControlPlane start(Settings settings) {
    for (PoolSpec spec : settings.pools()) {
      if (spec instanceof PoolSpec.Local && settings.localWorkerCommand().isEmpty()) {
        throw new IllegalArgumentException(
            "pool " + spec.name() + " is local, and no local worker command is set (Settings.withLocalWorkerCommand)");
      }
    }
    Path data = settings.dataDir().toAbsolutePath().normalize();
    // Owner-only whatever the store: it holds the secret key, the admin token and workers' logs.
    io.hodei.core.files.FileModes.privateDirectory(data);
    var lock =
        settings.store().url().embedded()
            ? DataDirectoryLock.take(data)
            : DataDirectoryLock.forReplica(data, settings.server().replica().id());
    Database database;
    try {
      database = settings.store().url().connect(data, settings.store().password());
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
    List<WorkerProvider> providers = new ArrayList<>();
    try {
      // Secrets kept for queued jobs must outlive a restart: the key comes from the environment
      // or, for the embedded setup, from a file beside the database (created owner-only).
      String key = System.getenv(SecretCipher.ENV_KEY);
      var cipher =
          key != null && !key.isBlank()
              ? SecretCipher.fromBase64(key)
              : SecretCipher.fromKeyFile(data.resolve("secret.key"));
      var stores = Stores.open(database, cipher);
      List<Provisioner.Pool> pools = new ArrayList<>();
      List<String> descriptions = new ArrayList<>();
      for (PoolSpec spec : settings.pools()) {
        var env = new HashMap<>(settings.workerEnv());
        if (!spec.labels().isEmpty()) {
          env.put(
              "HODEI_WORKER_LABELS",
              String.join(
                  ",", spec.labels().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().toList()));
        }
        var shell = Provisioner.WorkerProfile.SHELL.capabilities();
        switch (spec) {
          case PoolSpec.Local local -> {
            // A local worker inherits only a few variables (LocalProcessProvider.INHERITED):
            // these worker settings, when set for the control plane, go on to its local workers.
            for (String setting : LOCAL_WORKER_SETTINGS) {
              String value = System.getenv(setting);
              if (value != null && !value.isBlank()) {
                env.putIfAbsent(setting, value);
              }
            }
            var provider =
                new LocalProcessProvider(
                    new LocalProcessProvider.Config(
                        local.name(),
                        settings.localWorkerCommand().orElseThrow().apply(data),
                        data.resolve("workers"),
                        Duration.ofSeconds(15),
                        env));
            providers.add(provider);
            pools.add(
                new Provisioner.Pool(
                    provider, local.policy(), new Provisioner.WorkerProfile(shell, local.labels(), List.of(), hostCapacity())));
            descriptions.add(local.name() + " (local, max " + local.policy().maxWorkers() + " workers)");
          }
          case PoolSpec.Docker docker -> {
            var merged = new HashMap<>(docker.docker().workerEnv());
            merged.putAll(env);
            var provider = new DockerWorkerProvider(docker.docker().withWorkerEnv(merged));
            providers.add(provider);
            var limits = docker.docker();
            // A container's limits are its worker's capacity: a job asking for more is explained
            // as not fitting this pool instead of waiting for a worker that could never take it.
            var capacity = new Resources(limits.cpus(), limits.memoryBytes(), 0, 0);
            pools.add(
                new Provisioner.Pool(
                    provider, docker.policy(), new Provisioner.WorkerProfile(shell, docker.labels(), List.of(), capacity)));
            descriptions.add(
                docker.name() + " (docker, image " + limits.image() + ", max " + docker.policy().maxWorkers() + " workers)");
          }
          case PoolSpec.Custom custom -> {
            var provider = custom.pool().provider();
            providers.add(provider);
            pools.add(custom.pool());
            descriptions.add(
                custom.name() + " (" + provider.type() + ", max " + custom.policy().maxWorkers() + " workers)");
          }
        }
      }
      var server = new HodeiServer(settings.server(), stores, pools, Clock.systemUTC()).start();
      lock.record("pid " + ProcessHandle.current().pid() + ", " + server.address());
      return new ControlPlane(database, stores, server, providers, descriptions, lock);
    } catch (RuntimeException e) {
      closeProviders(providers);
      database.close();
      lock.close();
      throw e;
    }
  }

  /** Each pool as "name (type, max N workers)", for the ready line. */
  public List<String> providers() {
    return descriptions;
  }

  /** Each provider that is not healthy right now, with why: worth a warning at start. */
  public Map<String, String> problems() {
    Map<String, String> problems = new LinkedHashMap<>();
    for (WorkerProvider provider : providers) {
      ProviderHealth health = provider.health();
      if (!(health instanceof ProviderHealth.Healthy)) {
        problems.put(provider.name(), Provisioner.describe(health));
      }
    }
    return problems;
  }

  /** Where the server listens: {@code host:port}. */
  public String address() {
    return server.address();
  }

  /** This control plane's id among the replicas of its database. */
  public String replicaId() {
    return server.membership().id();
  }

  /** The API tokens of this control plane's store, for the admin credential of dev mode. */
  public TokenService tokens() {
    return new TokenService(stores.tokens(), Clock.systemUTC());
  }

  /**
   * Serves Prometheus metrics at {@code /metrics} on {@code host:port}, over HTTPS whenever the
   * control plane serves TLS, and behind {@code token} if given; returns the port.
   */
  public int serveMetrics(String host, int port, Optional<String> token) {
    return server.metrics().serve(host, port, server.httpsContext(), token);
  }

  /** Whether the metrics endpoint is HTTPS: whenever gRPC is TLS. */
  public boolean metricsOverTls() {
    return server.httpsContext().isPresent();
  }

  /** {@link #close(HodeiServer.OnStop)} with {@link HodeiServer.OnStop#REQUEUE_RUNNING_JOBS}. */
  @Override
  public void close() {
    close(HodeiServer.OnStop.REQUEUE_RUNNING_JOBS);
  }

  /** Stops the control plane, doing with running jobs what {@code onStop} says. */
  public void close(HodeiServer.OnStop onStop) {
    server.close(onStop);
    closeProviders(providers);
    database.close();
    lock.close();
  }

  private static void closeProviders(List<WorkerProvider> providers) {
    for (WorkerProvider provider : providers) {
      if (provider instanceof AutoCloseable closeable) {
        try {
          closeable.close();
        } catch (Exception e) {
          // closing a client at shutdown: nothing left to do about it
        }
      }
    }
  }

  /** What a local worker will report: this machine's processors and memory (as HostFacts reads them). */
  private static Resources hostCapacity() {
    long memory = 0;
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      memory = os.getTotalMemorySize();
    }
    return new Resources(Runtime.getRuntime().availableProcessors(), memory, 0, 0);
  }
}
