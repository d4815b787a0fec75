package io.hodei.server.api;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.Ack;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.RenewCertificateRequest;
import io.hodei.api.v1.RenewCertificateResponse;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.UnregisterRequest;
import io.hodei.api.v1.UnregisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.LogSafe;
import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.core.error.RateLimitedException;
import io.hodei.server.auth.Callers;
import io.hodei.server.auth.RegistrationThrottle;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.core.error.HodeiException;
import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.ExecutionId;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobService;
import io.hodei.core.job.Outcome;
import io.hodei.core.log.LogStore;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.Secrets;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.core.worker.WorkerStore;
import io.hodei.server.metrics.UsageHistory;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.server.workers.WorkerLifecycle;
import io.hodei.server.workers.WorkerLink;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.security.WorkerCertificateIssuer;
import io.hodei.wire.WireMapping;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.List;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The worker's side of the control plane: OTP registration (UC4), the bidirectional stream over
 * which jobs, logs and results travel, and unregistration (UC13).
 */
public final class WorkerAgentApi extends WorkerAgentServiceGrpc.WorkerAgentServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(WorkerAgentApi.class);

  /** The width of the {@code workers.worker_id} column. */
  static final int MAX_WORKER_ID_LENGTH = 255;
  /** A worker id as it may appear in logs, file names and labels: printable ASCII, no spaces. */
  private static final java.util.regex.Pattern WORKER_ID = java.util.regex.Pattern.compile("[\\x21-\\x7e]+");

  private final OtpService otps;
  private final WorkerStore workerStore;
  private final WorkerRegistry registry;
  private final WorkerLifecycle lifecycle;
  private final Provisioner provisioner;
  private final JobService jobs;
  private final LogStore logs;
  private final JobSignals signals;
  private final Runnable workerFreed;
  private final Duration heartbeatInterval;
  private final Clock clock;
  private final LogIngest logIngest;
  private final UsageHistory usage;
  private final Optional<WorkerCertificateIssuer> certificates;
  private final SecurityAudit audit;
  private final RegistrationThrottle throttle;
  private final String replicaId;
  /** Every live replica's address, this one's first: told to each worker after it attaches. */
  private final java.util.function.Supplier<List<String>> replicaAddresses;

  public WorkerAgentApi(
      OtpService otps,
      WorkerStore workerStore,
      WorkerRegistry registry,
      WorkerLifecycle lifecycle,
      Provisioner provisioner,
      JobService jobs,
      LogStore logs,
      JobSignals signals,
      Runnable workerFreed,
      Duration heartbeatInterval,
      long logCapBytes,
      long ownerLogQuotaBytes,
      UsageHistory usage,
      Clock clock,
      Optional<WorkerCertificateIssuer> certificates,
      SecurityAudit audit,
      RegistrationThrottle throttle,
      String replicaId,
      java.util.function.Supplier<List<String>> replicaAddresses) {
    this.replicaId = replicaId;
    this.replicaAddresses = replicaAddresses;
    this.certificates = certificates;
    this.audit = audit;
    this.throttle = throttle;
    this.otps = otps;
    this.workerStore = workerStore;
    this.registry = registry;
    this.lifecycle = lifecycle;
    this.provisioner = provisioner;
    this.jobs = jobs;
    this.logs = logs;
    this.signals = signals;
    this.workerFreed = workerFreed;
    this.heartbeatInterval = heartbeatInterval;
    this.clock = clock;
    this.usage = usage;
    this.logIngest = new LogIngest(logs, logCapBytes, ownerLogQuotaBytes, clock);
    jobs.addListener(
        job -> {
          if (!job.state().isActive()) {
            logIngest.forget(job.id());
          }
        });
  }

  @Override
  public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
    if (request.getWorkerInfo().getWorkerId().isBlank()) {
      throw new InvalidSpecException("worker_info.worker_id", "must not be empty");
    }
    if (request.getWorkerInfo().getWorkerId().length() > MAX_WORKER_ID_LENGTH) {
      // Also bounds what the throttle keeps per id it counts.
      throw new InvalidSpecException(
          "worker_info.worker_id", "must be at most " + MAX_WORKER_ID_LENGTH + " characters");
    }
    if (!WORKER_ID.matcher(request.getWorkerInfo().getWorkerId()).matches()) {
      throw new InvalidSpecException(
          "worker_info.worker_id", "must be printable ASCII without spaces (letters, digits and . _ - : @ are usual)");
    }
    var info = WireMapping.toDomain(request.getWorkerInfo());
    requireOwnCertificate(PeerCertificate.current(), info.id().value());
    requireSameWorker(info.id(), "register");
    String remote = Callers.remote();
    String worker = info.id().value();
    try {
      // Per worker id presented, not per address: see RegistrationThrottle.
      throttle.checkAllowed(worker, () -> otps.hasOutstanding(info.id()));
    } catch (RateLimitedException e) {
      audit.record(AuditEvent.Kind.REGISTRATION_THROTTLED, info.id().value(), info.id().value(), e.getMessage(), remote);
      throw e;
    }
    String issuedBy;
    try {
      issuedBy = otps.redeem(request.getAuthToken(), info.id());
    } catch (AuthenticationException e) {
      throttle.failed(worker);
      log.warn("registration of worker {} refused: {}", io.hodei.core.auth.LogSafe.text(info.id().value()), e.getMessage());
      audit.record(AuditEvent.Kind.REGISTRATION_FAILED, info.id().value(), info.id().value(), e.getMessage(), remote);
      throw e;
    }
    var origin = provisioner.registered(info.id());
    if (origin.isEmpty() && !issuedBy.isEmpty() && provisioner.hasPool(issuedBy)) {
      // Started by this pool in an earlier life of the control plane, just before it stopped:
      // counted as the pool's again, or stopped if the pool is already at its limit.
      if (!provisioner.adopt(info.id(), issuedBy, "", false)) {
        throw new io.hodei.core.error.PermissionDeniedException(
            "worker " + info.id() + " was started by pool " + issuedBy + ", which is at its limit now; it is not taken back");
      }
      origin = provisioner.registered(info.id());
    }
    String provider = origin.map(Provisioner.Origin::pool).orElse("external");
    List<String> isolationGaps = request.getWorkerInfo().getIsolationDegradedList();
    if (!isolationGaps.isEmpty()) {
      log.warn("worker {} of {} cannot fully isolate its jobs: {}", info.id(), provider,
          io.hodei.core.auth.LogSafe.text(String.join("; ", isolationGaps), 2000));
    }
    origin.ifPresent(o -> provisioner.isolationReported(o.pool(), isolationGaps));
    String session = UUID.randomUUID().toString();
    workerStore.save(
        new WorkerRegistration(
            info,
            provider,
            origin.map(Provisioner.Origin::handleReference).orElse(""),
            Secrets.sha256Hex(session),
            clock.instant(),
            true));
    registry.register(info, provider, provisioner.slotsFor(provider));
    log.info("worker {} registered ({} on {})", info.id(), provider, info.hostname());
    audit.record(
        AuditEvent.Kind.WORKER_REGISTERED,
        info.id().value(),
        info.id().value(),
        "provider " + provider + " on host " + info.hostname(),
        remote);
    response.onNext(
        RegisterResponse.newBuilder()
            .setWorkerId(info.id().value())
            .setSessionId(session)
            .setHeartbeatInterval(WireMapping.toWire(heartbeatInterval))
            .build());
    response.onCompleted();
  }

  /**
   * With mTLS on, a worker may register or attach only under the id its certificate names: a
   * stolen OTP or session is useless without that worker's key.
   */
  private static void requireOwnCertificate(Optional<PeerCertificate> peer, String workerId) {
    if (peer.isPresent() && !peer.get().isWorker(workerId)) {
      throw new PermissionDeniedException(
          "certificate " + peer.get() + " may not act as worker " + workerId
              + "; a worker must present a worker certificate with CN=" + workerId);
    }
  }

  @Override
  public void renewCertificate(
      RenewCertificateRequest request, StreamObserver<RenewCertificateResponse> response) {
    var peer = PeerCertificate.current();
    if (peer.isEmpty() || certificates.isEmpty()) {
      throw new IllegalTransitionException("certificates are renewed only over mTLS with a CA key on the server");
    }
    String id = request.getWorkerId().isBlank() ? peer.get().name() : request.getWorkerId();
    requireOwnCertificate(peer, id);
    // A retired worker's certificate runs out instead of renewing itself forever.
    if (workerStore.find(new WorkerId(id)).filter(WorkerRegistration::active).isEmpty()) {
      throw new PermissionDeniedException("worker " + id + " is not registered; only a registered worker renews its certificate");
    }
    var issued = certificates.get().issue(new WorkerId(id));
    log.info("issued a renewed certificate to worker {} (serial {}, until {})",
        id, issued.certificate().getSerialNumber().toString(16), issued.certificate().getNotAfter().toInstant());
    audit.record(AuditEvent.Kind.CERTIFICATE_RENEWED, id, id,
        "serial " + issued.certificate().getSerialNumber().toString(16) + " until " + issued.certificate().getNotAfter().toInstant(),
        Callers.remote());
    response.onNext(
        RenewCertificateResponse.newBuilder()
            .setCertificatePem(issued.certificatePem())
            .setPrivateKeyPem(issued.keyPem())
            .setCaPem(certificates.get().caPem())
            .setNotAfter(WireMapping.toWire(issued.certificate().getNotAfter().toInstant()))
            .build());
    response.onCompleted();
  }

  @Override
  public void unregister(UnregisterRequest request, StreamObserver<UnregisterResponse> response) {
    WorkerId id = authenticate(request.getWorkerId(), request.getSessionId());
    requireSameWorker(id, "unregister");
    lifecycle.retire(id, "unregistered: " + request.getReason());
    response.onNext(UnregisterResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public StreamObserver<WorkerMessage> workerStream(StreamObserver<ServerMessage> response) {
    return new Connection((ServerCallStreamObserver<ServerMessage>) response, PeerCertificate.current());
  }

  /**
   * Brings back a worker registered before this server restarted: into the registry with the
   * executions the store says it holds, and under its pool's charge again.
   */
  private void resume(WorkerRegistration registration) {
    WorkerId id = registration.info().id();
    var held = jobs.active().stream().filter(job -> job.workerId().filter(id::equals).isPresent()).toList();
    // Counted against its pool again; one that would take the pool past its maximum and holds no
    // job is stopped rather than kept (one that holds jobs is kept until they end).
    boolean counted = provisioner.adopt(id, registration.provider(), registration.handleReference(), !held.isEmpty());
    if (!counted && provisioner.hasPool(registration.provider())) {
      workerStore.deactivate(id);
      provisioner.stopAdopted(id, registration.provider(), registration.handleReference());
      throw new AuthenticationException("worker " + id + " came back beyond its pool's limit; it is stopped");
    }
    registry.register(
        registration.info(), registration.provider(), provisioner.slotsFor(registration.provider()));
    held.forEach(
        job -> registry.confirm(id, job.id(), job.executionId().orElseThrow(), job.spec().resources()));
    log.info("worker {} resumed its session after a restart", id);
  }

  /**
   * A caller that is a worker principal (a worker certificate, or a worker token) may speak only
   * for the worker its name is; anonymous and other callers are judged by the OTP or session alone.
   */
  private void requireSameWorker(WorkerId claimed, String what) {
    var caller = Callers.principal();
    if (caller.role() == io.hodei.core.auth.Role.WORKER && !caller.name().equals(claimed.value())) {
      String why = "worker " + caller.name() + " may not " + what + " as worker " + claimed;
      audit.record(AuditEvent.Kind.PERMISSION_DENIED, claimed.value(), why);
      throw new PermissionDeniedException(why);
    }
  }

  private WorkerId authenticate(String workerId, String session) {
    return authenticated(workerId, session).info().id();
  }

  private WorkerRegistration authenticated(String workerId, String session) {
    if (workerId.isBlank() || session.isBlank()) {
      throw new AuthenticationException("worker id and session id are required");
    }
    WorkerId id = new WorkerId(workerId);
    var registration =
        workerStore
            .find(id)
            .filter(WorkerRegistration::active)
            .orElseThrow(() -> new AuthenticationException("unknown or retired worker " + id));
    if (!java.security.MessageDigest.isEqual(
        registration.sessionHash().getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        Secrets.sha256Hex(session).getBytes(java.nio.charset.StandardCharsets.US_ASCII))) {
      audit.record(AuditEvent.Kind.ATTACH_REFUSED, id.value(), id.value(), "a session that is not this worker's", Callers.remote());
      throw new AuthenticationException("session does not belong to worker " + id);
    }
    return registration;
  }

  /**
   * One attached worker stream. gRPC delivers its inbound messages one at a time, so the handler
   * methods never run concurrently for one connection; outbound sends may come from any thread and
   * are serialized by {@link #send}.
   */
  private final class Connection implements StreamObserver<WorkerMessage>, WorkerLink {
    private final ServerCallStreamObserver<ServerMessage> out;
    private volatile WorkerId worker; // set once by attach
    private boolean closed;
    private final Optional<PeerCertificate> peer;

    Connection(ServerCallStreamObserver<ServerMessage> out, Optional<PeerCertificate> peer) {
      this.out = out;
      this.peer = peer;
      out.setOnCancelHandler(this::detach);
    }

    @Override
    public void onNext(WorkerMessage message) {
      try {
        if (worker == null) {
          attach(message);
          return;
        }
        MDC.put("workerId", worker.value());
        registry.seen(worker);
        switch (message.getPayloadCase()) {
          case ACK -> {}
          case HEARTBEAT -> {
            if (message.getHeartbeat().getStatus() == io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING) {
              registry.draining(worker);
            }
            reconcile(message.getHeartbeat());
            usage.record(worker, message.getHeartbeat());
          }
          case JOB_STARTED -> {
            var started = message.getJobStarted();
            if (!assignedToMe(started.getJobId(), started.getExecutionId(), "start report")) {
              return;
            }
            jobs.start(
                new JobId(started.getJobId()),
                new ExecutionId(started.getExecutionId()),
                WireMapping.toDomain(started.getStartedAt()));
          }
          case LOG_BATCH -> {
            var batch = message.getLogBatch();
            if (assignedToMe(batch.getJobId(), batch.getExecutionId(), "log batch")) {
              append(batch);
            }
          }
          case JOB_RESULT -> {
            var result = message.getJobResult();
            if (assignedToMe(result.getJobId(), result.getExecutionId(), "result")) {
              complete(result);
            }
          }
          case ATTACH -> log.warn("worker {} attached twice on one stream; ignored", worker);
          case PAYLOAD_NOT_SET -> log.warn("empty message from worker {}; ignored", worker);
        }
      } catch (AuthenticationException | PermissionDeniedException | UnavailableException e) {
        // Unavailable: nothing was acknowledged, so the worker re-sends after it reconnects.
        fail(e);
      } catch (HodeiException e) {
        // A report about a job that moved on (cancelled, superseded): refused, stream kept.
        log.info("report from worker {} refused: {}", worker, e.getMessage());
      } catch (RuntimeException e) {
        fail(e);
      } finally {
        MDC.remove("workerId");
      }
    }

    /**
     * Whether a report about {@code executionId} may come from this worker. One about an execution
     * that another worker holds (or that belongs to another job than the one named) is refused
     * alone: it is audited, not applied, and answered with a cancel of that execution, which a
     * worker not running it ignores. The stream stays open, so the worker's own jobs go on; a
     * worker that is lying is stopped by deregistering it, not by this check. Stale executions of
     * this worker pass, and the handlers discard them as before.
     */
    private record Holder(JobId job, WorkerId worker) {}

    private boolean assignedToMe(String jobId, String executionId, String what) {
      var execution = new ExecutionId(executionId);
      var holder =
          jobs.findByExecution(execution)
              .flatMap(
                  job ->
                      job.current()
                          .filter(a -> a.executionId().equals(execution))
                          .map(a -> new Holder(job.id(), a.workerId())));
      if (holder.isEmpty()
          || (holder.get().job().equals(new JobId(jobId)) && holder.get().worker().equals(worker))) {
        return true;
      }
      String why =
          what + " for execution " + execution + " of job " + jobId
              + " refused: it is not assigned to worker " + worker;
      log.warn("{}", why);
      audit.record(AuditEvent.Kind.PERMISSION_DENIED, worker.value(), executionId, why, Callers.remote());
      lifecycle.forwardCancel(worker, jobId, executionId, why);
      return false;
    }

    private void attach(WorkerMessage message) {
      if (!message.hasAttach()) {
        throw new AuthenticationException("the first message on a worker stream must be attach");
      }
      requireOwnCertificate(peer, message.getAttach().getWorkerId());
      var registration =
          authenticated(message.getAttach().getWorkerId(), message.getAttach().getSessionId());
      WorkerId id = registration.info().id();
      requireSameWorker(id, "attach");
      if (registry.find(id).isEmpty()) {
        resume(registration);
      }
      // The store first: a replica that reads it afterwards sees this attach as the latest.
      workerStore.attach(id, replicaId);
      if (!registry.attach(id, this)) {
        throw new AuthenticationException("worker " + id + " is not registered with this server");
      }
      worker = id;
      provisioner.attached(id);
      send(ServerMessage.newBuilder().setAck(Ack.newBuilder().setKind(AckKind.ACK_KIND_ATTACHED)).build());
      send(io.hodei.server.workers.WorkerCommands.replicas(replicaAddresses.get()));
      log.info("worker {} attached its stream", id);
      workerFreed.run();
    }

    private void append(LogBatch batch) {
      if (batch.getLinesCount() == 0) {
        return;
      }
      JobId job = new JobId(batch.getJobId());
      var execution = new ExecutionId(batch.getExecutionId());
      var current = jobs.get(job);
      long stored;
      if (current.executionId().filter(execution::equals).isEmpty() || !current.state().isActive()) {
        // Output of an execution the job has moved past: not kept, but acknowledged so the
        // worker lets go of it.
        log.info("discarding log batch of stale execution {} of job {}", execution, job);
        stored = batch.getLines(batch.getLinesCount() - 1).getSequence() + 1;
      } else {
        stored = logIngest.ingest(current, batch);
        signals.signal(job);
      }
      send(
          ServerMessage.newBuilder()
              .setAck(
                  Ack.newBuilder()
                      .setExecutionId(execution.value())
                      .setKind(AckKind.ACK_KIND_LOG_BATCH)
                      .setLogSequence(stored))
              .build());
    }

    /**
     * Compares what the worker says it runs with what the store says it owns. It is told to drop
     * executions it no longer owns (it was presumed lost and the job moved on, or the job was
     * cancelled). A Scheduled job it does not know of after a grace period never reached it, and
     * goes back to the queue; a Running one it does not know of is settled as lost.
     */
    private void reconcile(WorkerHeartbeat heartbeat) {
      var reported = new java.util.HashSet<String>(heartbeat.getRunningExecutionIdsList());
      for (String executionId : reported) {
        var execution = new ExecutionId(executionId);
        var owner = jobs.findByExecution(execution);
        boolean owned =
            owner.isPresent()
                && owner.get().state().isActive()
                && owner.get().workerId().filter(worker::equals).isPresent();
        if (!owned) {
          log.info("worker {} runs execution {} it no longer owns; telling it to stop", worker, execution);
          lifecycle.forwardCancel(
              worker, owner.map(j -> j.id().value()).orElse(""), executionId, "this worker no longer owns the execution");
        }
      }
      var now = clock.instant();
      var view = registry.find(worker);
      if (view.isEmpty()) {
        return;
      }
      view.get()
          .running()
          .forEach(
              (execution, jobId) -> {
                if (reported.contains(execution.value())) {
                  return;
                }
                var job = jobs.get(jobId);
                var attempt = job.current().filter(a -> a.executionId().equals(execution));
                if (attempt.isEmpty() || !job.state().isActive()) {
                  registry.finished(worker, execution);
                  return;
                }
                if (attempt.get().scheduledAt().plus(heartbeatInterval.multipliedBy(2)).isAfter(now)) {
                  return; // the command may still be on its way
                }
                registry.finished(worker, execution);
                if (job.state() == io.hodei.core.job.JobState.SCHEDULED) {
                  jobs.returnToQueue(jobId, execution, "worker " + worker + " never received the job");
                } else {
                  jobs.settleLostExecution(
                      jobId, execution, "worker " + worker + " no longer runs the job");
                }
                workerFreed.run();
              });
    }
    private void complete(JobResult result) {
      JobId job = new JobId(result.getJobId());
      ExecutionId execution = new ExecutionId(result.getExecutionId());
      if (result.getOutcome() == io.hodei.api.v1.JobOutcome.JOB_OUTCOME_NOT_STARTED) {
        notStarted(job, execution, result.getErrorMessage());
        return;
      }
      Outcome outcome =
          switch (result.getOutcome()) {
            case JOB_OUTCOME_EXITED -> new Outcome.Exited(result.getExitCode());
            case JOB_OUTCOME_FAILED_TO_START -> new Outcome.FailedToStart(result.getErrorMessage());
            case JOB_OUTCOME_CANCELLED -> new Outcome.Cancelled(result.getErrorMessage());
            case JOB_OUTCOME_TIMED_OUT -> new Outcome.TimedOut();
            default ->
                new Outcome.FailedToStart(
                    "worker reported an unknown outcome " + result.getOutcomeValue());
          };
      try {
        jobs.finish(
            job,
            execution,
            outcome,
            result.hasStartedAt() ? WireMapping.toDomain(result.getStartedAt()) : clock.instant(),
            result.getDroppedLogLines());
      } catch (UnavailableException e) {
        throw e; // not persisted: no acknowledgement, the worker keeps the result
      } catch (HodeiException refused) {
        // Acknowledged all the same: a stale result will never be accepted, so the worker must
        // stop re-sending it.
        log.info("result of execution {} refused: {}", execution, refused.getMessage());
      }
      send(
          ServerMessage.newBuilder()
              .setAck(
                  Ack.newBuilder()
                      .setExecutionId(execution.value())
                      .setKind(AckKind.ACK_KIND_JOB_RESULT))
              .build());
      registry.finished(worker, execution);
      signals.signal(job);
      workerFreed.run();
    }

    /** A run_job the worker refused before starting anything: back to the queue, no attempt spent. */
    private void notStarted(JobId job, ExecutionId execution, String why) {
      try {
        jobs.returnToQueue(job, execution, "worker " + worker + " did not start it (" + LogSafe.text(why) + ")");
      } catch (UnavailableException e) {
        throw e;
      } catch (HodeiException stale) {
        log.info("not-started report for execution {} refused: {}", execution, stale.getMessage());
      }
      send(
          ServerMessage.newBuilder()
              .setAck(Ack.newBuilder().setExecutionId(execution.value()).setKind(AckKind.ACK_KIND_JOB_RESULT))
              .build());
      registry.finished(worker, execution);
      signals.signal(job);
      workerFreed.run();
    }

    @Override
    public void onError(Throwable t) {
      log.debug("stream of worker {} broke: {}", worker, t.toString());
      detach();
    }

    @Override
    public void onCompleted() {
      detach();
      close();
    }

    @Override
    public synchronized boolean send(ServerMessage message) {
      if (closed || out.isCancelled()) {
        return false;
      }
      try {
        out.onNext(message);
        return true;
      } catch (RuntimeException e) {
        closed = true;
        return false;
      }
    }

    @Override
    public synchronized void close() {
      if (!closed) {
        closed = true;
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          log.trace("closing a broken worker stream", e);
        }
      }
    }

    private synchronized void fail(RuntimeException e) {
      if (!closed) {
        closed = true;
        detach();
        try {
          out.onError(GrpcErrors.toStatus(e));
        } catch (RuntimeException ignored) {
          log.trace("failing a broken worker stream", ignored);
        }
      }
    }

    private void detach() {
      WorkerId id = worker;
      if (id != null) {
        registry.detach(id, this);
      }
    }
  }
}
