package io.hodei.cli;

import io.hodei.core.job.Resources;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.provider.docker.DockerWorkerProvider;
import io.hodei.provider.local.LocalProcessProvider;
import io.hodei.server.HodeiServer;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The control plane on its embedded store (SQLite in {@code dataDir}) with the given worker pools. */
final class EmbeddedControlPlane implements AutoCloseable {
  private final Database database;
  private final io.hodei.core.Storage stores;
  private final HodeiServer server;
  private final List<WorkerProvider> providers;
  private final List<String> descriptions;
  private final DataDirectoryLock lock;

  private EmbeddedControlPlane(
      Database database,
      io.hodei.core.Storage stores,
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

  /** A pool of workers as the command line and the configuration file describe it. */
  sealed interface PoolSpec {
    String name();

    PoolPolicy policy();

    /** Labels every worker of the pool carries. */
    Map<String, String> labels();

    /** Workers as child processes of this control plane. */
    record Local(String name, PoolPolicy policy, Map<String, String> labels) implements PoolSpec {}

    /**
     * Workers as containers on a Docker engine. {@code docker.name()} must equal {@code name}; its
     * worker environment is completed with the control plane's.
     */
    record Docker(String name, PoolPolicy policy, Map<String, String> labels, DockerWorkerProvider.Config docker)
        implements PoolSpec {
      public Docker {
        if (!docker.name().equals(name)) {
          throw new IllegalArgumentException("docker pool " + name + " has a provider named " + docker.name());
        }
      }
    }
  }

  /** Worker settings that local workers take over from the environment of {@code hodei dev}. */
  static final List<String> LOCAL_WORKER_SETTINGS =
      List.of(
          "HODEI_METRICS_TTL", "HODEI_PROCESS_LAUNCHER", "HODEI_KILL_GRACE",
          // How jobs are isolated (see JobSandbox in the worker and docs/security.md).
          "HODEI_JOB_ISOLATION", "HODEI_JOB_UIDS", "HODEI_JOB_PIDS_MAX", "HODEI_JOB_ROOT",
          "HODEI_JOB_READ_ONLY_PATHS", "HODEI_JOB_UID_LOCKS");

  /**
   * A test fixture: one local pool, and anonymous local callers are admins. {@code hodei dev} does
   * not do that (its anonymous callers are users, and admins need {@link DevAdminToken}); tests of
   * other things use this to make admin calls without a token.
   */
  static EmbeddedControlPlane start(Path dataDir, int port, PoolPolicy policy) {
    return start(
        dataDir,
        Store.EMBEDDED,
        ServerConfig.defaults().withPort(port).withAnonymousRole(io.hodei.core.auth.Role.ADMIN),
        List.of(new PoolSpec.Local("local", policy, Map.of())),
        Map.of());
  }

  /**
   * @param workerEnv extra environment for every worker, local or in a container
   */
  static EmbeddedControlPlane start(
      Path dataDir, ServerConfig config, List<? extends PoolSpec> specs, Map<String, String> workerEnv) {
    return start(dataDir, Store.EMBEDDED, config, specs, workerEnv);
  }

  /** Where the store is: the database URL and its password (empty for none). */
  record Store(io.hodei.store.DatabaseUrl url, java.util.Optional<String> password) {
    static final Store EMBEDDED = new Store(io.hodei.store.DatabaseUrl.EMBEDDED, java.util.Optional.empty());

    @Override
    public String toString() {
      return url.shown(); // never the password
    }
  }

  /**
   * @param store the database: SQLite in {@code dataDir} unless it names a PostgreSQL server
   * @param workerEnv extra environment for every worker, local or in a container
   */
  static EmbeddedControlPlane start(
      Path dataDir, Store store, ServerConfig config, List<? extends PoolSpec> specs, Map<String, String> workerEnv) {
    Path data = dataDir.toAbsolutePath().normalize();
    var lock = DataDirectoryLock.take(data);
    Database database;
    try {
      database = store.url().connect(data, store.password());
    } catch (RuntimeException e) {
      lock.close();
      throw e;
    }
    List<WorkerProvider> providers = new ArrayList<>();
    try {
      // Secrets kept for queued jobs must outlive a restart: the key comes from the environment
      // or, for the embedded setup, from a file beside the database (created owner-only).
      String key = System.getenv(io.hodei.store.SecretCipher.ENV_KEY);
      var cipher =
          key != null && !key.isBlank()
              ? io.hodei.store.SecretCipher.fromBase64(key)
              : io.hodei.store.SecretCipher.fromKeyFile(data.resolve("secret.key"));
      var stores = Stores.open(database, cipher);
      List<Provisioner.Pool> pools = new ArrayList<>();
      List<String> descriptions = new ArrayList<>();
      for (PoolSpec spec : specs) {
        var env = new HashMap<>(workerEnv);
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
            // these worker settings, when set for `hodei dev`, go on to its local workers.
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
                        WorkerLauncher.command(data),
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
        }
      }
      var server = new HodeiServer(config, stores, pools, Clock.systemUTC()).start();
      lock.record("pid " + ProcessHandle.current().pid() + ", " + server.address());
      return new EmbeddedControlPlane(database, stores, server, providers, descriptions, lock);
    } catch (RuntimeException e) {
      closeProviders(providers);
      database.close();
      lock.close();
      throw e;
    }
  }

  /** Each pool as "name (type, max N workers)", for the ready line. */
  List<String> providers() {
    return descriptions;
  }

  /** Each provider that is not healthy right now, with why: worth a warning at start. */
  Map<String, String> problems() {
    Map<String, String> problems = new java.util.LinkedHashMap<>();
    for (WorkerProvider provider : providers) {
      ProviderHealth health = provider.health();
      if (!(health instanceof ProviderHealth.Healthy)) {
        problems.put(provider.name(), Provisioner.describe(health));
      }
    }
    return problems;
  }

  String address() {
    return server.address();
  }

  /** This control plane's id among the replicas of its database. */
  String replicaId() {
    return server.membership().id();
  }

  /** The API tokens of this control plane's store, for the admin credential of dev mode. */
  io.hodei.core.auth.TokenService tokens() {
    return new io.hodei.core.auth.TokenService(stores.tokens(), Clock.systemUTC());
  }

  /** Serves Prometheus metrics at {@code http://host:port/metrics}; returns the port. */
  int serveMetrics(String host, int port) {
    return server.metrics().serve(host, port);
  }

  /** As above, over HTTPS whenever the control plane serves TLS, and behind {@code token} if given. */
  int serveMetrics(String host, int port, java.util.Optional<String> token) {
    return server.metrics().serve(host, port, server.httpsContext(), token);
  }

  /** Whether the metrics endpoint is HTTPS: whenever gRPC is TLS. */
  boolean metricsOverTls() {
    return server.httpsContext().isPresent();
  }

  @Override
  public void close() {
    close(HodeiServer.OnStop.REQUEUE_RUNNING_JOBS);
  }

  /** Stops the control plane, doing with running jobs what {@code onStop} says. */
  void close(HodeiServer.OnStop onStop) {
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
  static Resources hostCapacity() {
    long memory = 0;
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      memory = os.getTotalMemorySize();
    }
    return new Resources(Runtime.getRuntime().availableProcessors(), memory, 0, 0);
  }
}
