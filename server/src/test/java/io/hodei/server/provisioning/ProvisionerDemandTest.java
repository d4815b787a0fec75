package io.hodei.server.provisioning;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Constraints;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.LabelRequirement;
import io.hodei.core.job.Resources;
import io.hodei.core.job.Toleration;
import io.hodei.core.provider.ProviderHealth;
import io.hodei.core.provider.WorkerHandle;
import io.hodei.core.provider.WorkerLaunch;
import io.hodei.core.provider.WorkerProvider;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.TaintEffect;
import io.hodei.server.HandClock;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the provisioner tells a provider about the job a worker is started for, and what it passes
 * on of the provider's words about a worker that has not started: over a real SQLite store (the
 * one-time tokens), with a provider whose workers never come up, as a pod that cannot be
 * scheduled.
 */
class ProvisionerDemandTest {
  @TempDir Path dir;
  private Database database;
  private final HandClock clock = new HandClock(Instant.parse("2026-12-06T00:00:00Z"));
  private final HeldProvider provider = new HeldProvider();

  @BeforeEach
  void open() {
    database = Database.sqlite(dir.resolve("data"));
  }

  @AfterEach
  void close() {
    database.close();
  }

  private Provisioner provisioner(Provisioner.WorkerProfile profile) {
    var stores = Stores.open(database);
    var provisioner =
        new Provisioner(
            List.of(new Provisioner.Pool(provider, new PoolPolicy(3, Duration.ofMinutes(5), Duration.ofMinutes(10)), profile)),
            new OtpService(stores.otps(), clock, OtpService.DEFAULT_TTL),
            new WorkerRegistry(clock, Duration.ofSeconds(30)),
            () -> "127.0.0.1:1",
            clock,
            () -> {});
    provisioner.checkHealth();
    return provisioner;
  }

  private static JobSpec job(String name) {
    return JobSpec.of(name, new CommandSpec.Shell("true", List.of()));
  }

  @Test
  void theWorkerIsStartedForTheJobThatAskedAndItsProviderSaysWhyItWaits() {
    var provisioner = provisioner(Provisioner.WorkerProfile.SHELL);
    var toleration = new Toleration("gpu", "yes", false, TaintEffect.NO_SCHEDULE);
    var spec =
        job("big")
            .withResources(new Resources(2, 1L << 30, 0, 0))
            .withConstraints(
                new Constraints(List.of(), List.of(toleration), Optional.empty(), 0, Set.of(), Optional.empty(),
                    Optional.empty(), Optional.empty()));

    String first = provisioner.ensureCapacity(List.of(spec)).getFirst();

    await().until(() -> provider.launches.size() == 1 && provisioner.starting().getFirst().waitingReason().isPresent());
    var launch = provider.launches.getFirst();
    assertThat(launch.demand()).isPresent();
    assertThat(launch.demand().get().resources()).isEqualTo(new Resources(2, 1L << 30, 0, 0));
    assertThat(launch.demand().get().tolerations()).containsExactly(toleration);
    assertThat(first).isEqualTo("waiting for worker " + launch.workerId() + " being started by provider held");

    String again = provisioner.ensureCapacity(List.of(spec)).getFirst();
    assertThat(again)
        .isEqualTo("waiting for worker " + launch.workerId() + " being started by provider held: " + HeldProvider.WHY);
    var starting = provisioner.starting();
    assertThat(starting).hasSize(1);
    assertThat(starting.getFirst().id()).isEqualTo(launch.workerId());
    assertThat(starting.getFirst().waitingReason()).contains(HeldProvider.WHY);
    assertThat(provider.launches).as("the waiting job claims the worker being started, no second one").hasSize(1);

    // Two workers in a row that never register: the pool backs off, and says why in the words
    // of the provider about the last one.
    clock.advance(Duration.ofMinutes(11));
    provisioner.reap();
    provisioner.ensureCapacity(List.of(job("second")));
    await().until(() -> provider.launches.size() == 2 && provisioner.starting().getFirst().waitingReason().isPresent());
    clock.advance(Duration.ofMinutes(11));
    provisioner.reap();
    var next = provisioner.ensureCapacity(List.of(job("third"))).getFirst();
    assertThat(next).as("the workers that never registered are counted as failed starts, in their provider's words")
        .contains("its last 2 workers failed at start")
        .contains("did not register within 10m: " + HeldProvider.WHY);
  }

  @Test
  void aWorkerStartedAheadOfDemandIsForNoJob() {
    var provisioner =
        new Provisioner(
            List.of(new Provisioner.Pool(provider, new PoolPolicy(3, Duration.ofMinutes(5), Duration.ofMinutes(10)).withMinIdle(1))),
            new OtpService(Stores.open(database).otps(), clock, OtpService.DEFAULT_TTL),
            new WorkerRegistry(clock, Duration.ofSeconds(30)),
            () -> "127.0.0.1:1",
            clock,
            () -> {});
    provisioner.checkHealth();

    provisioner.reap();

    await().until(() -> provider.launches.size() == 1);
    assertThat(provider.launches.getFirst().demand()).isEmpty();
  }

  @Test
  void aLabelThePoolPlacesWorkersByFitsAJobThatRequiresOneValueOfIt() {
    var placing =
        new Provisioner.WorkerProfile(Set.of("shell", "script"), Map.of("team", "a"), List.of(), Resources.NONE, Set.of("disk"));
    var spec = job("ssd").withConstraints(selector(new LabelRequirement("disk", LabelRequirement.Operator.EQUALS, List.of("ssd"))));

    assertThat(placing.labelsFor(spec)).containsExactlyInAnyOrderEntriesOf(Map.of("team", "a", "disk", "ssd"));
    assertThat(provisioner(placing).ensureCapacity(List.of(spec)).getFirst()).startsWith("waiting for worker ");

    var notPlaced = new Provisioner.WorkerProfile(Set.of("shell", "script"), Map.of("team", "a"), List.of(), Resources.NONE);
    assertThat(provisioner(notPlaced).ensureCapacity(List.of(spec)).getFirst()).contains("its workers would not fit");

    var anyOfTwo =
        job("either").withConstraints(selector(new LabelRequirement("disk", LabelRequirement.Operator.IN, List.of("ssd", "nvme"))));
    assertThat(placing.labelsFor(anyOfTwo)).as("two values leave the choice open: nothing is placed").doesNotContainKey("disk");
  }

  private static Constraints selector(LabelRequirement requirement) {
    return new Constraints(List.of(requirement), List.of(), Optional.empty(), 0, Set.of(), Optional.empty(), Optional.empty(),
        Optional.empty());
  }

  /** A provider whose workers are created and then never start, and which says why. */
  private static final class HeldProvider implements WorkerProvider {
    static final String WHY = "pod hodei-worker-x Unschedulable: 0/3 nodes are available: 3 Insufficient cpu";
    final List<WorkerLaunch> launches = new CopyOnWriteArrayList<>();

    @Override
    public String name() {
      return "held";
    }

    @Override
    public String type() {
      return "held";
    }

    @Override
    public WorkerHandle create(WorkerLaunch launch) {
      launches.add(launch);
      return new WorkerHandle(launch.workerId(), name(), "pod-" + launch.workerId().value());
    }

    @Override
    public void destroy(WorkerHandle handle) {}

    @Override
    public boolean isAlive(WorkerHandle handle) {
      return true;
    }

    @Override
    public Optional<String> waitingReason(WorkerHandle handle) {
      return Optional.of(WHY);
    }

    @Override
    public ProviderHealth health() {
      return new ProviderHealth.Healthy();
    }
  }
}
