package io.hodei.server.workers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.api.v1.ServerMessage;
import io.hodei.core.Storage;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.error.NotFoundException;
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
import io.hodei.server.workers.WorkerLifecycle.Dispatch.Result;
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
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker lifecycle in process, over a real registry and a real job service on SQLite; the
 * worker's stream is a {@link WorkerLink} that records what it was sent.
 */
class WorkerLifecycleTest {
  private static final WorkerId WORKER = new WorkerId("w-1");

  @TempDir Path dir;
  final HandClock clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
  Database database;
  Storage stores;
  JobService jobs;
  WorkerRegistry registry;
  SecurityAudit audit;
  final List<WorkerId> gone = new ArrayList<>();
  WorkerLifecycle lifecycle;
  final Scheduler scheduler = new Scheduler(Strategy.LEAST_CONNECTIONS);

  /** A worker's stream that keeps what it is sent, or refuses everything once closed. */
  static final class RecordingLink implements WorkerLink {
    final List<ServerMessage> sent = new CopyOnWriteArrayList<>();
    volatile boolean closed;

    @Override
    public boolean send(ServerMessage message) {
      if (closed) {
        return false;
      }
      sent.add(message);
      return true;
    }

    @Override
    public void close() {
      closed = true;
    }

    List<ServerMessage> cancels() {
      return sent.stream().filter(ServerMessage::hasCancelJob).toList();
    }
  }

  @BeforeEach
  void open() {
    database = Database.sqlite(dir.resolve("data"));
    stores = Stores.open(database);
    jobs = new JobService(stores.jobs(), stores.secrets(), clock, new Random(1), SpecLimits.DEFAULTS);
    registry = new WorkerRegistry(clock, Duration.ofSeconds(30));
    audit = new SecurityAudit(stores.audit(), clock);
    lifecycle =
        new WorkerLifecycle(
            jobs,
            registry,
            stores.workers(),
            lastingPools(gone),
            audit,
            notHere::add);
  }

  /** Pools whose workers are never ephemeral; each worker they are told is gone is added to {@code gone}. */
  static WorkerLifecycle.Pools lastingPools(List<WorkerId> gone) {
    return new WorkerLifecycle.Pools() {
      @Override
      public boolean isEphemeral(WorkerId worker) {
        return false;
      }

      @Override
      public void gone(WorkerId worker) {
        gone.add(worker);
      }
    };
  }

  /** Workers a cancel was for that are not attached here. */
  private final java.util.List<WorkerId> notHere = new java.util.concurrent.CopyOnWriteArrayList<>();

  @AfterEach
  void close() {
    database.close();
  }

  private RecordingLink attachedWorker() {
    var info =
        new WorkerInfo(WORKER, "w-1", "test", "host", "127.0.0.1", new Resources(4, 0, 0, 0), Set.of("shell"), Map.of(), List.of());
    stores.workers().save(new WorkerRegistration(info, "local", "", "hash", clock.instant(), true));
    registry.register(info, "local", 1);
    var link = new RecordingLink();
    registry.attach(WORKER, link);
    return link;
  }

  private Job queued(Resources resources) {
    return jobs.queue(JobSpec.of("j", new CommandSpec.Shell("true", List.of())).withResources(resources));
  }

  private Job queued() {
    return queued(new Resources(1, 0, 0, 0));
  }

  @Test
  void aPlacementSendsExactlyOneRunCommandAndTheJobIsScheduledOnThatWorker() {
    var link = attachedWorker();
    Job job = queued();

    var dispatch = lifecycle.dispatch(job, scheduler);

    assertThat(dispatch.result()).isEqualTo(Result.SENT);
    Job after = jobs.get(job.id());
    assertThat(after.state()).isEqualTo(JobState.SCHEDULED);
    assertThat(after.workerId()).contains(WORKER);
    assertThat(link.sent).hasSize(1);
    var run = link.sent.getFirst().getRunJob();
    assertThat(run.getJobId()).isEqualTo(job.id().value());
    assertThat(run.getExecutionId()).isEqualTo(after.executionId().orElseThrow().value());
    var view = registry.find(WORKER).orElseThrow();
    assertThat(view.running()).containsEntry(after.executionId().orElseThrow(), job.id());
    assertThat(view.reserved()).isFalse();
  }

  @Test
  void theSecretsHandedToAnAttemptAreInItsRunCommandAndAudited() {
    var link = attachedWorker();
    Job job = jobs.queue(JobSpec.of("j", new CommandSpec.Shell("true", List.of())), Map.of("TOKEN", "s3cret-value"));

    assertThat(lifecycle.dispatch(job, scheduler).result()).isEqualTo(Result.SENT);

    assertThat(link.sent.getFirst().getRunJob().getSecretsMap()).containsExactly(Map.entry("TOKEN", "s3cret-value"));
    audit.flush();
    assertThat(stores.audit().list(Instant.EPOCH, Optional.of(AuditEvent.Kind.SECRETS_DELIVERED), 10))
        .singleElement()
        .satisfies(e -> assertThat(e.target()).isEqualTo(job.id().value()));
  }

  @Test
  void aLinkThatRefusesTheSendPutsTheJobBackInTheQueueAndFreesTheWorker() {
    var link = attachedWorker();
    link.close();
    Job job = queued();

    var dispatch = lifecycle.dispatch(job, scheduler);

    assertThat(dispatch.result()).isEqualTo(Result.BACK_IN_QUEUE);
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.PENDING);
    assertThat(link.sent).isEmpty();
    assertThat(registry.find(WORKER).orElseThrow().isFree()).isTrue();
  }

  @Test
  void aJobCancelledMeanwhileIsNotSentAndTheReservationIsReleased() {
    var link = attachedWorker();
    Job job = queued(); // as the dispatcher read it from the queue
    jobs.cancel(job.id(), "changed my mind", "alice");

    var dispatch = lifecycle.dispatch(job, scheduler);

    assertThat(dispatch.result()).isEqualTo(Result.NOT_DISPATCHED);
    assertThat(jobs.get(job.id()).state()).isEqualTo(JobState.CANCELLED);
    assertThat(link.sent).isEmpty();
    var view = registry.find(WORKER).orElseThrow();
    assertThat(view.reserved()).isFalse();
    assertThat(view.isFree()).isTrue();
  }

  @Test
  void aJobThatNoWorkerFitsIsUnplacedWithTheReasonAndReservesNothing() {
    var link = attachedWorker();
    Job job = queued(new Resources(64, 0, 0, 0));

    var dispatch = lifecycle.dispatch(job, scheduler);

    assertThat(dispatch.result()).isEqualTo(Result.UNPLACED);
    assertThat(dispatch.placement().rejections()).isNotEmpty();
    assertThat(link.sent).isEmpty();
    assertThat(registry.find(WORKER).orElseThrow().isFree()).isTrue();
  }

  @Test
  void aCancelForwardedToTheWorkerReachesItsLinkOnce() {
    var link = attachedWorker();
    Job job = queued();
    lifecycle.dispatch(job, scheduler);
    String execution = jobs.get(job.id()).executionId().orElseThrow().value();

    assertThat(lifecycle.forwardCancel(WORKER, job.id().value(), execution, "")).isTrue();

    assertThat(link.cancels()).singleElement().satisfies(m -> {
      assertThat(m.getCancelJob().getJobId()).isEqualTo(job.id().value());
      assertThat(m.getCancelJob().getExecutionId()).isEqualTo(execution);
      assertThat(m.getCancelJob().getReason()).isEqualTo("cancelled");
    });
  }

  @Test
  void aCancelForAWorkerWithoutAStreamHereIsNotSentButReportedForItsReplica() {
    assertThat(lifecycle.forwardCancel(new WorkerId("w-elsewhere"), "j", "e", "stop")).isFalse();
    assertThat(notHere).containsExactly(new WorkerId("w-elsewhere"));
  }

  @Test
  void theUnaryAssignmentCountsTheJobOnTheWorkerAndSendsItNothing() {
    var link = attachedWorker();
    Job job = queued();

    Job assigned = lifecycle.assign(job.id(), WORKER);

    assertThat(assigned.state()).isEqualTo(JobState.SCHEDULED);
    assertThat(registry.find(WORKER).orElseThrow().running()).containsKey(assigned.executionId().orElseThrow());
    assertThat(link.sent).isEmpty();
    assertThatThrownBy(() -> lifecycle.assign(queued().id(), new WorkerId("w-unknown")))
        .isInstanceOf(NotFoundException.class);
  }

  @Test
  void aRetiredWorkerIsDeactivatedStoppedAndItsJobSettledAsLost() {
    var link = attachedWorker();
    Job job = queued();
    lifecycle.dispatch(job, scheduler);

    lifecycle.retire(WORKER, "deregistered");

    assertThat(registry.find(WORKER)).isEmpty();
    assertThat(link.closed).isTrue();
    assertThat(stores.workers().find(WORKER).orElseThrow().active()).isFalse();
    assertThat(gone).containsExactly(WORKER);
    Job after = jobs.get(job.id());
    assertThat(after.state().isActive()).isFalse();
    assertThat(after.errorMessage()).hasValueSatisfying(m -> assertThat(m).contains("worker w-1 deregistered while running the job"));
  }
}
