package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetQueueStatusRequest;
import io.hodei.api.v1.GetQueueStatusResponse;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.ListWorkersResponse;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.api.v1.DeregisterWorkerRequest;
import io.hodei.api.v1.DeregisterWorkerResponse;
import io.hodei.api.v1.DrainWorkerRequest;
import io.hodei.api.v1.DrainWorkerResponse;
import io.hodei.api.v1.Rejection;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.worker.WorkerId;
import io.hodei.api.v1.ScheduleJobRequest;
import io.hodei.api.v1.ScheduleJobResponse;
import io.hodei.api.v1.SchedulingDecision;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.job.JobSpec;
import io.hodei.core.scheduling.Scheduler;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.wire.WireMapping;
import io.hodei.server.workers.WorkerRegistry;

/** The queue, the workers, and scheduling decisions explained. */
public final class SchedulerApi extends SchedulerServiceGrpc.SchedulerServiceImplBase {
  private final JobStore jobs;
  private final WorkerRegistry registry;
  private final Provisioner provisioner;
  private final Scheduler scheduler;
  private final java.util.function.BiConsumer<WorkerId, String> retire;
  private final io.hodei.server.auth.SecurityAudit audit;

  /**
   * The workers whose streams are on other live replicas: listed from the store, and reached by a
   * command left for their replica.
   */
  public interface Elsewhere {
    /** Leaves {@code kind} for the replica holding {@code worker}'s stream, if another live one does; the worker as stored. */
    java.util.Optional<io.hodei.core.worker.WorkerRegistration> leave(
        WorkerId worker, io.hodei.core.replica.WorkerCommand.Kind kind, String reason);

    /** The workers streaming to other live replicas now, as the store has them. */
    java.util.List<io.hodei.api.v1.Worker> workers();

    /** This replica's id, for the workers attached here. */
    String replicaId();
  }

  private final io.hodei.core.job.SpecLimits limits;
  private final Elsewhere elsewhere;

  /**
   * @param retire takes a worker out for good, settling its jobs (see WorkerLifecycle#retire)
   * @param elsewhere reaches workers whose streams are on other replicas
   */
  public SchedulerApi(
      JobStore jobs,
      WorkerRegistry registry,
      Provisioner provisioner,
      Scheduler scheduler,
      java.util.function.BiConsumer<WorkerId, String> retire,
      io.hodei.server.auth.SecurityAudit audit,
      io.hodei.core.job.SpecLimits limits,
      Elsewhere elsewhere) {
    this.elsewhere = elsewhere;
    this.audit = audit;
    this.limits = limits;
    this.jobs = jobs;
    this.registry = registry;
    this.provisioner = provisioner;
    this.scheduler = scheduler;
    this.retire = retire;
  }

  @Override
  public void drainWorker(DrainWorkerRequest request, StreamObserver<DrainWorkerResponse> response) {
    WorkerId id = workerId(request.getWorkerId());
    io.hodei.api.v1.Worker worker;
    if (registry.draining(id)) {
      worker = ApiMapper.toApi(registry.find(id).orElseThrow());
    } else {
      // Its stream may be on another replica: the command goes to that one through the store.
      worker = elsewhere.leave(id, io.hodei.core.replica.WorkerCommand.Kind.DRAIN, "drain requested")
          .map(r -> io.hodei.api.v1.Worker.newBuilder()
              .setInfo(io.hodei.wire.WireMapping.toWire(r.info()))
              .setProvider(r.provider())
              .setStatus(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING)
              .build())
          .orElseThrow(() -> new NotFoundException("worker", id.value()));
    }
    audit.record(io.hodei.core.auth.AuditEvent.Kind.WORKER_DRAINED, id.value(), "drain requested");
    response.onNext(DrainWorkerResponse.newBuilder().setWorker(worker).build());
    response.onCompleted();
  }

  @Override
  public void deregisterWorker(
      DeregisterWorkerRequest request, StreamObserver<DeregisterWorkerResponse> response) {
    WorkerId id = workerId(request.getWorkerId());
    if (registry.find(id).filter(w -> w.terminatedAt().isEmpty()).isPresent()) {
      retire.accept(id, "deregistered" + (request.getReason().isBlank() ? "" : ": " + request.getReason()));
    } else if (elsewhere.leave(id, io.hodei.core.replica.WorkerCommand.Kind.DEREGISTER, request.getReason()).isEmpty()) {
      throw new NotFoundException("worker", id.value());
    }
    audit.record(
        io.hodei.core.auth.AuditEvent.Kind.WORKER_DEREGISTERED,
        id.value(),
        request.getReason().isBlank() ? "no reason given" : request.getReason());
    response.onNext(DeregisterWorkerResponse.getDefaultInstance());
    response.onCompleted();
  }

  private static WorkerId workerId(String value) {
    if (value.isBlank()) {
      throw new InvalidSpecException("worker_id", "must not be empty");
    }
    return new WorkerId(value);
  }

  /**
   * Where the job would go now, and why every other worker and provider was not chosen. Nothing
   * is queued and nothing changes, not even the round-robin cursor.
   */
  @Override
  public void scheduleJob(ScheduleJobRequest request, StreamObserver<ScheduleJobResponse> response) {
    if (!request.hasDefinition()) {
      throw new InvalidSpecException("definition", "is required");
    }
    JobSpec spec = WireMapping.fromRequest(request.getDefinition(), limits);
    var placement = scheduler.explain(spec, registry.freeCandidates());
    var decision = SchedulingDecision.newBuilder();
    placement.rejections().forEach(r -> decision.addRejections(rejection(r.candidate(), r.reason())));
    for (var w : registry.snapshot()) {
      if (!w.isFree() && w.terminatedAt().isEmpty()) {
        decision.addRejections(rejection("worker " + w.info().id(), notFree(w)));
      }
    }
    for (var starting : provisioner.starting()) {
      decision.addRejections(
          rejection(
              "worker " + starting.id(),
              "being started by provider " + starting.pool() + starting.waitingReason().map(r -> ": " + r).orElse("")));
    }
    if (placement.worker().isPresent()) {
      decision.setWorkerId(placement.worker().get().value());
      decision.setSummary("would run now on " + placement.summary());
    } else {
      String provider = null;
      for (var pool : provisioner.pools()) {
        var health = provisioner.checkHealth().get(pool.name());
        if (!health.canProvision()) {
          decision.addRejections(rejection("provider " + pool.name(), Provisioner.describe(health)));
        } else if (Scheduler.whyNot(spec, Provisioner.candidateOf(pool, spec)).isPresent()) {
          decision.addRejections(
              rejection(
                  "provider " + pool.name(),
                  "its workers would not fit: " + Scheduler.whyNot(spec, Provisioner.candidateOf(pool, spec)).get()));
        } else if (provisioner.count(pool) >= pool.policy().maxWorkers()) {
          decision.addRejections(
              rejection(
                  "provider " + pool.name(),
                  "at its limit of " + pool.policy().maxWorkers() + " workers"));
        } else if (provider == null) {
          provider = pool.name();
        }
      }
      if (provider != null) {
        decision.setProvisionWithProvider(provider);
        decision.setSummary(placement.summary() + "; would start a worker with provider " + provider);
      } else {
        decision.setSummary(placement.summary() + "; no provider can start a worker now: the job would wait");
      }
    }
    response.onNext(ScheduleJobResponse.newBuilder().setDecision(decision).build());
    response.onCompleted();
  }

  private static Rejection rejection(String candidate, String reason) {
    return Rejection.newBuilder().setCandidate(candidate).setReason(reason).build();
  }

  private static String notFree(WorkerRegistry.WorkerView w) {
    if (w.draining()) {
      return "draining";
    }
    if (!w.isHealthy()) {
      return w.attached() ? "unhealthy: not heard from for a while" : "unhealthy: not connected";
    }
    return "busy with " + w.running().size() + " job(s)";
  }

  @Override
  public void getQueueStatus(
      GetQueueStatusRequest request, StreamObserver<GetQueueStatusResponse> response) {
    var counts = jobs.countActive();
    response.onNext(
        GetQueueStatusResponse.newBuilder()
            .setPending(counts.getOrDefault(JobState.PENDING, 0L))
            .setScheduled(counts.getOrDefault(JobState.SCHEDULED, 0L))
            .setRunning(counts.getOrDefault(JobState.RUNNING, 0L))
            .build());
    response.onCompleted();
  }

  @Override
  public void listWorkers(ListWorkersRequest request, StreamObserver<ListWorkersResponse> response) {
    var b = ListWorkersResponse.newBuilder();
    var starting = provisioner.starting();
    var startingIds = new java.util.HashMap<io.hodei.core.worker.WorkerId, Provisioner.Starting>();
    starting.forEach(e -> startingIds.put(e.id(), e));
    var known = new java.util.HashSet<String>();
    registry.snapshot().forEach(w -> {
      known.add(w.info().id().value());
      var worker = ApiMapper.toApi(w).toBuilder().setReplicaId(elsewhere.replicaId()).build();
      if (!w.attached() && startingIds.containsKey(w.info().id())) {
        worker = worker.toBuilder().setStatus(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_CREATING)
            .setWaitingReason(startingIds.get(w.info().id()).waitingReason().orElse("")).build();
      }
      b.addWorkers(worker);
    });
    for (var worker : elsewhere.workers()) {
      if (known.add(worker.getInfo().getWorkerId())) {
        b.addWorkers(worker);
      }
    }
    for (var entry : starting) {
      if (known.add(entry.id().value())) {
        b.addWorkers(
            io.hodei.api.v1.Worker.newBuilder()
                .setInfo(io.hodei.api.v1.WorkerInfo.newBuilder().setWorkerId(entry.id().value()))
                .setStatus(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_CREATING)
                .setProvider(entry.pool())
                .setWaitingReason(entry.waitingReason().orElse("")));
      }
    }
    response.onNext(b.build());
    response.onCompleted();
  }
}
