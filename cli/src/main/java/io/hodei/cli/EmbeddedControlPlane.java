package io.hodei.cli;

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
import java.util.List;

/** The control plane on its embedded defaults: SQLite in {@code dataDir}, local workers. */
final class EmbeddedControlPlane implements AutoCloseable {
  private final Database database;
  private final HodeiServer server;
  private final List<String> providers;

  private EmbeddedControlPlane(Database database, HodeiServer server, List<String> providers) {
    this.database = database;
    this.server = server;
    this.providers = List.copyOf(providers);
  }

  /** A pool of local-process workers: its name, policy and the labels its workers carry. */
  record LocalPool(String name, PoolPolicy policy, java.util.Map<String, String> labels) {}

  static EmbeddedControlPlane start(Path dataDir, int port, PoolPolicy policy) {
    return start(
        dataDir,
        ServerConfig.defaults().withPort(port),
        List.of(new LocalPool("local", policy, java.util.Map.of())),
        java.util.Map.of());
  }

  /**
   * @param workerEnv extra environment for every local worker
   */
  static EmbeddedControlPlane start(
      Path dataDir, ServerConfig config, List<LocalPool> localPools, java.util.Map<String, String> workerEnv) {
    Path data = dataDir.toAbsolutePath().normalize();
    var database = Database.sqlite(data);
    try {
      var stores = Stores.open(database);
      List<Provisioner.Pool> pools = new java.util.ArrayList<>();
      for (LocalPool local : localPools) {
        var env = new java.util.HashMap<>(workerEnv);
        if (!local.labels().isEmpty()) {
          env.put(
              "HODEI_WORKER_LABELS",
              String.join(
                  ",", local.labels().entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).sorted().toList()));
        }
        var provider =
            new LocalProcessProvider(
                new LocalProcessProvider.Config(
                    local.name(),
                    WorkerLauncher.command(data),
                    data.resolve("workers"),
                    Duration.ofSeconds(15),
                    env));
        var profile =
            new Provisioner.WorkerProfile(
                Provisioner.WorkerProfile.SHELL.capabilities(),
                local.labels(),
                List.of(),
                io.hodei.core.job.Resources.NONE);
        pools.add(new Provisioner.Pool(provider, local.policy(), profile));
      }
      var server = new HodeiServer(config, stores, pools, Clock.systemUTC()).start();
      return new EmbeddedControlPlane(
          database,
          server,
          localPools.stream().map(p -> p.name() + " (local, max " + p.policy().maxWorkers() + " workers)").toList());
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
  }

  /** Each pool as "name (max N)", for the ready line. */
  List<String> providers() {
    return providers;
  }

  String address() {
    return server.address();
  }

  @Override
  public void close() {
    server.close();
    database.close();
  }
}
