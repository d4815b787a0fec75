package io.hodei.core.job;

import io.hodei.core.error.ConflictException;
import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.worker.WorkerId;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The job operations every entry point shares: the user API, the worker stream and the unary
 * worker calls all change jobs through here, so each change is validated by the state table,
 * persisted with a compare-and-set together with an entry in the job's history, and then
 * announced to {@link JobListener}s.
 *
 * <p>Thread-safe. Races between writers are settled by the store's version check: the loser
 * re-reads the job and re-applies its change, which fails cleanly if the change no longer makes
 * sense (for example a result for an execution that was meanwhile cancelled).
 */
public final class JobService {
  private static final Logger log = LoggerFactory.getLogger(JobService.class);

  private final JobStore store;
  /** Null when this service keeps no secrets: then jobs with secrets are refused. */
  private final io.hodei.core.secret.SecretVault vault;
  private final Clock clock;
  private final RandomGenerator random;
  private final SpecLimits limits;
  private final List<JobListener> listeners = new CopyOnWriteArrayList<>();

  public JobService(JobStore store, Clock clock) {
    this(store, clock, RandomGenerator.getDefault());
  }

  /** {@code random} draws the jitter of retry backoffs. */
  public JobService(JobStore store, Clock clock, RandomGenerator random) {
    this(store, null, clock, random);
  }

  /**
   * @param vault keeps the values of jobs' secrets from queuing until the job is settled
   * @param random draws the jitter of retry backoffs
   */
  public JobService(
      JobStore store, io.hodei.core.secret.SecretVault vault, Clock clock, RandomGenerator random) {
    this(store, vault, clock, random, SpecLimits.DEFAULTS);
  }

  /** As above, with the admin's {@code limits} on what a job's definition may hold. */
  public JobService(
      JobStore store, io.hodei.core.secret.SecretVault vault, Clock clock, RandomGenerator random, SpecLimits limits) {
    this.store = store;
    this.vault = vault;
    this.clock = clock;
    this.random = random;
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** The page token that resumes a listing right after {@code job}. */
  public String pageTokenAfter(Job job) {
    return store.pageTokenAfter(job);
  }

  /** How many of {@code owner}'s jobs are pending or scheduled: for the per-user quota. */
  public long countWaiting(String owner) {
    return store.countWaiting(owner);
  }

  /** What a job's definition may hold here. */
  public SpecLimits limits() {
    return limits;
  }

  public void addListener(JobListener listener) {
    listeners.add(listener);
  }

  public Job queue(JobSpec spec) {
    return queue(spec, java.util.Map.of());
  }

  /**
   * Queues a job with secrets. The values go to the vault before the job exists, so no worker can
   * ever be handed the job without them; if the job cannot be stored they are discarded again.
   * The stored spec keeps only their names.
   */
  public Job queue(JobSpec spec, java.util.Map<String, String> secrets) {
    return queue(spec, secrets, "");
  }

  /** As {@link #queue(JobSpec, java.util.Map)}, owned by the principal named {@code owner}. */
  public Job queue(JobSpec spec, java.util.Map<String, String> secrets, String owner) {
    JobSpecValidator.validateSecrets(secrets);
    JobSpec named = spec.withSecretNames(secrets.keySet());
    JobSpecValidator.validate(named, limits);
    if (!secrets.isEmpty() && vault == null) {
      throw new io.hodei.core.error.InvalidSpecException(
          "definition.secrets", "this control plane keeps no secrets");
    }
    JobId id = JobId.random();
    if (!secrets.isEmpty()) {
      vault.keep(id, secrets);
    }
    Job job;
    try {
      job = store.insert(Job.queued(id, named, owner, clock.instant()), "queued");
    } catch (RuntimeException e) {
      if (!secrets.isEmpty()) {
        vault.discard(id);
      }
      throw e;
    }
    log.info(
        "job {} queued: {}{}",
        job.id(), named.command().summary(),
        secrets.isEmpty() ? "" : " with secrets " + named.secretNames());
    announce(job);
    return job;
  }

  /**
   * The secret values to hand to the job's current attempt on {@code worker}, recording the
   * delivery (names only) for the audit trail. Empty for a job without secrets.
   *
   * @throws IllegalTransitionException if the job has secrets but their values are gone
   */
  public java.util.Map<String, String> secretsForDelivery(Job job, WorkerId worker) {
    if (job.spec().secretNames().isEmpty()) {
      return java.util.Map.of();
    }
    var values = vault == null ? java.util.Map.<String, String>of() : vault.reveal(job.id());
    if (!values.keySet().equals(job.spec().secretNames())) {
      throw new IllegalTransitionException(
          "job " + job.id() + " needs secrets " + job.spec().secretNames()
              + " that are no longer kept; queue it again with its secrets");
    }
    var attempt = job.current().orElseThrow();
    vault.recordDelivery(
        new io.hodei.core.secret.SecretDelivery(
            job.id(), attempt.number(), attempt.executionId().value(), worker,
            new java.util.TreeSet<>(values.keySet()), clock.instant()));
    return values;
  }

  /** Which secret names went to which attempt, oldest first. */
  public List<io.hodei.core.secret.SecretDelivery> secretDeliveries(JobId id) {
    return vault == null ? List.of() : vault.deliveries(id);
  }

  public Job get(JobId id) {
    return store.find(id).orElseThrow(() -> new NotFoundException("job", id.value()));
  }

  /** The job whose current attempt is {@code execution}; unknown executions are refused. */
  public Job byExecution(ExecutionId execution) {
    return store
        .findByExecution(execution)
        .orElseThrow(
            () -> new IllegalTransitionException("execution " + execution + " is not known"));
  }

  /** The job whose current attempt is {@code execution}, if there is one. */
  public java.util.Optional<Job> findByExecution(ExecutionId execution) {
    return store.findByExecution(execution);
  }

  /** Scheduled and Running jobs. */
  public List<Job> active() {
    return store.active();
  }

  public Page<Job> list(JobQuery query) {
    return store.list(query);
  }

  public List<Attempt> attempts(JobId id) {
    return store.attempts(id);
  }

  public List<JobEvent> events(JobId id, long fromSequence, int max) {
    return store.events(id, fromSequence, max);
  }

  /** Pending -> Scheduled on {@code worker}, under a fresh execution id. */
  public Job assign(JobId id, WorkerId worker) {
    ExecutionId execution = ExecutionId.random();
    Instant now = clock.instant();
    return change(
        id,
        job -> job.assignTo(worker, execution, now),
        job -> "scheduled on " + worker + " (attempt " + job.attempts() + ")");
  }

  public Job start(JobId id, ExecutionId execution, Instant at) {
    return change(
        id,
        job -> job.start(execution, at),
        job -> "running on " + job.current().orElseThrow().workerId());
  }

  /**
   * Ends the execution as {@code outcome} says, then, if the job failed or timed out and its
   * retry policy allows, puts it back in the queue behind its backoff. Idempotent per execution:
   * a repeated report of an execution that already ended returns the job unchanged.
   */
  public Job finish(JobId id, ExecutionId execution, Outcome outcome, Instant startedAt) {
    return finish(id, execution, outcome, startedAt, 0);
  }

  /** As {@link #finish(JobId, ExecutionId, Outcome, Instant)}, with the lines the worker dropped under the drop log policy. */
  public Job finish(JobId id, ExecutionId execution, Outcome outcome, Instant startedAt, long droppedLogLines) {
    Job current = get(id);
    if (!current.state().isActive()
        && current.executionId().filter(execution::equals).isPresent()) {
      return current;
    }
    Instant now = clock.instant();
    Job ended =
        change(
            id,
            job -> job.finish(execution, outcome, startedAt, now, droppedLogLines),
            job ->
                job.state().name().toLowerCase(Locale.ROOT)
                    + job.errorMessage().map(e -> ": " + e).orElse(""));
    return ended.canRetry() ? scheduleRetry(ended) : ended;
  }

  /** Ends the attempt of a worker that went silent: cancelled if that was asked, else lost. */
  public Job settleLostExecution(JobId id, ExecutionId execution, String why) {
    Job job = get(id);
    Outcome outcome =
        job.cancel().isPresent()
            ? new Outcome.Cancelled(job.cancel().get().reason() + " (" + why + ")")
            : new Outcome.WorkerLost(why);
    return finish(id, execution, outcome, clock.instant());
  }

  /** Scheduled -> Pending when the dispatch to {@code execution}'s worker did not happen. */
  public Job returnToQueue(JobId id, ExecutionId execution, String reason) {
    Instant now = clock.instant();
    return change(
        id,
        job -> {
          if (job.executionId().filter(execution::equals).isEmpty()) {
            throw new IllegalTransitionException("execution " + execution + " is not current");
          }
          return job.returnToQueue(reason, now);
        },
        job -> "back in the queue: " + reason);
  }

  /**
   * The control plane stops the worker of {@code execution} for its own reasons (a clean stop of
   * {@code hodei dev}): the attempt ends as lost with {@code why}, and the job goes straight back
   * to the queue, whatever its retry policy, with its secrets kept, to run again at the next start.
   * A job that is no longer on that execution is left as it is.
   */
  public Job requeueInterrupted(JobId id, ExecutionId execution, String why) {
    Instant now = clock.instant();
    return change(
        id,
        job -> {
          if (!job.state().isActive() || job.executionId().filter(execution::equals).isEmpty()) {
            return job;
          }
          if (job.state() == JobState.SCHEDULED) {
            return job.returnToQueue(why, now);
          }
          Instant started = job.current().flatMap(Attempt::startedAt).orElse(now);
          return job.finish(execution, new Outcome.WorkerLost(why), started, now).retryManually(now).waitingFor(why + "; back in the queue");
        },
        job -> "back in the queue: " + why);
  }

  /**
   * UC7. Returns the job after the request: Cancelled for a job that had not started; still
   * Running, with the request recorded, for one whose worker must stop it first.
   */
  public Job cancel(JobId id, String reason, String requestedBy) {
    Instant now = clock.instant();
    return change(
        id,
        job -> job.requestCancel(reason, requestedBy, now),
        job ->
            (job.state() == JobState.CANCELLED ? "cancelled" : "cancel requested")
                + " by "
                + requestedBy
                + (reason.isBlank() ? "" : ": " + reason));
  }

  /** UC9, by hand: a final Failed, Timeout or Cancelled job runs again. */
  public Job retry(JobId id) {
    return retry(id, java.util.Map.of());
  }

  /**
   * As {@link #retry(JobId)}, with values for the job's secrets: a job that had secrets needs
   * them again, by the same names, since their values were deleted when it ended. They are kept
   * before the job changes, and discarded again if it cannot be retried.
   */
  public Job retry(JobId id, java.util.Map<String, String> secrets) {
    Job current = get(id);
    java.util.Set<String> names = current.spec().secretNames();
    if (!secrets.isEmpty() && !secrets.keySet().equals(names)) {
      throw new io.hodei.core.error.InvalidSpecException(
          "secrets", "job " + id + " has secrets " + names + "; give values for exactly those, not " + new java.util.TreeSet<>(secrets.keySet()));
    }
    boolean kept = false;
    if (!names.isEmpty()) {
      if (secrets.isEmpty()) {
        if (vault == null || vault.reveal(id).isEmpty()) {
          throw new IllegalTransitionException(
              "job " + id + " had secrets " + names + ", whose values were deleted when it ended; retry it with their values"
                  + " (hodei retry " + id + names.stream().map(n -> " --secret " + n).collect(java.util.stream.Collectors.joining()) + ")");
        }
      } else {
        JobSpecValidator.validateSecrets(secrets);
        if (vault == null) {
          throw new io.hodei.core.error.InvalidSpecException("definition.secrets", "this control plane keeps no secrets");
        }
        if (current.state().isFinal()) {
          vault.discard(id);
          vault.keep(id, secrets);
          kept = true;
        }
      }
    }
    Instant now = clock.instant();
    try {
      return change(id, job -> job.retryManually(now), job -> "retried on request" + (secrets.isEmpty() ? "" : " with new secret values"));
    } catch (RuntimeException e) {
      if (kept) {
        vault.discard(id);
      }
      throw e;
    }
  }

  public Job reportProgress(ExecutionId execution, double percent, String message) {
    Job job = byExecution(execution);
    Instant now = clock.instant();
    return change(job.id(), j -> j.reportProgress(execution, percent, message, now), null);
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

  private Job scheduleRetry(Job failed) {
    int next = failed.attempts() + 1;
    var backoff = failed.spec().retryPolicy().backoffBefore(next, random);
    Instant now = clock.instant();
    try {
      return change(
          failed.id(),
          job -> job.retryAfter(now.plus(backoff), now),
          job ->
              "retry "
                  + next
                  + " of "
                  + job.spec().retryPolicy().maxAttempts()
                  + " in "
                  + Job.humanDuration(backoff));
    } catch (IllegalTransitionException e) {
      // Cancelled or retried by hand in between: that decision stands.
      log.debug("job {} not retried: {}", failed.id(), e.getMessage());
      return get(failed.id());
    }
  }

  /**
   * Applies {@code transition} to the stored job and persists it, with {@code event} (if not null)
   * describing the change in the job's history.
   */
  private Job change(
      JobId id, UnaryOperator<Job> transition, java.util.function.Function<Job, String> event) {
    for (int attempt = 0; ; attempt++) {
      Job before = get(id);
      Job next = transition.apply(before);
      if (next == before) {
        return before;
      }
      try {
        Job stored = event == null ? store.update(next) : store.update(next, event.apply(next));
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
    if (vault != null && job.isSettled() && !job.spec().secretNames().isEmpty()) {
      try {
        vault.discard(job.id());
      } catch (RuntimeException e) {
        // The change is committed: listeners must hear of it all the same. The sealed values
        // stay until a later discard; nothing hands them out for a settled job.
        log.error("could not delete the secrets of settled job {}: {}", job.id(), e.getMessage());
      }
    }
    for (JobListener listener : listeners) {
      try {
        listener.jobChanged(Objects.requireNonNull(job));
      } catch (RuntimeException e) {
        log.error("job listener failed for job {}; this indicates a bug", job.id(), e);
      }
    }
  }
}
