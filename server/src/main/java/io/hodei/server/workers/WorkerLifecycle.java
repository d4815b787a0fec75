package io.hodei.server.workers;

import io.hodei.api.v1.ServerMessage;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.error.HodeiException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobService;
import io.hodei.core.job.Outcome;
import io.hodei.core.scheduling.Scheduler;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerStore;
import io.hodei.server.auth.SecurityAudit;
import java.util.Map;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The one home of what the control plane does to a worker and the jobs it holds: handing it a job
 * ({@link #dispatch}), forwarding a cancel to it ({@link #forwardCancel}), and taking it out
 * ({@link #retire}, {@link #settleLost}). The gRPC services, the scheduling loop, housekeeping and
 * the cluster loop call these rather than the registry and the job service one step at a time.
 *
 * <p>Handing a job to a worker is a protocol of four steps, each of which may meet a change made
 * meanwhile by another thread or another replica:
 *
 * <ol>
 *   <li><b>reserve</b>: {@link WorkerRegistry#schedule} places the job and reserves the chosen
 *       worker, so that no other placement takes that slot;
 *   <li><b>assign</b>: {@link JobService#assign} moves the job from Pending to Scheduled by a
 *       compare-and-set in the store; a job cancelled or assigned meanwhile is refused there, and
 *       the reservation is released;
 *   <li><b>confirm</b>: {@link WorkerRegistry#confirm} turns the reservation into the worker
 *       running the execution (a worker of an ephemeral pool then drains: one job, then it is
 *       retired);
 *   <li><b>send</b>: the run command, with the secret values the attempt is handed (audited as
 *       {@code SECRETS_DELIVERED}), goes down the worker's {@link WorkerLink}.
 * </ol>
 *
 * If the secrets cannot be read now, the job goes back to the queue; if they never can be (gone,
 * or sealed with another key), it fails to start; if the link is closed, it goes back to the
 * queue. Invariant: when {@link #dispatch} returns, the worker is no longer reserved, and the
 * registry has it run the execution only if the command was sent.
 *
 * <p>Thread-safe, and holds no state of its own: the registry's monitor and the store's
 * compare-and-set arbitrate between concurrent callers.
 */
public final class WorkerLifecycle {
  private static final Logger log = LoggerFactory.getLogger(WorkerLifecycle.class);

  /** What the lifecycle needs of the pools that start and stop workers. */
  public interface Pools {
    /** Whether {@code worker} is of a pool that runs one job per worker. */
    boolean isEphemeral(WorkerId worker);

    /** {@code worker} is gone for good: its pool stops counting it and destroys it. */
    void gone(WorkerId worker);
  }

  /** What became of a job offered to the workers, and the placement that decided it. */
  public record Dispatch(Scheduler.Placement placement, Result result) {
    /** The end of one {@link #dispatch}. */
    public enum Result {
      /** No worker that can take a job now fits it: it waits, for the reasons the placement gives. */
      UNPLACED,
      /** Its run command reached the worker: it is Scheduled there. */
      SENT,
      /** It is back in the queue: its worker's link was closed, or its secrets could not be read now. */
      BACK_IN_QUEUE,
      /** It failed to start: it cannot be handed out as it is. */
      FAILED_TO_START,
      /** It changed meanwhile (cancelled, assigned elsewhere): it is no longer ours to hand out. */
      NOT_DISPATCHED
    }
  }

  private final java.util.function.Consumer<WorkerId> notHere;
  private final JobService jobs;
  private final WorkerRegistry registry;
  private final WorkerStore workerStore;
  private final Pools pools;
  private final SecurityAudit audit;

  /**
   * @param notHere told of a cancel for a worker whose stream is not on this replica, so that the
   *     replica holding it can be nudged to read it back at once
   */
  public WorkerLifecycle(
      JobService jobs, WorkerRegistry registry, WorkerStore workerStore, Pools pools, SecurityAudit audit,
      java.util.function.Consumer<WorkerId> notHere) {
    this.notHere = notHere;
    this.jobs = jobs;
    this.registry = registry;
    this.workerStore = workerStore;
    this.pools = pools;
    this.audit = audit;
  }

  /**
   * Hands the pending {@code job} to a worker that can take it now, chosen by {@code scheduler}:
   * reserve, assign, confirm, send (see the class comment).
   */
  public Dispatch dispatch(Job job, Scheduler scheduler) {
    var scheduled = registry.schedule(job.spec(), scheduler);
    var placement = scheduled.placement();
    if (scheduled.reservation().isEmpty()) {
      return new Dispatch(placement, Dispatch.Result.UNPLACED);
    }
    var worker = scheduled.reservation().get();
    MDC.put("jobId", job.id().value());
    MDC.put("workerId", worker.workerId().value());
    try {
      return new Dispatch(placement, handTo(job.id(), worker));
    } finally {
      MDC.remove("jobId");
      MDC.remove("workerId");
    }
  }

  private Dispatch.Result handTo(JobId job, WorkerRegistry.Reservation worker) {
    try {
      Job assigned = assignAndConfirm(job, worker.workerId());
      ExecutionId execution = assigned.executionId().orElseThrow();
      if (pools.isEphemeral(worker.workerId())) {
        registry.draining(worker.workerId()); // one job, then it is retired
      }
      ServerMessage command;
      try {
        command = runCommand(assigned, worker.workerId());
      } catch (UnavailableException e) {
        // The store blinked: try again later rather than fail a job that did nothing wrong.
        registry.finished(worker.workerId(), execution);
        jobs.returnToQueue(job, execution, "could not read its secrets: " + e.getMessage());
        log.warn("job {} back in the queue: {}", job, e.getMessage());
        return Dispatch.Result.BACK_IN_QUEUE;
      } catch (HodeiException e) {
        // The job cannot be handed out as it is (its secrets are gone or sealed with another
        // key): it fails with the reason rather than waiting for something that will not change.
        registry.finished(worker.workerId(), execution);
        jobs.finish(job, execution, new Outcome.FailedToStart(e.getMessage()), null);
        log.warn("job {} could not be handed to worker {}: {}", job, worker.workerId(), e.getMessage());
        return Dispatch.Result.FAILED_TO_START;
      }
      if (worker.link().send(command)) {
        log.debug("job {} sent to worker {}", job, worker.workerId());
        return Dispatch.Result.SENT;
      }
      registry.finished(worker.workerId(), execution);
      jobs.returnToQueue(job, execution, "worker " + worker.workerId() + " disconnected before the job reached it");
      return Dispatch.Result.BACK_IN_QUEUE;
    } catch (HodeiException e) {
      // Cancelled or otherwise changed meanwhile: it is no longer ours to dispatch.
      registry.release(worker.workerId());
      log.debug("job {} not dispatched: {}", job, e.getMessage());
      return Dispatch.Result.NOT_DISPATCHED;
    }
  }

  /**
   * Assigns {@code job} to the registered {@code worker} and has the registry count it there,
   * without reserving the worker or sending it anything: for a caller that drives the execution
   * itself through the unary worker calls ({@code WorkerJobService.AssignJob}).
   *
   * @throws NotFoundException if no such worker is registered
   */
  public Job assign(JobId job, WorkerId worker) {
    if (registry.find(worker).isEmpty()) {
      throw new NotFoundException("worker", worker.value());
    }
    return assignAndConfirm(job, worker);
  }

  private Job assignAndConfirm(JobId id, WorkerId worker) {
    Job job = jobs.assign(id, worker);
    registry.confirm(worker, id, job.executionId().orElseThrow(), job.spec().resources());
    return job;
  }

  /** The run command of {@code job}'s current attempt, with its secrets; their delivery is audited. */
  private ServerMessage runCommand(Job job, WorkerId worker) {
    var secrets = jobs.secretsForDelivery(job, worker);
    if (!secrets.isEmpty()) {
      audit.record(AuditEvent.Kind.SECRETS_DELIVERED, worker.value(), job.id().value(),
          "secrets " + new TreeSet<>(secrets.keySet()) + " for attempt "
              + job.current().map(a -> a.number()).orElse(0), "");
    }
    return WorkerCommands.run(job, secrets);
  }

  /**
   * Tells {@code worker}, over the stream it has attached to this replica, to stop {@code
   * executionId} of {@code jobId} (empty when unknown), saying why ("cancelled" when {@code reason}
   * is blank). A worker that does not run that execution ignores it. Returns whether the command
   * went out: false if the worker has no stream here, or its stream is closed.
   */
  public boolean forwardCancel(WorkerId worker, String jobId, String executionId, String reason) {
    var command = WorkerCommands.cancel(jobId, executionId, reason.isBlank() ? "cancelled" : reason);
    var link = registry.link(worker);
    if (link.isEmpty()) {
      notHere.accept(worker);
      return false;
    }
    return link.get().send(command);
  }

  /**
   * Takes a worker out for good: its session can no longer be resumed, its pool destroys it, and
   * the jobs it still held are settled as lost (and retried if their policy allows).
   */
  public void retire(WorkerId id, String why) {
    workerStore.deactivate(id);
    var orphans = registry.remove(id);
    settleLost(id, orphans, "worker " + id + " " + why + " while running the job");
    pools.gone(id);
    log.info("worker {} retired: {}", id, why);
  }

  /** Ends, as lost (or cancelled, if that was asked), the executions a vanished worker held. */
  public void settleLost(WorkerId worker, Map<ExecutionId, JobId> running, String why) {
    running.forEach(
        (execution, job) -> {
          try {
            jobs.settleLostExecution(job, execution, why);
          } catch (HodeiException e) {
            log.debug("job {} of lost worker {} already settled: {}", job, worker, e.getMessage());
          }
        });
  }
}
