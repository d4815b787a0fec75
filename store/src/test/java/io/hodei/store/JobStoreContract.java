package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import io.hodei.core.error.ConflictException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.job.Attempt;
import io.hodei.core.job.CancelRequest;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobEvent;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.core.job.Outcome;
import io.hodei.core.job.Page;
import io.hodei.core.worker.WorkerId;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link JobStore} must do. Subclasses supply an empty, migrated database per test. */
abstract class JobStoreContract {
  private Database database;
  private JobStore store;

  /** A migrated database with no jobs in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    store = Stores.open(database).jobs();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  // ---- insert and find -------------------------------------------------------------------

  @Test
  void anInsertedJobIsFoundWithEveryFieldIntact() {
    Job job = TestJobs.queued(TestJobs.everyFieldSet(), T0);

    Job inserted = store.insert(job, "queued");

    assertThat(inserted).isEqualTo(job.withVersion(1));
    assertThat(store.find(job.id())).contains(inserted);
    assertThat(store.find(job.id()).orElseThrow().spec()).isEqualTo(TestJobs.everyFieldSet());
  }

  @Test
  void concurrentInsertsAreEachStoredOnceAndReturnedAsStored() throws Exception {
    int threads = 64;
    int each = 25;
    List<Future<List<Job>>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      CountDownLatch start = new CountDownLatch(1);
      for (int t = 0; t < threads; t++) {
        int thread = t;
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  List<Job> mine = new ArrayList<>();
                  for (int i = 0; i < each; i++) {
                    Job job = TestJobs.queued(TestJobs.named("c-" + thread + "-" + i), T0.plusMillis(i));
                    Job inserted = store.insert(job, "queued");
                    assertThat(inserted).isEqualTo(job.withVersion(1));
                    mine.add(inserted);
                  }
                  return mine;
                }));
      }
      start.countDown();
    }
    List<Job> all = new ArrayList<>();
    for (var r : results) {
      all.addAll(r.get());
    }
    assertThat(all).hasSize(threads * each);
    for (Job job : all) {
      assertThat(store.find(job.id())).contains(job);
      assertThat(store.events(job.id(), 0, 10)).hasSize(1);
    }
    assertThat(store.countByState()).containsEntry(JobState.PENDING, (long) threads * each);
  }

  @Test
  void aFailedInsertAmongConcurrentOnesFailsAloneAndTheOthersAreStored() throws Exception {
    Job existing = insert(TestJobs.queued(TestJobs.named("first"), T0));
    List<Future<?>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
      CountDownLatch start = new CountDownLatch(1);
      for (int t = 0; t < 32; t++) {
        int thread = t;
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  Job job =
                      thread == 7
                          ? TestJobs.queued(existing.id().value(), TestJobs.named("again"), T0)
                          : TestJobs.queued(TestJobs.named("ok-" + thread), T0);
                  return store.insert(job, "queued");
                }));
      }
      start.countDown();
    }
    for (int t = 0; t < results.size(); t++) {
      if (t == 7) {
        int failed = t;
        assertThatThrownBy(() -> results.get(failed).get()).hasCauseInstanceOf(IllegalStateException.class);
      } else {
        assertThat(results.get(t).get()).isNotNull();
      }
    }
    assertThat(store.countByState()).containsEntry(JobState.PENDING, 32L);
    assertThat(store.find(existing.id()).orElseThrow().spec().name()).isEqualTo("first");
  }

  @Test
  void aScriptCommandSurvivesTheRoundTrip() {
    Job job = insert(TestJobs.queued(TestJobs.script(), T0));

    assertThat(store.find(job.id())).contains(job);
  }

  @Test
  void findingAJobThatWasNeverInsertedGivesNothing() {
    assertThat(store.find(new JobId("no-such-job"))).isEmpty();
  }

  @Test
  void insertingTheSameIdTwiceIsABug() {
    Job job = insert(TestJobs.queued(TestJobs.named("once"), T0));

    assertThatThrownBy(() -> insert(TestJobs.queued(job.id().value(), TestJobs.named("twice"), T0)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(store.find(job.id())).contains(job);
    assertThat(store.events(job.id(), 1, 10)).hasSize(1);
  }

  // ---- update ----------------------------------------------------------------------------

  @Test
  void updateAdvancesTheVersionAndPersistsTheChange() {
    Job job = insert(TestJobs.queued(TestJobs.named("wait"), T0));

    Job updated = store.update(job.waitingFor("no worker has label zone=a"));

    assertThat(updated.version()).isEqualTo(2);
    assertThat(updated.waitingReason()).isEqualTo("no worker has label zone=a");
    assertThat(store.find(job.id())).contains(updated);
  }

  @Test
  void updateWithAStaleVersionIsRejected() {
    Job job = insert(TestJobs.queued(TestJobs.named("race"), T0));
    Job first = store.update(job.waitingFor("first"));

    assertThatThrownBy(() -> store.update(job.waitingFor("second")))
        .isInstanceOf(ConflictException.class)
        .hasMessageContaining(job.id().value());
    assertThat(store.find(job.id())).contains(first);
  }

  @Test
  void updatingAJobThatWasNeverInsertedIsNotFound() {
    Job ghost = TestJobs.queued(TestJobs.named("ghost"), T0).withVersion(1);

    assertThatThrownBy(() -> store.update(ghost.waitingFor("anything")))
        .isInstanceOf(NotFoundException.class);
    assertThat(store.find(ghost.id())).isEmpty();
  }

  @Test
  void attemptRowsFollowTheTransitions() {
    WorkerId worker = new WorkerId("w-1");
    ExecutionId execution = new ExecutionId("exec-1");
    Job job = insert(TestJobs.queued(TestJobs.named("lifecycle"), T0));

    Job scheduled = store.update(job.assignTo(worker, execution, T0.plusSeconds(1)));
    assertThat(store.find(job.id())).contains(scheduled);
    assertThat(store.attempts(job.id()))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.number()).isEqualTo(1);
              assertThat(a.state()).isEqualTo(JobState.SCHEDULED);
              assertThat(a.workerId()).isEqualTo(worker);
              assertThat(a.executionId()).isEqualTo(execution);
              assertThat(a.scheduledAt()).isEqualTo(T0.plusSeconds(1));
              assertThat(a.startedAt()).isEmpty();
            });

    Job running = store.update(scheduled.start(execution, T0.plusSeconds(2)));
    assertThat(store.find(job.id())).contains(running);
    assertThat(store.attempts(job.id()))
        .singleElement()
        .satisfies(
            a -> {
              assertThat(a.state()).isEqualTo(JobState.RUNNING);
              assertThat(a.startedAt()).contains(T0.plusSeconds(2));
            });

    Job failed =
        store.update(
            running.finish(execution, new Outcome.Exited(3), T0.plusSeconds(2), T0.plusSeconds(5)));
    Job found = store.find(job.id()).orElseThrow();
    assertThat(found).isEqualTo(failed);
    assertThat(found.state()).isEqualTo(JobState.FAILED);
    assertThat(found.finishedAt()).contains(T0.plusSeconds(5));
    assertThat(found.exitCode()).isEqualTo(OptionalInt.of(3));
    assertThat(found.errorMessage()).contains("exited with code 3");
    assertThat(store.attempts(job.id())).containsExactly(failed.current().orElseThrow());
    assertThat(found.version()).isEqualTo(4);
  }

  @Test
  void everyAttemptIsKeptOldestFirstAndTheLatestIsCurrent() {
    Job job = insert(TestJobs.queued(TestJobs.named("requeued"), T0));
    Job first =
        store.update(job.assignTo(new WorkerId("w-1"), new ExecutionId("e-1"), T0.plusSeconds(1)));
    Job requeued = store.update(first.returnToQueue("worker vanished", T0.plusSeconds(2)));
    Job second =
        store.update(
            requeued.assignTo(new WorkerId("w-2"), new ExecutionId("e-2"), T0.plusSeconds(3)));
    Job succeeded =
        store.update(
            second.finish(
                new ExecutionId("e-2"),
                new Outcome.Exited(0),
                T0.plusSeconds(4),
                T0.plusSeconds(6)));

    List<Attempt> attempts = store.attempts(job.id());

    assertThat(attempts).extracting(Attempt::number).containsExactly(1, 2);
    assertThat(attempts.get(0)).isEqualTo(requeued.current().orElseThrow());
    assertThat(attempts.get(0).state()).isEqualTo(JobState.PENDING);
    assertThat(attempts.get(1)).isEqualTo(succeeded.current().orElseThrow());
    assertThat(attempts.get(1).state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(store.find(job.id())).contains(succeeded);
    assertThat(succeeded.attempts()).isEqualTo(2);
  }

  @Test
  void aJobThatWasNeverInsertedHasNoAttempts() {
    assertThat(store.attempts(new JobId("no-such-job"))).isEmpty();
  }

  @Test
  void concurrentUpdatesOfOneJobLetExactlyOneWriterWinPerVersion() throws Exception {
    int writers = 10;
    int rounds = 5;
    Job job = insert(TestJobs.queued(TestJobs.named("contended"), T0));
    try (ExecutorService pool = Executors.newFixedThreadPool(writers)) {
      for (int round = 0; round < rounds; round++) {
        Job read = store.find(job.id()).orElseThrow();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Boolean>> outcomes = new ArrayList<>();
        for (int w = 0; w < writers; w++) {
          String reason = "round " + round + " writer " + w;
          outcomes.add(
              pool.submit(
                  () -> {
                    start.await();
                    try {
                      store.update(read.waitingFor(reason));
                      return true;
                    } catch (ConflictException lost) {
                      return false;
                    }
                  }));
        }
        start.countDown();
        int wins = 0;
        for (Future<Boolean> outcome : outcomes) {
          wins += outcome.get(30, TimeUnit.SECONDS) ? 1 : 0;
        }
        assertThat(wins).as("winners in round %d", round).isEqualTo(1);
        assertThat(store.find(job.id()).orElseThrow().version()).isEqualTo(read.version() + 1);
      }
    }
    assertThat(store.find(job.id()).orElseThrow().version()).isEqualTo(1 + rounds);
  }

  // ---- history ---------------------------------------------------------------------------

  @Test
  void insertAndUpdatesWithAnEventAppendTheHistoryInOrder() {
    ExecutionId execution = new ExecutionId("e-1");
    Job job = store.insert(TestJobs.queued(TestJobs.named("told"), T0), "queued");
    Job scheduled =
        store.update(
            job.assignTo(new WorkerId("w-1"), execution, T0.plusSeconds(1)), "scheduled on w-1");
    Job running = store.update(scheduled.start(execution, T0.plusSeconds(2)), "started");
    store.update(
        running.finish(execution, new Outcome.Exited(0), T0.plusSeconds(2), T0.plusSeconds(3)),
        "exited with code 0");

    assertThat(store.events(job.id(), 1, 100))
        .containsExactly(
            new JobEvent(job.id(), 1, JobState.PENDING, T0, "queued"),
            new JobEvent(job.id(), 2, JobState.SCHEDULED, T0.plusSeconds(1), "scheduled on w-1"),
            new JobEvent(job.id(), 3, JobState.RUNNING, T0.plusSeconds(2), "started"),
            new JobEvent(job.id(), 4, JobState.SUCCEEDED, T0.plusSeconds(3), "exited with code 0"));
  }

  @Test
  void anUpdateWithoutAnEventLeavesTheHistoryAlone() {
    Job job = insert(TestJobs.queued(TestJobs.named("quiet"), T0));

    Job updated = store.update(job.waitingFor("no worker has label zone=a"));

    assertThat(updated.version()).isEqualTo(2);
    assertThat(store.events(job.id(), 1, 100))
        .extracting(JobEvent::sequence, JobEvent::message)
        .containsExactly(tuple(1L, "queued"));
  }

  @Test
  void aConflictingUpdateAppendsNoEvent() {
    Job job = insert(TestJobs.queued(TestJobs.named("race"), T0));
    store.update(job.waitingFor("first"), "first writer");

    assertThatThrownBy(() -> store.update(job.waitingFor("second"), "second writer"))
        .isInstanceOf(ConflictException.class);

    assertThat(store.events(job.id(), 1, 100))
        .extracting(JobEvent::message)
        .containsExactly("queued", "first writer");
  }

  @Test
  void anUpdateOfAJobThatWasNeverInsertedAppendsNoEvent() {
    Job ghost = TestJobs.queued(TestJobs.named("ghost"), T0).withVersion(1);

    assertThatThrownBy(() -> store.update(ghost.waitingFor("anything"), "haunted"))
        .isInstanceOf(NotFoundException.class);

    assertThat(store.events(ghost.id(), 1, 100)).isEmpty();
  }

  @Test
  void historyIsReadFromASequenceUpToAMaximum() {
    Job job = insert(TestJobs.queued(TestJobs.named("chatty"), T0));
    for (int i = 1; i <= 4; i++) {
      job = store.update(job.waitingFor("reason " + i), "still waiting " + i);
    }

    assertThat(store.events(job.id(), 2, 2)).extracting(JobEvent::sequence).containsExactly(2L, 3L);
    assertThat(store.events(job.id(), 4, 100))
        .extracting(JobEvent::sequence)
        .containsExactly(4L, 5L);
    assertThat(store.events(job.id(), 0, 100)).hasSize(5);
    assertThat(store.events(job.id(), 6, 100)).isEmpty();
    assertThat(store.events(job.id(), 1, 0)).isEmpty();
  }

  @Test
  void historiesOfDifferentJobsAreNumberedIndependently() {
    Job one = insert(TestJobs.queued(TestJobs.named("one"), T0));
    Job two = insert(TestJobs.queued(TestJobs.named("two"), T0));
    store.update(one.waitingFor("more"), "one again");
    store.update(two.waitingFor("more"), "two again");

    assertThat(store.events(one.id(), 1, 100))
        .extracting(JobEvent::jobId, JobEvent::sequence, JobEvent::message)
        .containsExactly(tuple(one.id(), 1L, "queued"), tuple(one.id(), 2L, "one again"));
    assertThat(store.events(two.id(), 1, 100))
        .extracting(JobEvent::jobId, JobEvent::sequence, JobEvent::message)
        .containsExactly(tuple(two.id(), 1L, "queued"), tuple(two.id(), 2L, "two again"));
    assertThat(store.events(new JobId("no-such-job"), 1, 100)).isEmpty();
  }

  // ---- cancel, progress and retry backoff --------------------------------------------------

  @Test
  void aCancelRequestOnARunningJobRoundTripsAndTheJobKeepsRunning() {
    ExecutionId execution = new ExecutionId("e-1");
    Job running = running(insert(TestJobs.queued(TestJobs.named("long"), T0)), execution);

    Job asked =
        store.update(running.requestCancel("wrong branch", "alice", T0.plusSeconds(7)), "cancel");

    Job found = store.find(running.id()).orElseThrow();
    assertThat(found).isEqualTo(asked);
    assertThat(found.state()).isEqualTo(JobState.RUNNING);
    assertThat(found.cancel())
        .contains(new CancelRequest("wrong branch", "alice", T0.plusSeconds(7)));
  }

  @Test
  void aCancelledScheduledJobKeepsItsRequestAndItsEndedAttempt() {
    Job job = insert(TestJobs.queued(TestJobs.named("early-cancel"), T0));
    Job scheduled =
        store.update(job.assignTo(new WorkerId("w-1"), new ExecutionId("e-1"), T0.plusSeconds(1)));

    Job cancelled = store.update(scheduled.requestCancel("not needed", "bob", T0.plusSeconds(2)));

    assertThat(store.find(job.id())).contains(cancelled);
    assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
    assertThat(cancelled.cancel()).map(CancelRequest::requestedBy).contains("bob");
    assertThat(store.attempts(job.id()))
        .singleElement()
        .satisfies(a -> assertThat(a.state()).isEqualTo(JobState.CANCELLED));
  }

  @Test
  void reportedProgressRoundTrips() {
    ExecutionId execution = new ExecutionId("e-1");
    Job running = running(insert(TestJobs.queued(TestJobs.named("busy"), T0)), execution);

    Job reported =
        store.update(
            running.reportProgress(execution, 42.5, "compiling 17 of 40", T0.plusSeconds(9)));

    Job found = store.find(running.id()).orElseThrow();
    assertThat(found).isEqualTo(reported);
    assertThat(found.progress()).isEqualTo(new Job.Progress(42.5, "compiling 17 of 40"));
  }

  @Test
  void aRetryBackoffRoundTripsAndClearsTheOldProgress() {
    ExecutionId execution = new ExecutionId("e-1");
    Job running = running(insert(TestJobs.queued(TestJobs.retrying("flaky", 3), T0)), execution);
    Job progressed =
        store.update(running.reportProgress(execution, 80, "almost", T0.plusSeconds(3)));
    Job failed =
        store.update(
            progressed.finish(
                execution, new Outcome.Exited(1), T0.plusSeconds(2), T0.plusSeconds(4)));

    Job waiting = store.update(failed.retryAfter(T0.plusSeconds(60), T0.plusSeconds(5)));

    Job found = store.find(running.id()).orElseThrow();
    assertThat(found).isEqualTo(waiting);
    assertThat(found.state()).isEqualTo(JobState.PENDING);
    assertThat(found.notBefore()).contains(T0.plusSeconds(60));
    assertThat(found.progress()).isEqualTo(Job.Progress.NONE);
  }

  @Test
  void aManualRetryOfACancelledJobClearsItsCancelRequest() {
    ExecutionId execution = new ExecutionId("e-1");
    Job running = running(insert(TestJobs.queued(TestJobs.named("again"), T0)), execution);
    Job asked = store.update(running.requestCancel("stop", "carol", T0.plusSeconds(3)));
    Job cancelled =
        store.update(
            asked.finish(
                execution, new Outcome.Cancelled("stop"), T0.plusSeconds(2), T0.plusSeconds(4)));
    assertThat(store.find(running.id()).orElseThrow().cancel()).isPresent();

    Job retried = store.update(cancelled.retryManually(T0.plusSeconds(5)));

    Job found = store.find(running.id()).orElseThrow();
    assertThat(found).isEqualTo(retried);
    assertThat(found.cancel()).isEmpty();
    assertThat(found.notBefore()).isEmpty();
  }

  // ---- pending ---------------------------------------------------------------------------

  @Test
  void pendingJobsComeOutByPriorityThenOldestFirst() {
    Job lowOld = insert(TestJobs.queued(TestJobs.withPriority("low-old", 0), T0));
    Job highNew = insert(TestJobs.queued(TestJobs.withPriority("high-new", 5), T0.plusSeconds(3)));
    Job lowNew = insert(TestJobs.queued(TestJobs.withPriority("low-new", 0), T0.plusSeconds(2)));
    Job highOld = insert(TestJobs.queued(TestJobs.withPriority("high-old", 5), T0.plusSeconds(1)));
    Job negative =
        insert(TestJobs.queued(TestJobs.withPriority("negative", -1), T0.minusSeconds(9)));
    Job assigned =
        insert(TestJobs.queued(TestJobs.withPriority("assigned", 9), T0.minusSeconds(5)));
    store.update(assigned.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));

    assertThat(store.pending(10, T0))
        .extracting(Job::id)
        .containsExactly(highOld.id(), highNew.id(), lowOld.id(), lowNew.id(), negative.id());
    assertThat(store.pending(2, T0))
        .extracting(Job::id)
        .containsExactly(highOld.id(), highNew.id());
    assertThat(store.pending(0, T0)).isEmpty();
  }

  @Test
  void aLowPriorityJobThatWaitedLongOvertakesNewerHigherPriorityJobs() {
    Job starving = insert(TestJobs.queued(TestJobs.withPriority("starving", 0), T0));
    for (int i = 0; i < 5; i++) {
      insert(TestJobs.queued(TestJobs.withPriority("urgent-" + i, 3), T0.plusSeconds(600 + i)));
    }

    // Ten minutes on, the old job has aged to priority 10 (one level a minute) and leads, even
    // though it is neither among the two highest base priorities nor is the limit generous.
    assertThat(store.pending(2, T0.plusSeconds(600))).extracting(Job::id).first().isEqualTo(starving.id());
    assertThat(store.pending(2, T0.plusSeconds(60))).extracting(Job::id).doesNotContain(starving.id());
  }

  @Test
  void pendingJobsCreatedInTheSameMillisecondComeOutInIdOrder() {
    Job b = insert(TestJobs.queued("b", TestJobs.named("b"), T0));
    Job a = insert(TestJobs.queued("a", TestJobs.named("a"), T0));

    assertThat(store.pending(10, T0)).extracting(Job::id).containsExactly(a.id(), b.id());
  }

  @Test
  void aJobWaitingOutItsRetryBackoffIsNotPendingUntilTheBackoffEnds() {
    ExecutionId execution = new ExecutionId("e-1");
    Job running = running(insert(TestJobs.queued(TestJobs.retrying("backoff", 2), T0)), execution);
    Job failed =
        store.update(
            running.finish(execution, new Outcome.Exited(1), T0.plusSeconds(2), T0.plusSeconds(3)));
    Job waiting = store.update(failed.retryAfter(T0.plusSeconds(60), T0.plusSeconds(4)));
    Job fresh = insert(TestJobs.queued(TestJobs.named("fresh"), T0.plusSeconds(10)));

    assertThat(store.pending(10, T0.plusSeconds(30))).containsExactly(fresh);
    assertThat(store.pending(10, T0.plusSeconds(60).minusMillis(1))).containsExactly(fresh);
    assertThat(store.pending(10, T0.plusSeconds(60))).containsExactly(waiting, fresh);
    assertThat(store.pending(10, T0.plusSeconds(61))).containsExactly(waiting, fresh);
  }

  // ---- active ----------------------------------------------------------------------------

  @Test
  void activeGivesOnlyScheduledAndRunningJobsOldestFirst() {
    ExecutionId runningExecution = new ExecutionId("e-running");
    Job running = running(insert(TestJobs.queued(TestJobs.named("running"), T0)), runningExecution);
    Job scheduled =
        store.update(
            insert(TestJobs.queued(TestJobs.named("scheduled"), T0.plusSeconds(1)))
                .assignTo(new WorkerId("w-2"), new ExecutionId("e-scheduled"), T0.plusSeconds(2)));
    insert(TestJobs.queued(TestJobs.named("pending"), T0.minusSeconds(5)));
    ExecutionId doneExecution = new ExecutionId("e-done");
    Job done =
        running(insert(TestJobs.queued(TestJobs.named("done"), T0.minusSeconds(4))), doneExecution);
    store.update(
        done.finish(doneExecution, new Outcome.Exited(0), T0.plusSeconds(2), T0.plusSeconds(3)));
    Job early = insert(TestJobs.queued(TestJobs.named("cancelled"), T0.minusSeconds(3)));
    store.update(early.requestCancel("changed my mind", "dave", T0));
    Job newest =
        store.update(
            insert(TestJobs.queued(TestJobs.named("newest"), T0.plusSeconds(5)))
                .assignTo(new WorkerId("w-3"), new ExecutionId("e-newest"), T0.plusSeconds(6)));

    assertThat(store.active()).containsExactly(running, scheduled, newest);
  }

  @Test
  void activeIsEmptyWhenNothingHoldsAWorker() {
    insert(TestJobs.queued(TestJobs.named("pending"), T0));

    assertThat(store.active()).isEmpty();
  }

  // ---- find by execution -----------------------------------------------------------------

  @Test
  void aJobIsFoundByTheExecutionOfItsCurrentAttemptOnly() {
    ExecutionId first = new ExecutionId("e-first");
    ExecutionId second = new ExecutionId("e-second");
    Job job = insert(TestJobs.queued(TestJobs.retrying("twice", 2), T0));
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), first, T0.plusSeconds(1)));
    assertThat(store.findByExecution(first)).contains(scheduled);
    Job failed =
        store.update(
            scheduled.finish(
                first,
                new Outcome.Failed(OptionalInt.empty(), "boom"),
                T0.plusSeconds(1),
                T0.plusSeconds(2)));
    assertThat(store.findByExecution(first)).contains(failed);
    Job waiting = store.update(failed.retryAfter(T0.plusSeconds(3), T0.plusSeconds(2)));

    Job again = store.update(waiting.assignTo(new WorkerId("w-2"), second, T0.plusSeconds(4)));

    assertThat(store.findByExecution(second)).contains(again);
    assertThat(store.findByExecution(first)).isEmpty();
    assertThat(store.findByExecution(new ExecutionId("e-unknown"))).isEmpty();
  }

  @Test
  void anUnknownExecutionFindsNothing() {
    insert(TestJobs.queued(TestJobs.named("idle"), T0));

    assertThat(store.findByExecution(ExecutionId.random())).isEmpty();
  }

  // ---- list ------------------------------------------------------------------------------

  @Test
  void listPagesNewestFirstAcrossPagesWithoutRepeatsOrGaps() {
    List<Job> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // Pairs share a millisecond, so paging must break ties by id.
      Instant created = T0.plusSeconds(i / 2);
      all.add(insert(TestJobs.queued(TestJobs.named("job-" + i), created)));
    }
    List<JobId> expected =
        all.stream()
            .sorted(
                Comparator.comparing(Job::createdAt).thenComparing(j -> j.id().value()).reversed())
            .map(Job::id)
            .toList();

    List<JobId> seen = new ArrayList<>();
    Optional<String> token = Optional.empty();
    List<Integer> pageSizes = new ArrayList<>();
    do {
      Page<Job> page = store.list(query(Set.of(), Map.of(), Optional.empty(), 3, token));
      pageSizes.add(page.items().size());
      page.items().forEach(j -> seen.add(j.id()));
      token = page.nextPageToken();
    } while (token.isPresent());

    assertThat(pageSizes).containsExactly(3, 3, 2);
    assertThat(seen).containsExactlyElementsOf(expected);
  }

  @Test
  void aFullLastPageHasNoNextToken() {
    for (int i = 0; i < 4; i++) {
      insert(TestJobs.queued(TestJobs.named("job-" + i), T0.plusSeconds(i)));
    }

    Page<Job> first = store.list(query(Set.of(), Map.of(), Optional.empty(), 2, Optional.empty()));
    Page<Job> second =
        store.list(query(Set.of(), Map.of(), Optional.empty(), 2, first.nextPageToken()));

    assertThat(second.items()).hasSize(2);
    assertThat(second.nextPageToken()).isEmpty();
  }

  @Test
  void listReturnsJobsWithTheirCurrentAttempt() {
    Job job = insert(TestJobs.queued(TestJobs.named("assigned"), T0));
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));

    assertThat(store.list(JobQuery.all()).items()).containsExactly(scheduled);
  }

  @Test
  void listFiltersByState() {
    Job pending = insert(TestJobs.queued(TestJobs.named("pending"), T0));
    Job other = insert(TestJobs.queued(TestJobs.named("scheduled"), T0.plusSeconds(1)));
    Job scheduled = store.update(other.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));
    insert(TestJobs.queued(TestJobs.named("also-pending"), T0.plusSeconds(2)));

    assertThat(ids(query(Set.of(JobState.SCHEDULED)))).containsExactly(scheduled.id());
    assertThat(ids(query(Set.of(JobState.SCHEDULED, JobState.RUNNING, JobState.FAILED))))
        .containsExactly(scheduled.id());
    assertThat(ids(query(Set.of(JobState.PENDING)))).hasSize(2).contains(pending.id());
    assertThat(ids(query(Set.of(JobState.SUCCEEDED)))).isEmpty();
  }

  @Test
  void listFiltersByNamePrefixLiterallyAndCaseSensitively() {
    Job underscore = insert(TestJobs.queued(TestJobs.named("build_1"), T0));
    Job letter = insert(TestJobs.queued(TestJobs.named("buildX1"), T0.plusSeconds(1)));
    insert(TestJobs.queued(TestJobs.named("Build-upper"), T0.plusSeconds(2)));
    Job percent = insert(TestJobs.queued(TestJobs.named("100%done"), T0.plusSeconds(3)));
    insert(TestJobs.queued(TestJobs.named("1000done"), T0.plusSeconds(4)));
    Job bang = insert(TestJobs.queued(TestJobs.named("wow!_yes"), T0.plusSeconds(5)));
    insert(TestJobs.queued(TestJobs.named("wow!xyes"), T0.plusSeconds(6)));
    Job accented = insert(TestJobs.queued(TestJobs.named("ñandú-1"), T0.plusSeconds(7)));

    assertThat(ids(byName("build_"))).containsExactly(underscore.id());
    assertThat(ids(byName("build"))).containsExactly(letter.id(), underscore.id());
    assertThat(ids(byName("100%"))).containsExactly(percent.id());
    assertThat(ids(byName("wow!_"))).containsExactly(bang.id());
    assertThat(ids(byName("ñandú"))).containsExactly(accented.id());
    assertThat(ids(byName("nope"))).isEmpty();
    assertThat(ids(byName(""))).hasSize(8);
  }

  @Test
  void listFiltersByCreationTimeExclusively() {
    Job early = insert(TestJobs.queued(TestJobs.named("early"), T0));
    Job middle = insert(TestJobs.queued(TestJobs.named("middle"), T0.plusSeconds(10)));
    Job late = insert(TestJobs.queued(TestJobs.named("late"), T0.plusSeconds(20)));

    JobQuery after =
        new JobQuery(
            Set.of(),
            Map.of(),
            Optional.empty(),
            Optional.of(T0),
            Optional.empty(),
            0,
            Optional.empty());
    JobQuery before =
        new JobQuery(
            Set.of(),
            Map.of(),
            Optional.empty(),
            Optional.empty(),
            Optional.of(T0.plusSeconds(20)),
            0,
            Optional.empty());
    JobQuery between =
        new JobQuery(
            Set.of(),
            Map.of(),
            Optional.empty(),
            Optional.of(T0.plusSeconds(5)),
            Optional.of(T0.plusSeconds(15)),
            0,
            Optional.empty());

    assertThat(ids(after)).containsExactly(late.id(), middle.id());
    assertThat(ids(before)).containsExactly(middle.id(), early.id());
    assertThat(ids(between)).containsExactly(middle.id());
  }

  @Test
  void listFiltersByLabelsRequiringEveryOne() {
    Job both =
        insert(
            TestJobs.queued(
                TestJobs.withLabels("both", Map.of("team", "infra", "env", "prod")), T0));
    Job teamOnly =
        insert(
            TestJobs.queued(
                TestJobs.withLabels("team", Map.of("team", "infra", "env", "dev")),
                T0.plusSeconds(1)));
    insert(TestJobs.queued(TestJobs.withLabels("none", Map.of()), T0.plusSeconds(2)));
    insert(
        TestJobs.queued(
            TestJobs.withLabels("other", Map.of("team", "web", "env", "prod")), T0.plusSeconds(3)));

    assertThat(ids(byLabels(Map.of("team", "infra")))).containsExactly(teamOnly.id(), both.id());
    assertThat(ids(byLabels(Map.of("team", "infra", "env", "prod")))).containsExactly(both.id());
    assertThat(ids(byLabels(Map.of("team", "nobody")))).isEmpty();
  }

  @Test
  void listCombinesFiltersAndPagesThroughTheMatches() {
    for (int i = 0; i < 7; i++) {
      JobSpec spec = TestJobs.withLabels("etl-" + i, Map.of("team", i % 2 == 0 ? "data" : "web"));
      insert(TestJobs.queued(spec, T0.plusSeconds(i)));
    }
    insert(
        TestJobs.queued(TestJobs.withLabels("other", Map.of("team", "data")), T0.plusSeconds(99)));

    List<String> names = new ArrayList<>();
    Optional<String> token = Optional.empty();
    do {
      Page<Job> page =
          store.list(
              query(
                  Set.of(JobState.PENDING), Map.of("team", "data"), Optional.of("etl-"), 1, token));
      page.items().forEach(j -> names.add(j.spec().name()));
      token = page.nextPageToken();
    } while (token.isPresent());

    assertThat(names).containsExactly("etl-6", "etl-4", "etl-2", "etl-0");
  }

  @Test
  void aMalformedPageTokenIsRejected() {
    String notBase64 = "not a token!";
    String noSeparator =
        Base64.getUrlEncoder().encodeToString("12345".getBytes(StandardCharsets.UTF_8));
    String notANumber =
        Base64.getUrlEncoder().encodeToString("abc:job".getBytes(StandardCharsets.UTF_8));
    String noId = Base64.getUrlEncoder().encodeToString("12345:".getBytes(StandardCharsets.UTF_8));

    for (String token : List.of(notBase64, noSeparator, notANumber, noId)) {
      assertThatThrownBy(
              () -> store.list(query(Set.of(), Map.of(), Optional.empty(), 10, Optional.of(token))))
          .as("token %s", token)
          .isInstanceOfSatisfying(
              InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("page_token"));
    }
  }

  @Test
  void anEmptyPageTokenMeansTheFirstPage() {
    Job job = insert(TestJobs.queued(TestJobs.named("only"), T0));

    Page<Job> page = store.list(query(Set.of(), Map.of(), Optional.empty(), 10, Optional.of("")));

    assertThat(page.items()).containsExactly(job);
  }

  // ---- counts ----------------------------------------------------------------------------

  @Test
  void countByStateCountsEachStateAndOmitsEmptyOnes() {
    assertThat(store.countByState()).isEmpty();
    for (int i = 0; i < 3; i++) {
      insert(TestJobs.queued(TestJobs.named("p" + i), T0));
    }
    Job job = insert(TestJobs.queued(TestJobs.named("run"), T0));
    ExecutionId execution = ExecutionId.random();
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), execution, T0));
    store.update(scheduled.start(execution, T0.plus(Duration.ofMillis(5))));

    assertThat(store.countByState())
        .containsExactlyInAnyOrderEntriesOf(Map.of(JobState.PENDING, 3L, JobState.RUNNING, 1L));
  }

  @Test
  void countActiveCountsPendingScheduledAndRunningJobsOnly() {
    insert(TestJobs.queued(TestJobs.named("p"), T0));
    ExecutionId first = ExecutionId.random();
    store.update(insert(TestJobs.queued(TestJobs.named("s"), T0)).assignTo(new WorkerId("w-1"), first, T0));
    ExecutionId second = ExecutionId.random();
    Job running = running(insert(TestJobs.queued(TestJobs.named("r"), T0)), second);
    ExecutionId third = ExecutionId.random();
    Job done = running(insert(TestJobs.queued(TestJobs.named("done"), T0)), third);
    store.update(done.finish(third, new Outcome.Exited(0), T0.plusSeconds(2), T0.plusSeconds(3)));

    assertThat(store.countActive()).containsExactlyInAnyOrderEntriesOf(
        Map.of(JobState.PENDING, 1L, JobState.SCHEDULED, 1L, JobState.RUNNING, 1L));
    assertThat(store.countByState()).containsEntry(JobState.SUCCEEDED, 1L);
    assertThat(running.state()).isEqualTo(JobState.RUNNING);
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Schedules {@code job} on worker w-1 as {@code execution} and starts it, a second apart. */
  private Job running(Job job, ExecutionId execution) {
    Instant at = job.createdAt();
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), execution, at.plusSeconds(1)));
    return store.update(scheduled.start(execution, at.plusSeconds(2)));
  }

  /** Inserts {@code job} with the event a newly queued job gets. */
  private Job insert(Job job) {
    return store.insert(job, "queued");
  }

  private List<JobId> ids(JobQuery query) {
    return store.list(query).items().stream().map(Job::id).toList();
  }

  private static JobQuery query(Set<JobState> states) {
    return query(states, Map.of(), Optional.empty(), 0, Optional.empty());
  }

  private static JobQuery byName(String prefix) {
    return query(Set.of(), Map.of(), Optional.of(prefix), 0, Optional.empty());
  }

  private static JobQuery byLabels(Map<String, String> labels) {
    return query(Set.of(), labels, Optional.empty(), 0, Optional.empty());
  }

  private static JobQuery query(
      Set<JobState> states,
      Map<String, String> labels,
      Optional<String> namePrefix,
      int pageSize,
      Optional<String> pageToken) {
    return new JobQuery(
        states, labels, namePrefix, Optional.empty(), Optional.empty(), pageSize, pageToken);
  }
}
