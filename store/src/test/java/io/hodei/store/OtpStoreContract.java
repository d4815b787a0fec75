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

  /** A migrated database with no tokens in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void openStore() {
    database = openEmptyDatabase();
    store = Stores.open(database).otps();
  }

  @AfterEach
  void closeDatabase() {
    database.close();
  }

  @Test
  void theFirstConsumeSeesTheTokenUnconsumed() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty());
    store.save(token);

    assertThat(store.consume("hash-1", T0.plusSeconds(10))).contains(token);
  }

  @Test
  void aSecondConsumeSeesWhenTheFirstOneHappened() {
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    store.consume("hash-1", T0.plusSeconds(10));

    assertThat(store.consume("hash-1", T0.plusSeconds(20)))
        .contains(
            new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.of(T0.plusSeconds(10))));
  }

  @Test
  void consumingAnUnknownTokenGivesNothing() {
    assertThat(store.consume("no-such-hash", T0)).isEmpty();
  }

  @Test
  void anExpiredTokenIsStillReturnedForTheCallerToJudge() {
    OtpToken token = new OtpToken("hash-1", WORKER, T0, Optional.empty());
    store.save(token);

    assertThat(store.consume("hash-1", T0.plusSeconds(3600))).contains(token);
  }

  @Test
  void tokensAreConsumedIndependently() {
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    OtpToken other =
        new OtpToken("hash-2", new WorkerId("w-2"), T0.plusSeconds(300), Optional.empty());
    store.save(other);
    store.consume("hash-1", T0);

    assertThat(store.consume("hash-2", T0)).contains(other);
  }

  @Test
  void savingTheSameHashTwiceIsABug() {
    store.save(new OtpToken("hash-1", WORKER, T0, Optional.empty()));

    assertThatThrownBy(() -> store.save(new OtpToken("hash-1", WORKER, T0, Optional.empty())))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void ofManyConcurrentConsumersExactlyOneSeesTheTokenUnconsumed() throws Exception {
    int consumers = 10;
    store.save(new OtpToken("hash-1", WORKER, T0.plusSeconds(300), Optional.empty()));
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Optional<OtpToken>>> results = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(consumers)) {
      for (int i = 0; i < consumers; i++) {
        results.add(
            pool.submit(
                () -> {
                  start.await();
                  return store.consume("hash-1", T0.plusSeconds(1));
                }));
      }
      start.countDown();
      int unconsumed = 0;
      for (Future<Optional<OtpToken>> result : results) {
        OtpToken seen = result.get(30, TimeUnit.SECONDS).orElseThrow();
        unconsumed += seen.consumedAt().isEmpty() ? 1 : 0;
      }
      assertThat(unconsumed).isEqualTo(1);
    }
  }
}
