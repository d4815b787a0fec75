package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.grpc.stub.ServerCallStreamObserver;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.CancelJobResponse;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.GetJobResponse;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ListJobsResponse;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.JobEvent;
import io.hodei.api.v1.QueueJobResponse;
import io.hodei.api.v1.RetryJobRequest;
import io.hodei.api.v1.RetryJobResponse;
import io.hodei.api.v1.WatchJobRequest;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.core.auth.AuditEvent;
import io.hodei.server.auth.Callers;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.server.workers.WorkerRegistry;
import java.time.Duration;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobState;
import io.hodei.core.job.Page;
import io.hodei.wire.WireMapping;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;

/**
 * UC1 and the user's view of jobs. The unary worker calls are {@link WorkerJobApi}'s. Calls not
 * overridden here answer {@code UNIMPLEMENTED} until the issue that brings them.
 */
public final class JobExecutionApi extends JobExecutionServiceGrpc.JobExecutionServiceImplBase {
  private static final Duration MAX_WAIT = Duration.ofSeconds(1);

  private final JobService jobs;
  private final WorkerRegistry registry;
  private final io.hodei.server.workers.WorkerLifecycle lifecycle;
  private final JobSignals signals;
  private final SecurityAudit audit;

  private final io.hodei.server.provisioning.Provisioner provisioner;
  private final io.hodei.server.auth.UserQuotas quotas;
  private final io.hodei.core.log.LogStore logs;
  private final io.hodei.core.StorageCondition storage;
  /** Most bytes of jobs in one ListJobs page: far below any client's 4 MiB default. */
  static final int LIST_PAGE_BYTES = 2 << 20;

  /**
   * With {@code provisioner}, jobs that no pool could ever hold are refused when queued; {@code
   * logs} holds the per-user totals of stored log bytes that {@code quotas} bound; {@code storage}
   * tells whether the store can write, for jobs' waiting reasons.
   */
  public JobExecutionApi(
      JobService jobs, WorkerRegistry registry, io.hodei.server.workers.WorkerLifecycle lifecycle,
      JobSignals signals, SecurityAudit audit,
      io.hodei.server.provisioning.Provisioner provisioner,
      io.hodei.server.auth.UserQuotas quotas,
      io.hodei.core.log.LogStore logs,
      io.hodei.core.StorageCondition storage) {
    this.logs = logs;
    this.storage = storage;
    this.provisioner = provisioner;
    this.quotas = quotas;
    this.jobs = jobs;
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.signals = signals;
    this.audit = audit;
  }

  /**
   * The job, if the caller may see and act on it: an admin any job, a user only its own.
   * Another's job is refused with PERMISSION_DENIED (and audited) rather than hidden as NOT_FOUND:
   * job ids are random, so telling that one exists gives nothing away, and the refusal is clearer.
   */
  static Job visibleJob(JobService jobs, JobId id, SecurityAudit audit) {
    Job job = jobs.get(id);
    var caller = Callers.principal();
    if (!caller.mayActOnJobOf(job.owner())) {
      audit.record(AuditEvent.Kind.PERMISSION_DENIED, id.value(), "job owned by " + ownerOf(job));
      throw new PermissionDeniedException(
          "job " + id + " belongs to " + ownerOf(job) + ", not to " + caller.name());
    }
    return job;
  }

  private static String ownerOf(Job job) {
    return job.owner().isEmpty() ? "nobody (admins only)" : job.owner();
  }

  @Override
  public void cancelJob(CancelJobRequest request, StreamObserver<CancelJobResponse> response) {
    JobId id = jobId(request.getJobId());
    Job before = visibleJob(jobs, id, audit);
    Job after = jobs.cancel(id, request.getReason(), Callers.principal().name());
    audit.record(
        AuditEvent.Kind.JOB_CANCELLED,
        id.value(),
        request.getReason().isBlank() ? "no reason given" : request.getReason());
    // A job that may be on a worker is stopped there too: a Running one ends Cancelled once its
    // worker confirms, a Scheduled one may already have reached it.
    if (before.state().isActive()) {
      before
          .workerId()
          .ifPresent(
              worker ->
                  lifecycle.forwardCancel(
                      worker, id.value(), before.executionId().orElseThrow().value(), request.getReason()));
    }
    response.onNext(
        CancelJobResponse.newBuilder().setJob(withAttempts(after)).build());
    response.onCompleted();
  }

  @Override
  public void retryJob(RetryJobRequest request, StreamObserver<RetryJobResponse> response) {
    JobId id = jobId(request.getJobId());
    visibleJob(jobs, id, audit);
    Job job = jobs.retry(id, request.getSecretsMap());
    response.onNext(
        RetryJobResponse.newBuilder().setJob(withAttempts(job)).build());
    response.onCompleted();
  }

  /**
   * The job's history from {@code from_sequence} (or only its current state), then every change
   * as it is persisted, until the job is final with no automatic retry coming. Reads the store only, so it is exact across
   * restarts: each event is an entry of the job's persisted history.
   */
  @Override
  public void watchJob(WatchJobRequest request, StreamObserver<JobEvent> response) {
    JobId id = jobId(request.getJobId());
    Job job = visibleJob(jobs, id, audit);
    var call = (ServerCallStreamObserver<JobEvent>) response;
    long next = request.getFromSequence();
    if (next <= 0) {
      var history = jobs.events(id, 1, Integer.MAX_VALUE);
      var latest = history.isEmpty() ? null : history.getLast();
      response.onNext(event(job, latest));
      next = latest == null ? 1 : latest.sequence() + 1;
    }
    while (!call.isCancelled()) {
      var change = signals.nextChange(id);
      job = jobs.get(id);
      var events = jobs.events(id, next, 100);
      for (var e : events) {
        response.onNext(event(job, e));
        next = e.sequence() + 1;
      }
      if (!events.isEmpty()) {
        continue;
      }
      if (job.isSettled()) {
        response.onCompleted();
        return;
      }
      JobSignals.await(change, MAX_WAIT);
      if (Thread.currentThread().isInterrupted()) {
        return;
      }
    }
  }

  /**
   * The job as the API shows it: while the store cannot write, an unfinished job's waiting reason
   * says so (its own changes wait for the storage), whatever the store last held.
   */
  private io.hodei.api.v1.Job shown(Job job, List<io.hodei.core.job.Attempt> attempts) {
    var api = ApiMapper.toApi(job, attempts);
    if (job.state().isFinal()) {
      return api;
    }
    return storage.failing()
        .map(f -> api.toBuilder().setWaitingReason(
            "the control plane cannot write to its database (" + f.trouble().words()
                + "); this job's changes are held until an admin fixes it").build())
        .orElse(api);
  }

  /** The job with every attempt and, per attempt, the names of the secrets it was handed. */
  private io.hodei.api.v1.Job withAttempts(Job job) {
    var api = shown(job, jobs.attempts(job.id()));
    if (job.spec().secretNames().isEmpty()) {
      return api;
    }
    var delivered = new java.util.HashMap<String, java.util.Set<String>>();
    jobs.secretDeliveries(job.id()).forEach(d -> delivered.put(d.executionId(), d.names()));
    var b = api.toBuilder();
    for (var attempt : b.getAttemptsBuilderList()) {
      attempt.addAllDeliveredSecrets(delivered.getOrDefault(attempt.getExecutionId(), java.util.Set.of()));
    }
    return b.build();
  }

  private JobEvent event(Job job, io.hodei.core.job.JobEvent e) {
    var b = JobEvent.newBuilder().setJobId(job.id().value());
    if (e == null) {
      return b.setState(WireMapping.toWire(job.state())).setAt(WireMapping.toWire(job.updatedAt())).build();
    }
    return b.setState(WireMapping.toWire(e.state()))
        .setAt(WireMapping.toWire(e.at()))
        .setSequence(e.sequence())
        .setMessage(e.message())
        .build();
  }

  @Override
  public void queueJob(QueueJobRequest request, StreamObserver<QueueJobResponse> response) {
    if (!request.hasDefinition()) {
      throw new InvalidSpecException("definition", "is required");
    }
    var spec = WireMapping.fromRequest(request.getDefinition(), jobs.limits());
    var caller = Callers.principal();
    if (!caller.isAdmin()) {
      long waiting = jobs.countWaiting(caller.name());
      if (waiting >= quotas.waitingJobs()) {
        throw new io.grpc.StatusRuntimeException(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
            "quota waiting_jobs: " + caller.name() + " has " + waiting + " jobs pending or scheduled, the most a user may have;"
                + " wait for some to start, or cancel some"));
      }
    }
    long logBytes = logs.bytesOwnedBy(caller.name());
    if (logBytes >= quotas.logBytes()) {
      throw new io.grpc.StatusRuntimeException(io.grpc.Status.RESOURCE_EXHAUSTED.withDescription(
          "quota log_bytes: the logs stored for " + caller.name() + "'s jobs take " + logBytes
              + " bytes, the most a user may store (" + quotas.logBytes() + "); logs of finished jobs are"
              + " deleted after the log retention (--log-retention), or an admin can raise --max-log-bytes-per-user"));
    }
    if (provisioner != null) {
      provisioner.requireCouldEverFit(
          spec.resources(),
          () -> registry.snapshot().stream().filter(w -> w.terminatedAt().isEmpty()).map(w -> w.info().capacity()).toList());
    }
    Job job =
        jobs.queue(
            spec,
            request.getDefinition().getSecretsMap(),
            Callers.principal().name());
    response.onNext(
        QueueJobResponse.newBuilder()
            .setJobId(job.id().value())
            .setJob(shown(job, List.of()))
            .build());
    response.onCompleted();
  }

  @Override
  public void getJob(GetJobRequest request, StreamObserver<GetJobResponse> response) {
    JobId id = jobId(request.getJobId());
    Job job = visibleJob(jobs, id, audit);
    response.onNext(
        GetJobResponse.newBuilder().setJob(withAttempts(job)).build());
    response.onCompleted();
  }

  @Override
  public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
    if (request.getPageSize() < 0) {
      throw new InvalidSpecException("page_size", "must not be negative");
    }
    var states = EnumSet.noneOf(JobState.class);
    for (int i = 0; i < request.getStatesCount(); i++) {
      var state = request.getStates(i);
      int number = request.getStatesValue(i);
      states.add(
          WireMapping.toDomain(state)
              .orElseThrow(() -> new InvalidSpecException("states", "unknown state " + number + "; known: "
                  + WireMapping.known(io.hodei.api.v1.JobState.values()))));
    }
    var query =
        new JobQuery(
            states,
            request.getLabelsMap(),
            request.getNamePrefix().isEmpty()
                ? Optional.empty()
                : Optional.of(request.getNamePrefix()),
            request.hasCreatedAfter()
                ? Optional.of(WireMapping.toDomain(request.getCreatedAfter()))
                : Optional.empty(),
            request.hasCreatedBefore()
                ? Optional.of(WireMapping.toDomain(request.getCreatedBefore()))
                : Optional.empty(),
            request.getPageSize(),
            request.getPageToken().isEmpty()
                ? Optional.empty()
                : Optional.of(request.getPageToken()));
    var caller = Callers.principal();
    // A user lists its own jobs only; anything else that reached this call is an admin.
    Page<Job> page = jobs.list(caller.isAdmin() ? query : query.ownedBy(caller.name()));
    var b = ListJobsResponse.newBuilder();
    // Bounded in bytes as well as in count: a page stops before it would pass LIST_PAGE_BYTES (but
    // holds one job at least), and its token resumes after the last job it holds.
    long bytes = 0;
    boolean cut = false;
    for (Job job : page.items()) {
      var api = shown(job, List.of());
      int size = api.getSerializedSize();
      if (b.getJobsCount() > 0 && bytes + size > LIST_PAGE_BYTES) {
        b.setNextPageToken(jobs.pageTokenAfter(page.items().get(b.getJobsCount() - 1)));
        cut = true;
        break;
      }
      bytes += size;
      b.addJobs(api);
    }
    if (!cut) {
      page.nextPageToken().ifPresent(b::setNextPageToken);
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  static JobId jobId(String value) {
    if (value.isBlank()) {
      throw new InvalidSpecException("job_id", "must not be empty");
    }
    return new JobId(value);
  }
}
