package io.hodei.store;

import static io.hodei.store.TestJobs.T0;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.worker.OtpStore;
import io.hodei.core.worker.OtpToken;
import io.hodei.core.worker.WorkerId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link OtpStore} must do. Subclasses supply an empty, migrated database per test. */
abstract class OtpStoreContract {
  private static final WorkerId WORKER = new WorkerId("w-1");

  private Database database;
  private OtpStore store;
  private io.hodei.core.Storage all;

  /** A migrated database with no tokens in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    all = Stores.open(database);
    store = all.otps();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  @Test
  void aSavedTokenIsFoundByItsHash() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty());
    store.save(token);

    assertThat(store.find("hash-1")).contains(token);
    assertThat(store.find("no-such-hash")).isEmpty();
  }

  @Test
  void theIssuingPoolIsKeptWithTheToken() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty(), "docker");
    store.save(token);

    assertThat(store.find("hash-1")).get().extracting(OtpToken::pool).isEqualTo("docker");
  }

  @Test
  void consumingATokenForItsWorkerMarksItOnce() {
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));

    assertThat(store.consume("hash-1", WORKER, T0.plusSeconds(10))).isTrue();
    assertThat(store.consume("hash-1", WORKER, T0.plusSeconds(20))).isFalse();
    assertThat(store.find("hash-1"))
        .contains(
            new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.of(T0.plusSeconds(10))));
  }

  @Test
  void consumingATokenForAnotherWorkerChangesNothing() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty());
    store.save(token);

    assertThat(store.consume("hash-1", new WorkerId("w-2"), T0.plusSeconds(10))).isFalse();
    assertThat(store.find("hash-1")).contains(token);
    assertThat(store.consume("hash-1", WORKER, T0.plusSeconds(20))).isTrue();
  }

  @Test
  void anExpiredTokenIsNotConsumedButStillFoundForTheCallerToJudge() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0, Optional.empty());
    store.save(token);

    assertThat(store.consume("hash-1", WORKER, T0.plusSeconds(3600))).isFalse();
    assertThat(store.find("hash-1")).contains(token);
  }

  @Test
  void consumingAnUnknownTokenChangesNothing() {
    assertThat(store.consume("no-such-hash", WORKER, T0)).isFalse();
  }

  @Test
  void tokensAreConsumedIndependently() {
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    OtpToken other =
        new OtpToken("hash-2", new WorkerId("w-2"), T0.plusSeconds(300), Optional.empty());
    store.save(other);
    store.consume("hash-1", WORKER, T0);

    assertThat(store.find("hash-2")).contains(other);
  }

  @Test
  void revokingRemovesEveryTokenOfThatWorkerOnly() {
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    store.save(new OtpToken("hash-2", WORKER, T0.plusSeconds(300), Optional.of(T0)));
    OtpToken other =
        new OtpToken("hash-3", new WorkerId("w-2"), T0.plusSeconds(300), Optional.empty());
    store.save(other);

    assertThat(store.revoke(WORKER)).isEqualTo(2);
    assertThat(store.find("hash-1")).isEmpty();
    assertThat(store.consume("hash-1", WORKER, T0.plusSeconds(1))).isFalse();
    assertThat(store.find("hash-3")).contains(other);
  }

  @Test
  void aWorkerHasAnOutstandingTokenOnlyWhileOneIsUnusedAndUnexpired() {
    assertThat(store.hasOutstanding(WORKER, T0)).isFalse();
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));

    assertThat(store.hasOutstanding(WORKER, T0)).isTrue();
    assertThat(store.hasOutstanding(new WorkerId("w-2"), T0)).isFalse();
    assertThat(store.hasOutstanding(WORKER, T0.plusSeconds(300))).isFalse();
    store.consume("hash-1", WORKER, T0.plusSeconds(1));
    assertThat(store.hasOutstanding(WORKER, T0.plusSeconds(2))).isFalse();
  }

  @Test
  void savingTheSameHashTwiceIsABug() {
    store.save(new OtpToken("hash-1", WORKER, T0, Optional.empty()));

    assertThatThrownBy(() -> store.save(new OtpToken("hash-1", WORKER, T0, Optional.empty())))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void ofManyConcurrentConsumersExactlyOneConsumesTheToken() throws Exception {
    int consumers = 10;
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Boolean>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(consumers)) {
      for (int i = 0; i < consumers; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return store.consume("hash-1", WORKER, T0.plusSeconds(1));
                }));
      }
      start.countDown();
      int consumed = 0;
      for (Future<Boolean> result : results) {
        consumed += result.get(30, TimeUnit.SECONDS) ? 1 : 0;
      }
      assertThat(consumed).isEqualTo(1);
    }
  }

  private void liveReplica(String id, java.time.Instant until) {
    all.replicas().join(new io.hodei.core.replica.Replica(id, "i-" + id, "127.0.0.1:1", "h", 1, T0, until), T0, r -> false);
  }

  private static OtpToken poolToken(String hash, String worker) {
    return new OtpToken(hash, new WorkerId(worker), T0.plusSeconds(300), Optional.empty(), "local");
  }

  @Test
  void aPoolsLimitCountsWhatOtherLiveReplicasRunAndStart() {
    liveReplica("r2", T0.plusSeconds(10));
    // r2 starts one worker of the pool, and runs another.
    assertThat(store.saveWithinPoolLimit(poolToken("h-2a", "w-2a"), "r2", 0, 3, T0)).isTrue();
    var workers = all.workers();
    workers.save(new io.hodei.core.worker.WorkerRegistration(
        new io.hodei.core.worker.WorkerInfo(new WorkerId("w-2b"), "", "", "", "", io.hodei.core.job.Resources.NONE,
            java.util.Set.of(), java.util.Map.of(), List.of()),
        "local", "", "s", T0, true));
    workers.attach(new WorkerId("w-2b"), "r2");

    // r1 runs one itself: with r2's two, the pool of three is full.
    assertThat(store.saveWithinPoolLimit(poolToken("h-1a", "w-1a"), "r1", 1, 3, T0.plusSeconds(1))).isFalse();
    assertThat(store.find("h-1a")).isEmpty();
    assertThat(store.saveWithinPoolLimit(poolToken("h-1b", "w-1b"), "r1", 0, 3, T0.plusSeconds(1))).isTrue();

    // Once r2's lease has run out, its attached worker no longer counts (its token still does).
    assertThat(store.saveWithinPoolLimit(poolToken("h-1c", "w-1c"), "r1", 2, 3, T0.plusSeconds(11))).isFalse();
    assertThat(store.saveWithinPoolLimit(poolToken("h-1d", "w-1d"), "r1", 1, 3, T0.plusSeconds(11))).isTrue();
  }

  @Test
  void replicasStartingWorkersAtOnceNeverPassAPoolsLimitTogether() throws Exception {
    int replicas = 8;
    for (int i = 0; i < replicas; i++) {
      liveReplica("r" + i, T0.plusSeconds(60));
    }
    int saved = Race.winners(replicas, r -> store.saveWithinPoolLimit(poolToken("h-" + r, "w-" + r), "r" + r, 0, 3, T0));
    assertThat(saved).isEqualTo(3);
  }
}
