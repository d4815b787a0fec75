package io.hodei.server.workers;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.StorageCondition;
import io.hodei.core.error.StorageTrouble;
import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.JobState;
import io.hodei.core.job.Resources;
import io.hodei.core.job.SpecLimits;
import io.hodei.core.scheduling.Scheduler;
import io.hodei.core.scheduling.Strategy;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.server.HandClock;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When a worker counts as lost, over a real job service on SQLite and a hand-moved clock. The
 * store's trouble is told by hand: a database that stops and comes back is {@code HaClusterIT}'s.
 */
class SilentWorkerCheckTest {
  private static final WorkerId WORKER = new WorkerId("w-1");
  private static final Duration TIMEOUT = Duration.ofSeconds(15);

  @TempDir Path dir;
  final HandClock clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
  Database database;
  JobService jobs;
  WorkerRegistry registry;
  WorkerLifecycle lifecycle;
  final List<WorkerId> fenced = new ArrayList<>();
  final Storage storage = new Storage();
  SilentWorkerCheck check;

  /** What the store says of itself, set by the test. */
  static final class Storage implements StorageCondition {
    volatile Optional<Failure> failing = Optional.empty();
    volatile Optional<Instant> lastTrouble = Optional.empty();

    @Override
    public Optional<Failure> failing() {
      return failing;
    }

    @Override
    public Optional<Failure> recheck() {
      return failing;
    }

    @Override
    public Optional<Instant> lastTrouble() {
      return lastTrouble;
    }
  }

  @BeforeEach
  void open() {
    database = Database.sqlite(dir.resolve("data"));
    var stores = Stores.open(database);
    jobs = new JobService(stores.jobs(), stores.secrets(), clock, new Random(1), SpecLimits.DEFAULTS);
    registry = new WorkerRegistry(clock, Duration.ofSeconds(30));
    lifecycle =
        new WorkerLifecycle(
            jobs,
            registry,
            stores.workers(),
            WorkerLifecycleTest.lastingPools(new ArrayList<>()),
            new SecurityAudit(stores.audit(), clock),
            worker -> {});
    check =
        new SilentWorkerCheck(
            jobs, registry, TIMEOUT, Duration.ofSeconds(5), clock, storage,
            worker -> fenced.add(worker));
    var info =
        new WorkerInfo(WORKER, "w-1", "test", "host", "127.0.0.1", new Resources(4, 0, 0, 0), Set.of("shell"), Map.of(), List.of());
    stores.workers().save(new WorkerRegistration(info, "local", "", "hash", clock.instant(), true));
    registry.register(info, "local", 1);
    registry.attach(WORKER, new WorkerLifecycleTest.RecordingLink());
  }

  @AfterEach
  void close() {
    database.close();
  }

  /** A job placed on the worker, Scheduled there; the worker then falls silent. */
  private Job placedThenSilent() {
    Job job = jobs.queue(JobSpec.of("j", new CommandSpec.Shell("true", List.of())).withResources(new Resources(1, 0, 0, 0)));
    assertThat(lifecycle.dispatch(job, new Scheduler(Strategy.LEAST_CONNECTIONS)).result())
        .isEqualTo(WorkerLifecycle.Dispatch.Result.SENT);
    registry.seen(WORKER);
    return job;
  }

  @Test
  void aWorkerSilentForTheHeartbeatTimeoutIsFencedAndItsJobSettled() {
    Job job = placedThenSilent();

    clock.advance(TIMEOUT.minusSeconds(1));
    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).isZero();
    clock.advance(Duration.ofSeconds(1));

    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).isEqualTo(1);
    assertThat(fenced).containsExactly(WORKER);
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.FAILED);
  }

  @Test
  void noWorkerIsJudgedWhileTheStoreIsInTrouble() {
    Job job = placedThenSilent();
    clock.advance(TIMEOUT.multipliedBy(3));
    storage.failing = Optional.of(new StorageCondition.Failure(StorageTrouble.UNREACHABLE, "connection refused"));

    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).isZero();

    assertThat(fenced).isEmpty();
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.SCHEDULED);
  }

  @Test
  void afterTroubleWithTheStoreAWorkerHasAWholeHeartbeatTimeoutFromItsEndToBeHeardAgain() {
    Job job = placedThenSilent();
    // The store was out from 5 s to 25 s: the worker's stream failed with it, and has not reattached yet.
    clock.advance(Duration.ofSeconds(25));
    storage.lastTrouble = Optional.of(clock.instant());

    clock.advance(TIMEOUT.minusSeconds(1));
    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).as("silent 39 s, but only 14 s of it with a working store").isZero();
    assertThat(fenced).isEmpty();

    clock.advance(Duration.ofSeconds(1));
    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).isEqualTo(1);
    assertThat(fenced).containsExactly(WORKER);
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.FAILED);
  }

  @Test
  void troubleBeforeTheWorkerWasLastHeardGivesItNoMoreTime() {
    storage.lastTrouble = Optional.of(clock.instant());
    clock.advance(Duration.ofSeconds(3));
    Job job = placedThenSilent();

    clock.advance(TIMEOUT);

    assertThat(check.settleJobsOfSilentWorkers(SilentWorkerCheck.Ownership.ALONE)).isEqualTo(1);
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.FAILED);
  }
}
