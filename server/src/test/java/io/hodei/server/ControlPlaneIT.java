package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The assembly on a real SQLite store and a real gRPC port, with pools whose providers start nothing. */
class ControlPlaneIT {
  @TempDir Path dir;

  private static final PoolPolicy POLICY = new PoolPolicy(3, Duration.ofMinutes(1), Duration.ofSeconds(60));

  private ControlPlane.Settings settings(PoolSpec... pools) {
    return ControlPlane.Settings.of(dir.resolve("data"), ServerConfig.defaults().withPort(0)).withPools(List.of(pools));
  }

  @Test
  void startsOnItsDataDirectoryListsItsPoolsAndRecordsItsAddressInTheLock() throws Exception {
    var healthy = new StubProvider("sim", new ProviderHealth.Healthy());
    var sick = new StubProvider("sick", new ProviderHealth.Unhealthy("no engine"));
    try (var plane = ControlPlane.start(settings(custom(healthy), custom(sick)))) {
      assertThat(plane.providers()).containsExactly("sim (stub, max 3 workers)", "sick (stub, max 3 workers)");
      assertThat(plane.problems()).containsExactly(Map.entry("sick", "unhealthy: no engine"));
      assertThat(Files.readString(dir.resolve("data").resolve(DataDirectoryLock.FILE)))
          .isEqualTo("pid " + ProcessHandle.current().pid() + ", " + plane.address() + "\n");
      assertThat(Files.exists(dir.resolve("data").resolve("secret.key"))).isTrue();
    }
  }

  @Test
  void aSecondControlPlaneOnTheSameDataDirectoryIsRefusedUntilTheFirstCloses() {
    var first = ControlPlane.start(settings());

    assertThatThrownBy(() -> ControlPlane.start(settings()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("another control plane uses " + dir.resolve("data"))
        .hasMessageContaining(first.address());

    first.close();
    ControlPlane.start(settings()).close();
  }

  @Test
  void closingClosesThePoolsProviders() {
    var provider = new StubProvider("sim", new ProviderHealth.Healthy());
    ControlPlane.start(settings(custom(provider))).close();

    assertThat(provider.closed).hasValue(1);
  }

  @Test
  void aServerThatCannotBindClosesTheProvidersAndGivesTheDataDirectoryBack() throws Exception {
    var provider = new StubProvider("sim", new ProviderHealth.Healthy());
    try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      var onTakenPort =
          ControlPlane.Settings.of(dir.resolve("data"), ServerConfig.defaults().withPort(taken.getLocalPort()))
              .withPools(List.of(custom(provider)));

      assertThatThrownBy(() -> ControlPlane.start(onTakenPort)).isInstanceOf(RuntimeException.class);
    }

    assertThat(provider.closed).hasValue(1);
    ControlPlane.start(settings()).close();
  }

  @Test
  void aLocalPoolWithoutALocalWorkerCommandIsRefusedBeforeTheDataDirectoryIsTouched() {
    var local = settings(new PoolSpec.Local("local", POLICY, Map.of()));

    assertThatThrownBy(() -> ControlPlane.start(local))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("pool local is local");
    assertThat(dir.resolve("data")).doesNotExist();
  }

  @Test
  void theStoreIsShownWithoutItsPassword() {
    var store =
        new ControlPlane.Store(
            io.hodei.store.DatabaseUrl.parse("postgresql://hodei@db.example:5432/hodei"), java.util.Optional.of("s3cret"));

    assertThat(store.toString()).doesNotContain("s3cret");
  }

  private static PoolSpec custom(WorkerProvider provider) {
    return new PoolSpec.Custom(new Provisioner.Pool(provider, POLICY));
  }

  /** A provider that starts no worker (none is asked for: no pool keeps idle workers here). */
  private static final class StubProvider implements WorkerProvider, AutoCloseable {
    final String name;
    final ProviderHealth health;
    final AtomicInteger closed = new AtomicInteger();

    StubProvider(String name, ProviderHealth health) {
      this.name = name;
      this.health = health;
    }

    @Override
    public String name() {
      return name;
    }

    @Override
    public String type() {
      return "stub";
    }

    @Override
    public WorkerHandle create(WorkerLaunch launch) {
      throw new UnsupportedOperationException("no worker is asked for");
    }

    @Override
    public void destroy(WorkerHandle handle) {}

    @Override
    public boolean isAlive(WorkerHandle handle) {
      return false;
    }

    @Override
    public ProviderHealth health() {
      return health;
    }

    @Override
    public void close() {
      closed.incrementAndGet();
    }
  }
}
