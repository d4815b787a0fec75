package io.hodei.server.workers;

import io.hodei.core.StorageCondition;
import io.hodei.core.error.HodeiException;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobState;
import io.hodei.core.job.Outcome;
import io.hodei.core.worker.WorkerId;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Settles the jobs of workers that went silent, so no job stays Scheduled or Running forever after
 * a worker crash.
 *
 * <p>A worker is silent when nothing arrived from it for the heartbeat timeout; after a restart of
 * the control plane, workers it has not heard from yet count from the restart, and after trouble
 * with the store (a database restart) every worker counts from its end: while the store could not
 * be reached, neither could a worker's stream, which fails and reattaches once it can. No worker
 * is judged while the store is in trouble. A silent worker's
 * Running job past its own timeout plus a margin ends Timeout (the worker would have enforced it);
 * any other of its jobs ends Cancelled if a cancel was asked, else Failed as "worker lost" — and
 * is then retried if its policy allows. If the worker comes back, it is told to drop those
 * executions (see the heartbeat reconciliation).
 *
 * <p>Before any of its jobs is settled, a silent worker is fenced ({@link Fence}): stopped with
 * everything it started, so that the retry of a job never runs beside the attempt it replaces.
 *
 * <p>Among replicas ({@link Ownership}), a worker that is not attached here but is attached to
 * another live replica is that replica's to judge; one attached nowhere live (its replica died) is
 * judged by the leader alone, counting its silence from when this replica first saw it so, which
 * gives it a heartbeat timeout to reattach elsewhere before its jobs are settled.
 *
 * <p>Runs on the housekeeping thread only; every change goes through {@link JobService}, whose
 * compare-and-set makes a race with a late result harmless (one of the two wins, the other is
 * refused).
 */
public final class SilentWorkerCheck {
  private static final Logger log = LoggerFactory.getLogger(SilentWorkerCheck.class);

  /**
   * Stops a silent worker with everything it started, before its jobs are settled: true once it
   * is gone (or cannot be stopped by anyone here), false to try again on the next pass.
   */
  public interface Fence {
    boolean fence(WorkerId worker);

    /** No fencing: jobs are settled at once (for tests of the settling alone). */
    Fence NONE = worker -> true;
  }

  /**
   * What other replicas hold, as of one pass.
   *
   * @param shared whether another replica is alive
   * @param elsewhere workers whose stream is attached to another live replica
   * @param settlesUnattached whether this replica settles jobs of workers attached nowhere live:
   *     the leader, or a replica alone
   */
  public record Ownership(boolean shared, java.util.Set<WorkerId> elsewhere, boolean settlesUnattached) {
    /** A replica alone: every worker is its own to judge, silent since this replica started if not since. */
    public static final Ownership ALONE = new Ownership(false, java.util.Set.of(), true);
  }

  private final JobService jobs;
  private final Fence fence;
  /** Workers of active jobs attached neither here nor to a live replica, since when; the housekeeping thread only. */
  private final java.util.Map<WorkerId, Instant> unattachedSince = new java.util.HashMap<>();
  private final WorkerRegistry registry;
  private final Duration heartbeatTimeout;
  private final Duration timeoutMargin;
  private final Instant startedAt;
  private final Clock clock;
  private final StorageCondition storage;

  /**
   * @param storage whether the store is in trouble, and since when it is not
   */
  public SilentWorkerCheck(
      JobService jobs,
      WorkerRegistry registry,
      Duration heartbeatTimeout,
      Duration timeoutMargin,
      Clock clock,
      StorageCondition storage,
      Fence fence) {
    this.jobs = jobs;
    this.storage = storage;
    this.fence = fence;
    this.registry = registry;
    this.heartbeatTimeout = heartbeatTimeout;
    this.timeoutMargin = timeoutMargin;
    this.clock = clock;
    this.startedAt = clock.instant();
  }

  /**
   * One pass over the active jobs. Returns how many it settled. Each silent worker is fenced
   * first, once per pass; a worker that could not be fenced keeps its jobs until a later pass.
   *
   * @param owners what other replicas hold, as of this pass
   */
  public int settleJobsOfSilentWorkers(Ownership owners) {
    if (storage.failing().isPresent()) {
      return 0;
    }
    Instant heardFloor = storage.lastTrouble().filter(startedAt::isBefore).orElse(startedAt);
    Instant now = clock.instant();
    int settled = 0;
    java.util.Map<WorkerId, Boolean> fenced = new java.util.HashMap<>();
    java.util.Set<WorkerId> unattached = new java.util.HashSet<>();
    for (Job job : jobs.active()) {
      WorkerId worker = job.current().orElseThrow().workerId();
      var here = registry.find(worker);
      Instant lastHeard = here.map(WorkerRegistry.WorkerView::lastSeenAt).orElse(startedAt);
      if (owners.elsewhere().contains(worker)) {
        continue; // its latest attach is another live replica's: judged there (a stream here is stale)
      }
      if (here.filter(WorkerRegistry.WorkerView::attached).isEmpty()) {
        if (here.isEmpty() && owners.shared()) {
          if (!owners.settlesUnattached()) {
            continue;
          }
          unattached.add(worker);
          Instant since = unattachedSince.computeIfAbsent(worker, w -> now);
          lastHeard = since.isAfter(lastHeard) ? since : lastHeard;
        }
      }
      Duration silentFor = Duration.between(lastHeard, now);
      if (lastHeard.isBefore(heardFloor)) {
        lastHeard = heardFloor;
      }
      Duration silent = Duration.between(lastHeard, now);
      if (silent.compareTo(heartbeatTimeout) < 0) {
        continue;
      }
      if (!fenced.computeIfAbsent(worker, fence::fence)) {
        continue;
      }
      var execution = job.executionId().orElseThrow();
      MDC.put("jobId", job.id().value());
      MDC.put("workerId", worker.value());
      try {
        String why =
            "worker " + worker + " was lost: nothing heard from it for " + silentFor.toSeconds() + "s";
        if (pastItsTimeout(job, now)) {
          log.warn("job {} ran past its timeout on silent worker {}; timing it out", job.id(), worker);
          jobs.finish(job.id(), execution, new Outcome.TimedOut(), now);
        } else {
          log.warn("{}; settling job {}", why, job.id());
          jobs.settleLostExecution(job.id(), execution, why);
        }
        registry.finished(worker, execution);
        settled++;
      } catch (HodeiException e) {
        log.debug("job {} moved on before it could be settled: {}", job.id(), e.getMessage());
      } finally {
        MDC.remove("jobId");
        MDC.remove("workerId");
      }
    }
    unattachedSince.keySet().retainAll(unattached);
    return settled;
  }

  private boolean pastItsTimeout(Job job, Instant now) {
    if (job.state() != JobState.RUNNING || job.spec().timeout().isEmpty()) {
      return false;
    }
    Duration timeout = job.spec().timeout().get();
    if (timeout.isZero()) {
      return false;
    }
    return job.current()
        .flatMap(a -> a.startedAt())
        .map(started -> now.isAfter(started.plus(timeout).plus(timeoutMargin)))
        .orElse(false);
  }
}
