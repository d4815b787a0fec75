package io.hodei.store;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;

/** Runs attempts that race for one thing, all released at once, and counts who won. */
final class Race {
  private Race() {}

  /** Runs {@code attempt(0..n-1)} on n threads at once; returns how many returned true. */
  static int winners(int n, IntPredicate attempt) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(n);
    try {
      var start = new CountDownLatch(1);
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        int index = i;
        results.add(pool.submit(() -> {
          start.await();
          return attempt.test(index);
        }));
      }
      start.countDown();
      int won = 0;
      for (var result : results) {
        won += result.get(30, TimeUnit.SECONDS) ? 1 : 0;
      }
      return won;
    } finally {
      pool.shutdownNow();
    }
  }
}
