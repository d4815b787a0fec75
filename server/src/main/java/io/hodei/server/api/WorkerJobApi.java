package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.AssignJobRequest;
import io.hodei.api.v1.AssignJobResponse;
import io.hodei.api.v1.CompleteJobRequest;
import io.hodei.api.v1.CompleteJobResponse;
import io.hodei.api.v1.FailJobRequest;
import io.hodei.api.v1.FailJobResponse;
import io.hodei.api.v1.StartJobRequest;
import io.hodei.api.v1.StartJobResponse;
import io.hodei.api.v1.UpdateProgressRequest;
import io.hodei.api.v1.UpdateProgressResponse;
import io.hodei.api.v1.WorkerJobServiceGrpc;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.Role;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobService;
import io.hodei.core.job.Outcome;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.auth.Callers;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.server.workers.WorkerLifecycle;
import io.hodei.server.workers.WorkerRegistry;
import java.time.Clock;
import java.util.OptionalInt;

/**
 * The unary worker calls of UC2/UC3 ({@code WorkerJobService}): an execution assigned, then
 * reported call by call instead of over the worker's stream. The access policy lets only workers
 * and admins in (admins alone for {@code AssignJob}); here a worker principal acts only for
 * itself, on the executions assigned to it, and every refusal is audited.
 */
public final class WorkerJobApi extends WorkerJobServiceGrpc.WorkerJobServiceImplBase {
  private final JobService jobs;
  private final WorkerRegistry registry;
  private final WorkerLifecycle lifecycle;
  private final JobSignals signals;
  private final Clock clock;
  private final SecurityAudit audit;

  public WorkerJobApi(
      JobService jobs,
      WorkerRegistry registry,
      WorkerLifecycle lifecycle,
      JobSignals signals,
      Clock clock,
      SecurityAudit audit) {
    this.jobs = jobs;
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.signals = signals;
    this.clock = clock;
    this.audit = audit;
  }

  /**
   * For a caller with the worker role: the execution's job must be assigned to that worker, whose
   * id is the principal's name (the certificate's CN or the worker token's name). Admins pass.
   */
  private Job assignedJob(ExecutionId execution) {
    Job job = jobs.byExecution(execution);
    var caller = Callers.principal();
    if (caller.role() == Role.WORKER
        && job.workerId().filter(w -> w.value().equals(caller.name())).isEmpty()) {
      audit.record(
          AuditEvent.Kind.PERMISSION_DENIED,
          execution.value(),
          "execution of job " + job.id() + " is not assigned to worker " + caller.name());
      throw new PermissionDeniedException(
          "execution " + execution + " is not assigned to worker " + caller.name());
    }
    return job;
  }

  @Override
  public void assignJob(AssignJobRequest request, StreamObserver<AssignJobResponse> response) {
    JobId id = JobExecutionApi.jobId(request.getJobId());
    if (request.getWorkerId().isBlank()) {
      throw new InvalidSpecException("worker_id", "must not be empty");
    }
    WorkerId worker = new WorkerId(request.getWorkerId());
    var caller = Callers.principal();
    if (caller.role() == Role.WORKER && !caller.name().equals(worker.value())) {
      audit.record(
          AuditEvent.Kind.PERMISSION_DENIED, id.value(), "assign to worker " + worker + " by another worker");
      throw new PermissionDeniedException(
          "worker " + caller.name() + " may not take jobs for worker " + worker);
    }
    Job job = lifecycle.assign(id, worker);
    response.onNext(AssignJobResponse.newBuilder().setExecutionId(job.executionId().orElseThrow().value()).build());
    response.onCompleted();
  }

  @Override
  public void startJob(StartJobRequest request, StreamObserver<StartJobResponse> response) {
    ExecutionId execution = executionId(request.getExecutionId());
    Job job = assignedJob(execution);
    touch(job);
    jobs.start(job.id(), execution, clock.instant());
    response.onNext(StartJobResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void updateProgress(
      UpdateProgressRequest request, StreamObserver<UpdateProgressResponse> response) {
    ExecutionId execution = executionId(request.getExecutionId());
    double percent = request.getProgressPercentage();
    if (Double.isNaN(percent) || percent < 0 || percent > 100) {
      throw new InvalidSpecException("progress_percentage", "must be between 0 and 100");
    }
    touch(assignedJob(execution));
    jobs.reportProgress(execution, percent, request.getMessage());
    response.onNext(UpdateProgressResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void completeJob(CompleteJobRequest request, StreamObserver<CompleteJobResponse> response) {
    ExecutionId execution = executionId(request.getExecutionId());
    if (request.getExitCode() != 0) {
      throw new InvalidSpecException(
          "exit_code", "CompleteJob reports success (0); report exit code " + request.getExitCode() + " with FailJob");
    }
    finish(execution, new Outcome.Exited(0));
    response.onNext(CompleteJobResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void failJob(FailJobRequest request, StreamObserver<FailJobResponse> response) {
    ExecutionId execution = executionId(request.getExecutionId());
    String error =
        request.getErrorMessage().isBlank()
            ? "failed" + (request.getExitCode() != 0 ? " with exit code " + request.getExitCode() : "")
            : request.getErrorMessage();
    finish(
        execution,
        new Outcome.Failed(
            request.getExitCode() != 0 ? OptionalInt.of(request.getExitCode()) : OptionalInt.empty(),
            error));
    response.onNext(FailJobResponse.getDefaultInstance());
    response.onCompleted();
  }

  private void finish(ExecutionId execution, Outcome outcome) {
    Job job = assignedJob(execution);
    touch(job);
    Job done = jobs.finish(job.id(), execution, outcome, clock.instant());
    job.workerId().ifPresent(w -> registry.finished(w, execution));
    signals.signal(done.id());
  }

  /** A worker using the unary calls shows it is alive by making them. */
  private void touch(Job job) {
    job.workerId().ifPresent(registry::seen);
  }

  private static ExecutionId executionId(String value) {
    if (value.isBlank()) {
      throw new InvalidSpecException("execution_id", "must not be empty");
    }
    return new ExecutionId(value);
  }
}
