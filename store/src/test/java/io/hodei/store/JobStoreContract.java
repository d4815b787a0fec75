package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.ConflictException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.job.Attempt;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
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

    Job inserted = store.insert(job);

    assertThat(inserted).isEqualTo(job.withVersion(1));
    assertThat(store.find(job.id())).contains(inserted);
    assertThat(store.find(job.id()).orElseThrow().spec()).isEqualTo(TestJobs.everyFieldSet());
  }

  @Test
  void aScriptCommandSurvivesTheRoundTrip() {
    Job job = store.insert(TestJobs.queued(TestJobs.script(), T0));

    assertThat(store.find(job.id())).contains(job);
  }

  @Test
  void findingAJobThatWasNeverInsertedGivesNothing() {
    assertThat(store.find(new JobId("no-such-job"))).isEmpty();
  }

  @Test
  void insertingTheSameIdTwiceIsABug() {
    Job job = store.insert(TestJobs.queued(TestJobs.named("once"), T0));

    assertThatThrownBy(
            () -> store.insert(TestJobs.queued(job.id().value(), TestJobs.named("twice"), T0)))
        .isInstanceOf(IllegalStateException.class);
    assertThat(store.find(job.id())).contains(job);
  }

  // ---- update ----------------------------------------------------------------------------

  @Test
  void updateAdvancesTheVersionAndPersistsTheChange() {
    Job job = store.insert(TestJobs.queued(TestJobs.named("wait"), T0));

    Job updated = store.update(job.waitingFor("no worker has label zone=a"));

    assertThat(updated.version()).isEqualTo(2);
    assertThat(updated.waitingReason()).isEqualTo("no worker has label zone=a");
    assertThat(store.find(job.id())).contains(updated);
  }

  @Test
  void updateWithAStaleVersionIsRejected() {
    Job job = store.insert(TestJobs.queued(TestJobs.named("race"), T0));
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
    Job job = store.insert(TestJobs.queued(TestJobs.named("lifecycle"), T0));

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
    Job job = store.insert(TestJobs.queued(TestJobs.named("requeued"), T0));
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
    Job job = store.insert(TestJobs.queued(TestJobs.named("contended"), T0));
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

  // ---- pending ---------------------------------------------------------------------------

  @Test
  void pendingJobsComeOutByPriorityThenOldestFirst() {
    Job lowOld = store.insert(TestJobs.queued(TestJobs.withPriority("low-old", 0), T0));
    Job highNew =
        store.insert(TestJobs.queued(TestJobs.withPriority("high-new", 5), T0.plusSeconds(3)));
    Job lowNew =
        store.insert(TestJobs.queued(TestJobs.withPriority("low-new", 0), T0.plusSeconds(2)));
    Job highOld =
        store.insert(TestJobs.queued(TestJobs.withPriority("high-old", 5), T0.plusSeconds(1)));
    Job negative =
        store.insert(TestJobs.queued(TestJobs.withPriority("negative", -1), T0.minusSeconds(9)));
    Job assigned =
        store.insert(TestJobs.queued(TestJobs.withPriority("assigned", 9), T0.minusSeconds(5)));
    store.update(assigned.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));

    assertThat(store.pending(10))
        .extracting(Job::id)
        .containsExactly(highOld.id(), highNew.id(), lowOld.id(), lowNew.id(), negative.id());
    assertThat(store.pending(2)).extracting(Job::id).containsExactly(highOld.id(), highNew.id());
    assertThat(store.pending(0)).isEmpty();
  }

  @Test
  void pendingJobsCreatedInTheSameMillisecondComeOutInIdOrder() {
    Job b = store.insert(TestJobs.queued("b", TestJobs.named("b"), T0));
    Job a = store.insert(TestJobs.queued("a", TestJobs.named("a"), T0));

    assertThat(store.pending(10)).extracting(Job::id).containsExactly(a.id(), b.id());
  }

  // ---- list ------------------------------------------------------------------------------

  @Test
  void listPagesNewestFirstAcrossPagesWithoutRepeatsOrGaps() {
    List<Job> all = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      // Pairs share a millisecond, so paging must break ties by id.
      Instant created = T0.plusSeconds(i / 2);
      all.add(store.insert(TestJobs.queued(TestJobs.named("job-" + i), created)));
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
      store.insert(TestJobs.queued(TestJobs.named("job-" + i), T0.plusSeconds(i)));
    }

    Page<Job> first = store.list(query(Set.of(), Map.of(), Optional.empty(), 2, Optional.empty()));
    Page<Job> second =
        store.list(query(Set.of(), Map.of(), Optional.empty(), 2, first.nextPageToken()));

    assertThat(second.items()).hasSize(2);
    assertThat(second.nextPageToken()).isEmpty();
  }

  @Test
  void listReturnsJobsWithTheirCurrentAttempt() {
    Job job = store.insert(TestJobs.queued(TestJobs.named("assigned"), T0));
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));

    assertThat(store.list(JobQuery.all()).items()).containsExactly(scheduled);
  }

  @Test
  void listFiltersByState() {
    Job pending = store.insert(TestJobs.queued(TestJobs.named("pending"), T0));
    Job other = store.insert(TestJobs.queued(TestJobs.named("scheduled"), T0.plusSeconds(1)));
    Job scheduled = store.update(other.assignTo(new WorkerId("w-1"), ExecutionId.random(), T0));
    store.insert(TestJobs.queued(TestJobs.named("also-pending"), T0.plusSeconds(2)));

    assertThat(ids(query(Set.of(JobState.SCHEDULED)))).containsExactly(scheduled.id());
    assertThat(ids(query(Set.of(JobState.SCHEDULED, JobState.RUNNING, JobState.FAILED))))
        .containsExactly(scheduled.id());
    assertThat(ids(query(Set.of(JobState.PENDING)))).hasSize(2).contains(pending.id());
    assertThat(ids(query(Set.of(JobState.SUCCEEDED)))).isEmpty();
  }

  @Test
  void listFiltersByNamePrefixLiterallyAndCaseSensitively() {
    Job underscore = store.insert(TestJobs.queued(TestJobs.named("build_1"), T0));
    Job letter = store.insert(TestJobs.queued(TestJobs.named("buildX1"), T0.plusSeconds(1)));
    store.insert(TestJobs.queued(TestJobs.named("Build-upper"), T0.plusSeconds(2)));
    Job percent = store.insert(TestJobs.queued(TestJobs.named("100%done"), T0.plusSeconds(3)));
    store.insert(TestJobs.queued(TestJobs.named("1000done"), T0.plusSeconds(4)));
    Job bang = store.insert(TestJobs.queued(TestJobs.named("wow!_yes"), T0.plusSeconds(5)));
    store.insert(TestJobs.queued(TestJobs.named("wow!xyes"), T0.plusSeconds(6)));
    Job accented = store.insert(TestJobs.queued(TestJobs.named("ñandú-1"), T0.plusSeconds(7)));

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
    Job early = store.insert(TestJobs.queued(TestJobs.named("early"), T0));
    Job middle = store.insert(TestJobs.queued(TestJobs.named("middle"), T0.plusSeconds(10)));
    Job late = store.insert(TestJobs.queued(TestJobs.named("late"), T0.plusSeconds(20)));

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
        store.insert(
            TestJobs.queued(
                TestJobs.withLabels("both", Map.of("team", "infra", "env", "prod")), T0));
    Job teamOnly =
        store.insert(
            TestJobs.queued(
                TestJobs.withLabels("team", Map.of("team", "infra", "env", "dev")),
                T0.plusSeconds(1)));
    store.insert(TestJobs.queued(TestJobs.withLabels("none", Map.of()), T0.plusSeconds(2)));
    store.insert(
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
      store.insert(TestJobs.queued(spec, T0.plusSeconds(i)));
    }
    store.insert(
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
    Job job = store.insert(TestJobs.queued(TestJobs.named("only"), T0));

    Page<Job> page = store.list(query(Set.of(), Map.of(), Optional.empty(), 10, Optional.of("")));

    assertThat(page.items()).containsExactly(job);
  }

  // ---- counts ----------------------------------------------------------------------------

  @Test
  void countByStateCountsEachStateAndOmitsEmptyOnes() {
    assertThat(store.countByState()).isEmpty();
    for (int i = 0; i < 3; i++) {
      store.insert(TestJobs.queued(TestJobs.named("p" + i), T0));
    }
    Job job = store.insert(TestJobs.queued(TestJobs.named("run"), T0));
    ExecutionId execution = ExecutionId.random();
    Job scheduled = store.update(job.assignTo(new WorkerId("w-1"), execution, T0));
    store.update(scheduled.start(execution, T0.plus(Duration.ofMillis(5))));

    assertThat(store.countByState())
        .containsExactlyInAnyOrderEntriesOf(Map.of(JobState.PENDING, 3L, JobState.RUNNING, 1L));
  }

  // ---- helpers ---------------------------------------------------------------------------

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
