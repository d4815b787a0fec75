package io.hodei.core.job;

import io.hodei.core.error.ConflictException;
import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.worker.WorkerId;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job operations every entry point shares: the user API, the worker stream and the unary
 * worker calls all change jobs through here, so each change is validated by the state table,
 * persisted with a compare-and-set, and then announced to {@link JobListener}s.
 *
 * <p>Thread-safe. Races between writers are settled by the store's version check: the loser
 * re-reads the job and re-applies its change once, which fails cleanly if the change no longer
 * makes sense (for example a result for an execution that was meanwhile cancelled).
 */
public final class JobService {
  private static final Logger log = LoggerFactory.getLogger(JobService.class);

  private final JobStore store;
  private final Clock clock;
  private final List<JobListener> listeners = new CopyOnWriteArrayList<>();

  public JobService(JobStore store, Clock clock) {
    this.store = store;
    this.clock = clock;
  }

  public void addListener(JobListener listener) {
    listeners.add(listener);
  }

  public Job queue(JobSpec spec) {
    JobSpecValidator.validate(spec);
    Job job = store.insert(Job.queued(JobId.random(), spec, clock.instant()));
    log.info("job {} queued: {}", job.id(), spec.command().summary());
    announce(job);
    return job;
  }

  public Job get(JobId id) {
    return store.find(id).orElseThrow(() -> new NotFoundException("job", id.value()));
  }

  public Page<Job> list(JobQuery query) {
    return store.list(query);
  }

  public List<Attempt> attempts(JobId id) {
    return store.attempts(id);
  }

  /** Pending -> Scheduled on {@code worker}, under a fresh execution id. */
  public Job assign(JobId id, WorkerId worker) {
    ExecutionId execution = ExecutionId.random();
    return change(id, job -> job.assignTo(worker, execution, clock.instant()));
  }

  public Job start(JobId id, ExecutionId execution, Instant at) {
    return change(id, job -> job.start(execution, at));
  }

  /**
   * Ends the execution as {@code outcome} says. Idempotent per execution: a repeated report of an
   * execution that already ended returns the job unchanged.
   */
  public Job finish(JobId id, ExecutionId execution, Outcome outcome, Instant startedAt) {
    Job current = get(id);
    if (current.state().isFinal() && current.executionId().filter(execution::equals).isPresent()) {
      return current;
    }
    return change(id, job -> job.finish(execution, outcome, startedAt, clock.instant()));
  }

  /** Scheduled -> Pending when the dispatch to {@code execution}'s worker did not happen. */
  public Job returnToQueue(JobId id, ExecutionId execution, String reason) {
    return change(
        id,
        job -> {
          if (job.executionId().filter(execution::equals).isEmpty()) {
            throw new IllegalTransitionException("execution " + execution + " is not current");
          }
          return job.returnToQueue(reason, clock.instant());
        });
  }

  /** Records what a Pending job waits for; a no-op if it changed state or already says so. */
  public void noteWaiting(Job job, String reason) {
    if (job.state() != JobState.PENDING || job.waitingReason().equals(reason)) {
      return;
    }
    try {
      announce(store.update(job.waitingFor(reason)));
    } catch (ConflictException raced) {
      // The job moved on meanwhile; what it waited for no longer matters.
      log.debug("job {} changed while noting its wait", job.id());
    }
  }

  private Job change(JobId id, UnaryOperator<Job> transition) {
    for (int attempt = 0; ; attempt++) {
      Job next = transition.apply(get(id));
      try {
        Job stored = store.update(next);
        announce(stored);
        return stored;
      } catch (ConflictException raced) {
        if (attempt >= 3) {
          throw raced;
        }
        log.debug("job {} changed concurrently, re-reading", id);
      }
    }
  }

  private void announce(Job job) {
    for (JobListener listener : listeners) {
      try {
        listener.jobChanged(Objects.requireNonNull(job));
      } catch (RuntimeException e) {
        log.error("job listener failed for job {}; this indicates a bug", job.id(), e);
      }
    }
  }
}
