package io.hodei.server.api;

import io.hodei.core.job.JobId;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Wakes readers that follow a job (its logs or its state) when something about it changes.
 *
 * <p>Race-free protocol for a follower: take {@link #nextChange} <em>before</em> reading the store,
 * then wait on it only if the read found nothing new. Any change persisted after the read
 * completes that future. A follower that waits with a timeout re-reads anyway, so a missed signal
 * costs latency, never data.
 */
public final class JobSignals {
  private final ConcurrentHashMap<JobId, CompletableFuture<Void>> waiting = new ConcurrentHashMap<>();

  public CompletableFuture<Void> nextChange(JobId job) {
    return waiting.computeIfAbsent(job, id -> new CompletableFuture<>());
  }

  public void signal(JobId job) {
    CompletableFuture<Void> future = waiting.remove(job);
    if (future != null) {
      future.complete(null);
    }
  }

  /** Waits for {@code change} up to {@code max}. Returns early on interrupt, restoring the flag. */
  public static void await(CompletableFuture<Void> change, Duration max) {
    try {
      change.get(max.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // Timeout: the caller re-reads; that is the point of waiting with a bound.
    }
  }

  /**
   * Wakes every follower waiting now, so that each re-reads the store: how followers on this
   * replica see changes another replica made (see {@code cluster.ClusterChanges}).
   */
  public void signalAll() {
    for (JobId job : waiting.keySet()) {
      signal(job);
    }
  }

  /** Whether any follower waits now. */
  public boolean anyWaiting() {
    return !waiting.isEmpty();
  }
}
