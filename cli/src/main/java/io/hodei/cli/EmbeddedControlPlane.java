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

  private EmbeddedControlPlane(Database database, HodeiServer server) {
    this.database = database;
    this.server = server;
  }

  static EmbeddedControlPlane start(Path dataDir, int port, PoolPolicy policy) {
    return start(dataDir, ServerConfig.defaults().withPort(port), policy, java.util.Map.of());
  }

  /**
   * @param workerEnv extra environment for every local worker
   */
  static EmbeddedControlPlane start(
      Path dataDir, ServerConfig config, PoolPolicy policy, java.util.Map<String, String> workerEnv) {
    Path data = dataDir.toAbsolutePath().normalize();
    var database = Database.sqlite(data);
    try {
      var stores = Stores.open(database);
      var provider =
          new LocalProcessProvider(
              new LocalProcessProvider.Config(
                  "local",
                  WorkerLauncher.command(data),
                  data.resolve("workers"),
                  Duration.ofSeconds(15),
                  workerEnv));
      var server =
          new HodeiServer(
                  config,
                  stores,
                  List.of(new Provisioner.Pool(provider, policy)),
                  Clock.systemUTC())
              .start();
      return new EmbeddedControlPlane(database, server);
    } catch (RuntimeException e) {
      database.close();
      throw e;
    }
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
