package io.hodei.worker;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.AckKind;
import io.hodei.api.v1.Attach;
import io.hodei.api.v1.CancelJobCommand;
import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.RunJobCommand;
import io.hodei.api.v1.UnregisterRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.api.v1.WorkerStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker: registers with its one-time token, keeps one stream to the control plane attached
 * (reconnecting when it breaks), runs the jobs the server sends, and reports their output and
 * results.
 *
 * <p>Lifecycle: {@link #start()} returns at once; the agent then runs until {@link #shutdown()}
 * (graceful: running jobs are killed and reported CANCELLED, the worker unregisters) or until it
 * has to give up: the server refused its token or session ({@link
 * WorkerExit#AUTHENTICATION_FAILED}), or it stayed unreachable past the reconnect deadline
 * ({@link WorkerExit#SERVER_UNREACHABLE}). {@link #awaitTermination} and {@link #awaitExit()}
 * wait for the end.
 *
 * <p>Threads, all virtual: one supervisor (registration, connecting, reconnecting, stopping); the
 * outbox's single sender; one heartbeat ticker; one resource sampler ({@link UsageSampler}, whose
 * newest sample heartbeats carry); per job, one execution thread plus one reader per
 * output pipe, and one for its kill when it is stopped. gRPC's own threads only deliver server
 * messages, which are handled without blocking.
 *
 * <p>Invariants: an execution id is run at most once (a repeated {@code run_job} is only acked);
 * once shutdown has begun no job is started (one lock orders the two); log batches and results
 * stay in the outbox until the server acknowledges them, across reconnects, and are sent again on
 * every new stream, an execution's logs always before its result; every job runs in a process
 * group of its own when {@code setsid} is on the PATH, and is killed through {@link
 * ProcessKiller}, whether cancelled, timed out or stopped with the worker.
 */
public final class WorkerAgent {
  private static final Logger log = LoggerFactory.getLogger(WorkerAgent.class);

  private static final List<String> CAPABILITIES = List.of("shell", "script");
  private static final Duration REGISTER_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration ATTACH_TIMEOUT = Duration.ofSeconds(20);
  private static final Duration DEFAULT_HEARTBEAT_INTERVAL = Duration.ofSeconds(10);
  private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration HALF_CLOSE_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration UNREGISTER_TIMEOUT = Duration.ofSeconds(5);
  private static final Duration JOB_STOP_EXTRA = Duration.ofSeconds(5);
  private static final int REMEMBERED_EXECUTIONS = 1024;
  private static final Set<Status.Code> RETRYABLE_REGISTRATION =
      EnumSet.of(
          Status.Code.UNAVAILABLE,
          Status.Code.DEADLINE_EXCEEDED,
          Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.ABORTED,
          Status.Code.INTERNAL,
          Status.Code.UNKNOWN);

  private static final Duration RENEWAL_CHECK = Duration.ofMinutes(1);
  private static final Duration RENEWAL_RETRY = Duration.ofSeconds(30);

  private final WorkerConfig config;
  private final ScriptWorkspace workspace;
  private final JobSandbox sandbox;
  private final ProcessLauncher launcher;
  private final ProcessKiller killer;
  private final Outbox outbox;
  private final UsageSampler usage;
  private final CompletableFuture<Void> shutdownRequested = new CompletableFuture<>();
  private final CompletableFuture<Void> heartbeatsStopped = new CompletableFuture<>();
  private final CompletableFuture<WorkerExit> terminated = new CompletableFuture<>();
  private final StreamSession.Inbound inbound =
      new StreamSession.Inbound() {
        @Override
        public void runJob(StreamSession from, RunJobCommand command) {
          acceptRunJob(from, command);
        }

        @Override
        public void cancelJob(CancelJobCommand command) {
          acceptCancelJob(command);
        }

        @Override
        public void replicas(io.hodei.api.v1.ReplicaList list) {
          var known = replicas;
          if (known == null) {
            return;
          }
          try {
            known.update(list.getAddressesList().stream().map(ServerAddress::parse).toList());
          } catch (IllegalArgumentException e) {
            log.warn("the server sent a replica list with an address that is none: {}", e.getMessage());
          }
        }
      };

  private final Object jobsLock = new Object();
  private final Map<String, JobExecution> running = new ConcurrentHashMap<>();
  // Guarded by jobsLock.
  private final Set<String> finished = new LinkedHashSet<>();
  private boolean takingJobs = true;

  private final Object startLock = new Object();
  // Guarded by startLock.
  private boolean started;

  private ManagedChannel channel;
  /** Where the channel connects: the replicas, as last told. */
  private volatile ServerChannel.Replicas replicas;
  private Optional<WorkerIdentity> identity = Optional.empty();
  private WorkerAgentServiceGrpc.WorkerAgentServiceBlockingStub blockingStub;
  private WorkerAgentServiceGrpc.WorkerAgentServiceStub asyncStub;

  /**
   * Environment variable choosing how jobs start: {@code posix_spawn} (the default where
   * available: one exec per job) or {@code jdk} ({@link ProcessBuilder}, with {@code setsid}).
   */
  static final String ENV_PROCESS_LAUNCHER = "HODEI_PROCESS_LAUNCHER";

  private static Optional<PosixSpawner> spawner(Map<String, String> env) {
    String choice = env.getOrDefault(ENV_PROCESS_LAUNCHER, "").strip();
    switch (choice) {
      case "", "posix_spawn" -> {
        return PosixSpawner.load();
      }
      case "jdk" -> {
        return Optional.empty();
      }
      default -> {
        log.warn("{}={} is not posix_spawn or jdk; using the default", ENV_PROCESS_LAUNCHER, choice);
        return PosixSpawner.load();
      }
    }
  }

  public WorkerAgent(WorkerConfig config) {
    this(config, System.getenv());
  }

  /** {@code workerEnvironment}: what jobs inherit (minus the token); in production, the JVM's. */
  WorkerAgent(WorkerConfig config, Map<String, String> workerEnvironment) {
    this.config = config;
    this.workspace = new ScriptWorkspace(config.tempRoot());
    String path = workerEnvironment.get("PATH");
    Optional<Path> setsid = Executables.find("setsid", path);
    Optional<Path> kill = Executables.find("kill", path);
    if (setsid.isEmpty() || kill.isEmpty()) {
      String missing = setsid.isEmpty() ? (kill.isEmpty() ? "setsid and kill" : "setsid") : "kill";
      log.warn(
          "{} not found on PATH: jobs run in the worker's process group, and killing a job"
              + " reaches only the processes still descended from it (orphans survive)",
          missing);
      setsid = Optional.empty();
      kill = Optional.empty();
    }
    // A job in a group of its own is only worth it when the group can be signalled (kill).
    Optional<PosixSpawner> spawner = kill.isPresent() ? spawner(workerEnvironment) : Optional.empty();
    this.sandbox = JobSandbox.detect(workerEnvironment, config.tempRoot());
    this.launcher = new ProcessLauncher(sandbox, setsid, spawner);
    if (!sandbox.degraded().isEmpty()) {
      log.warn("job isolation is degraded: {}", String.join("; ", sandbox.degraded()));
    }
    log.info("jobs start through {}", launcher.method());
    this.killer = new ProcessKiller(kill, config.killGracePeriod());
    this.outbox = new Outbox(config.outboxCapacity());
    this.usage = UsageSampler.forThisProcess(config.metricsTtl(), this::jobProcesses);
  }

  /** Starts registering and connecting in the background. At most once. */
  public void start() {
    synchronized (startLock) {
      if (started) {
        throw new IllegalStateException("the agent was already started");
      }
      started = true;
      if (shutdownRequested.isDone()) {
        terminated.complete(WorkerExit.COMPLETED);
        return;
      }
      identity = config.tls().map(WorkerIdentity::load);
      var opened = ServerChannel.open(ServerAddress.parseList(config.serverAddress()), identity);
      channel = opened.channel();
      replicas = opened.replicas();
      blockingStub = WorkerAgentServiceGrpc.newBlockingStub(channel);
      asyncStub = WorkerAgentServiceGrpc.newStub(channel);
      Thread.ofVirtual().name("worker-supervisor").start(this::supervise);
      identity.ifPresent(
          id -> Thread.ofVirtual().name("renew-certificate").start(() -> renewCertificates(id)));
    }
  }

  /**
   * Begins a graceful stop: no new jobs (the next heartbeat, sent at once, says DRAINING), running
   * ones may finish within the drain timeout and are then killed and reported CANCELLED, results
   * are delivered if the server is there, then {@code Unregister} and the channel closed. Returns
   * at once; idempotent.
   */
  public void shutdown() {
    synchronized (startLock) {
      shutdownRequested.complete(null);
      if (!started) {
        started = true;
        terminated.complete(WorkerExit.COMPLETED);
      }
    }
  }

  /** Waits for the agent to end; true if it did within {@code timeout}. */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("the agent's termination can't fail", e);
    }
  }

  /** Waits for the agent to end and says how it ended. */
  public WorkerExit awaitExit() throws InterruptedException {
    try {
      return terminated.get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("the agent's termination can't fail", e);
    }
  }

  /** How the agent ended, once it has. */
  public Optional<WorkerExit> exitStatus() {
    return Optional.ofNullable(terminated.getNow(null));
  }

  /** Diagnostics for tests: how often output waited for the stream to become ready. */
  long outboxNotReadyWaits() {
    return outbox.notReadyWaits();
  }

  /** Diagnostics for tests: log batches sent and not yet acknowledged by the server. */
  int unacknowledgedLogBatches() {
    return outbox.unacknowledgedLogBatches();
  }

  /** Diagnostics for tests: executions whose result the server has not acknowledged yet. */
  List<String> resultsAwaitingAcknowledgement() {
    return outbox.resultsAwaitingAcknowledgement();
  }

  // ---- Server commands (gRPC threads; must not block) ----

  private void acceptRunJob(StreamSession from, RunJobCommand command) {
    String executionId = command.getExecutionId();
    try (var _ = JobLogContext.enter(command.getJobId(), executionId)) {
      outbox.sendNow(from, StreamSession.ack(executionId, AckKind.ACK_KIND_RUN_JOB));
      JobExecution job;
      synchronized (jobsLock) {
        if (running.containsKey(executionId) || finished.contains(executionId)) {
          log.info("run_job again for an execution this worker already has; acknowledged only");
          return;
        }
        if (!takingJobs) {
          log.info("run_job while shutting down; reporting it not started");
          Thread.ofVirtual().name("reject-" + executionId).start(() -> reportRejected(command));
          return;
        }
        job = new JobExecution(command, launcher, outbox, killer, config);
        running.put(executionId, job);
      }
      log.info("run_job received (attempt {})", command.getAttempt());
      Thread.ofVirtual().name("job-" + executionId).start(() -> runToEnd(job));
    }
  }

  /**
   * Stops the execution, whether the user cancelled it or the server moved it on (it presumed
   * this worker lost): reported CANCELLED with the command's reason. An execution still being
   * started is killed once started. Cancels of executions that aren't running here (any more)
   * are ignored: the server may send them for executions that already ended.
   */
  private void acceptCancelJob(CancelJobCommand command) {
    try (var _ = JobLogContext.enter(command.getJobId(), command.getExecutionId())) {
      JobExecution job = running.get(command.getExecutionId());
      if (job == null) {
        log.debug("cancel_job for an execution that isn't running here; ignored");
        return;
      }
      String reason = command.getReason().isBlank() ? "cancelled" : command.getReason();
      job.stop(JobOutcome.JOB_OUTCOME_CANCELLED, reason);
    }
  }

  private void runToEnd(JobExecution job) {
    try {
      job.run();
    } finally {
      synchronized (jobsLock) {
        running.remove(job.executionId());
        finished.add(job.executionId());
        if (finished.size() > REMEMBERED_EXECUTIONS) {
          finished.remove(finished.iterator().next());
        }
      }
    }
  }

  private void reportRejected(RunJobCommand command) {
    JobResult result =
        JobResult.newBuilder()
            .setJobId(command.getJobId())
            .setExecutionId(command.getExecutionId())
            .setOutcome(JobOutcome.JOB_OUTCOME_NOT_STARTED)
            .setExitCode(-1)
            .setErrorMessage("worker shutting down")
            .setFinishedAt(Protos.timestamp(Instant.now()))
            .build();
    try {
      outbox.enqueue(WorkerMessage.newBuilder().setJobResult(result).build());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted; the rejection of {} was not sent", command.getExecutionId());
    }
  }

  // ---- Supervisor ----

  /** Thrown inside the supervisor to end the agent with {@code exit}. */
  private static final class Stop extends Exception {
    private final WorkerExit exit;

    Stop(WorkerExit exit) {
      super(exit.name(), null, false, false);
      this.exit = exit;
    }
  }

  private void supervise() {
    WorkerExit exit = WorkerExit.FAILED;
    try {
      exit = runUntilDone();
    } catch (Stop stop) {
      exit = stop.exit;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.error("the worker's supervisor was interrupted; stopping");
    } catch (RuntimeException e) {
      log.error("the worker failed", e);
    } finally {
      releaseEverything(exit);
      log.info("worker stopped: {} (exit code {})", exit, exit.code());
      terminated.complete(exit);
    }
  }

  private WorkerExit runUntilDone() throws Stop, InterruptedException {
    try {
      workspace.removeLeftovers();
    } catch (IOException e) {
      log.error("can't prepare the worker's temp directory {}: {}", workspace.root(), e.toString());
      throw new Stop(WorkerExit.FAILED);
    }
    usage.start();
    Optional<RegisterResponse> registration = register();
    if (registration.isEmpty()) {
      return WorkerExit.COMPLETED; // shut down before the server could be reached
    }
    String sessionId = registration.get().getSessionId();
    Duration heartbeatInterval =
        registration.get().hasHeartbeatInterval()
            ? Protos.duration(registration.get().getHeartbeatInterval())
            : Duration.ZERO;
    if (heartbeatInterval.isZero() || heartbeatInterval.isNegative()) {
      heartbeatInterval = DEFAULT_HEARTBEAT_INTERVAL;
    }
    log.info("registered; heartbeat every {}", heartbeatInterval);
    Thread.ofVirtual().name("worker-sender").start(outbox::runSender);
    Duration interval = heartbeatInterval;
    Thread.ofVirtual().name("worker-heartbeat").start(() -> beatEvery(interval));

    Attach attach =
        Attach.newBuilder().setWorkerId(config.workerId()).setSessionId(sessionId).build();
    StreamSession session = connectUntilShutdown(attach);
    return stopGracefully(session, sessionId, attach);
  }

  private Optional<RegisterResponse> register() throws Stop, InterruptedException {
    HostFacts host = HostFacts.detect();
    RegisterRequest request =
        RegisterRequest.newBuilder()
            .setAuthToken(config.token())
            .setWorkerInfo(
                WorkerInfo.newBuilder()
                    .setWorkerId(config.workerId())
                    .setName(config.name())
                    .setVersion(version())
                    .setHostname(host.hostname())
                    .setIpAddress(host.ipAddress())
                    .setCapacity(
                        ResourceSpec.newBuilder()
                            .setCpuCores(host.cpuCores())
                            .setMemoryBytes(host.memoryBytes()))
                    .addAllCapabilities(CAPABILITIES)
                    .addAllIsolationDegraded(sandbox.degraded())
                    .putAllLabels(config.labels()))
            .build();
    Backoff backoff = newBackoff();
    long deadline = System.nanoTime() + config.reconnect().deadline().toNanos();
    log.info("registering with {} as {}", config.serverAddress(), config.workerId());
    while (!shutdownRequested.isDone()) {
      try {
        return Optional.of(
            blockingStub
                .withDeadlineAfter(REGISTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                .register(request));
      } catch (StatusRuntimeException e) {
        Status status = e.getStatus();
        if (status.getCode() == Status.Code.UNAUTHENTICATED) {
          log.error(
              "the server refused the registration token ({}); a one-time token can't be"
                  + " retried, the worker needs a new one",
              describe(status));
          throw new Stop(WorkerExit.AUTHENTICATION_FAILED);
        }
        if (!RETRYABLE_REGISTRATION.contains(status.getCode())) {
          log.error("the server refused the registration: {}", describe(status));
          throw new Stop(WorkerExit.FAILED);
        }
        if (System.nanoTime() - deadline > 0) {
          log.error(
              "gave up registering: the server was unreachable for {} ({})",
              config.reconnect().deadline(), describe(status));
          throw new Stop(WorkerExit.SERVER_UNREACHABLE);
        }
        Duration delay = backoff.nextDelay();
        log.warn("registration failed ({}); retrying in {} ms", describe(status), delay.toMillis());
        if (shutdownWithin(delay)) {
          break;
        }
      }
    }
    return Optional.empty();
  }

  /** How long a stream must stay attached before its end resets the reconnect backoff. */
  static final Duration STABLE_STREAM = Duration.ofSeconds(10);

  /**
   * Keeps a stream attached until shutdown is requested; returns the last stream (attached or
   * not), or throws {@link Stop} when the session is refused or the reconnect deadline passes.
   */
  private StreamSession connectUntilShutdown(Attach attach) throws Stop, InterruptedException {
    Backoff backoff = newBackoff();
    long lastAttached = System.nanoTime();
    StreamSession session = null;
    int number = 0;
    while (!shutdownRequested.isDone()) {
      session = StreamSession.open(asyncStub, outbox, inbound, attach, ++number);
      switch (awaitAttach(session)) {
        case ATTACHED -> {
          long attachedAt = System.nanoTime();
          log.info("stream {} attached", number);
          outbox.offerHeartbeat(heartbeat());
          awaitEither(session.ended(), shutdownRequested);
          if (!session.ended().isDone()) {
            return session; // shutdown requested
          }
          log.warn("stream {} lost: {}; reconnecting", number, describe(session.ended().join()));
          lastAttached = System.nanoTime();
          // Only a stream that held counts as a recovery: one the server ends at once (its store
          // failing, say) must not reset the backoff, or the worker would reconnect in a loop.
          if (lastAttached - attachedAt >= STABLE_STREAM.toNanos()) {
            backoff.reset();
          }
        }
        case REFUSED -> {
          Status status = session.ended().join();
          if (status.getCode() == Status.Code.UNAUTHENTICATED) {
            log.error(
                "the server refused this worker's session ({}); it must register anew",
                describe(status));
            throw new Stop(WorkerExit.AUTHENTICATION_FAILED);
          }
          log.warn("stream {} failed before attaching: {}", number, describe(status));
        }
        case NO_ANSWER -> {
          log.warn("stream {}: no attach ack within {}; trying again", number, ATTACH_TIMEOUT);
          outbox.terminate(session, true, "no attach ack");
        }
        case SHUT_DOWN -> {
          return session;
        }
      }
      if (System.nanoTime() - lastAttached > config.reconnect().deadline().toNanos()) {
        log.error("no stream to the server for {}; giving up", config.reconnect().deadline());
        throw new Stop(WorkerExit.SERVER_UNREACHABLE);
      }
      Duration delay = backoff.nextDelay();
      log.info("reconnecting in {} ms", delay.toMillis());
      if (shutdownWithin(delay)) {
        break;
      }
    }
    return session;
  }

  /**
   * While stopping, with results the server has not acknowledged and no stream: attaches again
   * (with backoff, within the reconnect deadline) so that the outbox re-sends them. Returns the
   * stream that attached, or the last one tried.
   */
  private StreamSession reattachToDeliver(Attach attach, StreamSession last) throws InterruptedException {
    Backoff backoff = newBackoff();
    long deadline = System.nanoTime() + config.reconnect().deadline().toNanos();
    StreamSession session = last;
    int number = 1000;
    while (!outbox.resultsAwaitingAcknowledgement().isEmpty() && System.nanoTime() - deadline < 0) {
      log.info("stopping with {} result(s) not yet acknowledged and no stream; attaching again to deliver them",
          outbox.resultsAwaitingAcknowledgement().size());
      session = StreamSession.open(asyncStub, outbox, inbound, attach, ++number);
      try {
        CompletableFuture.anyOf(session.attached(), session.ended()).get(ATTACH_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        outbox.terminate(session, true, "no attach ack");
      } catch (ExecutionException e) {
        throw new IllegalStateException("these futures never fail", e);
      }
      if (session.attached().isDone() && !session.ended().isDone()) {
        return session;
      }
      if (session.ended().isDone() && session.ended().join().getCode() == Status.Code.UNAUTHENTICATED) {
        log.error("the server refused this worker's session while it was stopping; {} result(s) stay undelivered",
            outbox.resultsAwaitingAcknowledgement().size());
        return session;
      }
      Thread.sleep(backoff.nextDelay());
    }
    return session;
  }

  private enum AttachOutcome {
    ATTACHED,
    REFUSED,
    NO_ANSWER,
    SHUT_DOWN
  }

  private AttachOutcome awaitAttach(StreamSession session) throws InterruptedException {
    try {
      CompletableFuture.anyOf(session.attached(), session.ended(), shutdownRequested)
          .get(ATTACH_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      return AttachOutcome.NO_ANSWER;
    } catch (ExecutionException e) {
      throw new IllegalStateException("these futures never fail", e);
    }
    if (session.attached().isDone()) {
      return AttachOutcome.ATTACHED;
    }
    return session.ended().isDone() ? AttachOutcome.REFUSED : AttachOutcome.SHUT_DOWN;
  }

  private WorkerExit stopGracefully(StreamSession session, String sessionId, Attach attach)
      throws InterruptedException {
    log.info("shutting down");
    drain(session, config.drainTimeout());
    stopJobs(
        config.drainTimeout().isZero()
            ? "worker shutting down"
            : "worker shutting down: still running after the drain timeout of "
                + config.drainTimeout().toString().substring(2).toLowerCase(java.util.Locale.ROOT));
    boolean attached =
        session != null && session.attached().isDone() && !session.ended().isDone();
    if (!attached && !outbox.resultsAwaitingAcknowledgement().isEmpty()) {
      // The stream dropped while draining: what the jobs ended with must still reach the server.
      session = reattachToDeliver(attach, session);
      attached = session != null && session.attached().isDone() && !session.ended().isDone();
    }
    if (attached) {
      if (!outbox.awaitSettled(SETTLE_TIMEOUT)) {
        log.warn(
            "shutting down with {} result(s) and {} log batch(es) the server has not acknowledged",
            outbox.resultsAwaitingAcknowledgement().size(), outbox.unacknowledgedLogBatches());
      }
      outbox.terminate(session, false, "worker shutting down");
      try {
        session.ended().get(HALF_CLOSE_TIMEOUT.toNanos(), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        log.debug("the server did not close the stream in {}; cancelling it", HALF_CLOSE_TIMEOUT);
        outbox.terminate(session, true, "worker shutting down");
      } catch (ExecutionException e) {
        throw new IllegalStateException("ended() never fails", e);
      }
    } else if (session != null) {
      outbox.terminate(session, true, "worker shutting down");
    }
    try {
      blockingStub
          .withDeadlineAfter(UNREGISTER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .unregister(
              UnregisterRequest.newBuilder()
                  .setWorkerId(config.workerId())
                  .setSessionId(sessionId)
                  .setReason("worker shutting down")
                  .build());
      log.info("unregistered");
    } catch (StatusRuntimeException e) {
      log.warn("could not unregister: {}", describe(e.getStatus()));
    }
    return WorkerExit.COMPLETED;
  }

  /**
   * Refuses new jobs, tells the server at once (a DRAINING heartbeat, when attached), and waits up
   * to {@code timeout} for the running jobs to end by themselves.
   */
  private void drain(StreamSession session, Duration timeout) throws InterruptedException {
    List<JobExecution> jobs;
    synchronized (jobsLock) {
      takingJobs = false;
      jobs = new ArrayList<>(running.values());
    }
    if (session != null && session.attached().isDone() && !session.ended().isDone()) {
      outbox.offerHeartbeat(heartbeat());
    }
    if (jobs.isEmpty() || timeout.isZero()) {
      return;
    }
    log.info("draining: {} running job(s) may finish within {}", jobs.size(), timeout);
    long deadline = System.nanoTime() + timeout.toNanos();
    for (JobExecution job : jobs) {
      long left = deadline - System.nanoTime();
      if (left <= 0 || !job.awaitEnd(Duration.ofNanos(left))) {
        return;
      }
    }
    log.info("drained: every running job ended");
  }

  /** Refuses new jobs, kills the running ones (reported CANCELLED) and waits for their results. */
  private void stopJobs(String reason) throws InterruptedException {
    List<JobExecution> jobs;
    synchronized (jobsLock) {
      takingJobs = false;
      jobs = new ArrayList<>(running.values());
    }
    if (jobs.isEmpty()) {
      return;
    }
    log.info("stopping {} running job(s): {}", jobs.size(), reason);
    for (JobExecution job : jobs) {
      try (var _ = JobLogContext.enter(job.jobId(), job.executionId())) {
        job.stop(JobOutcome.JOB_OUTCOME_CANCELLED, reason);
      }
    }
    long deadline = System.nanoTime() + config.killGracePeriod().plus(JOB_STOP_EXTRA).toNanos();
    for (JobExecution job : jobs) {
      long left = Math.max(1, deadline - System.nanoTime());
      if (!job.awaitEnd(Duration.ofNanos(left))) {
        log.warn("execution {} has not ended yet", job.executionId());
      }
    }
  }

  /** Always runs last: nothing survives the agent, whatever way it ends. */
  private void releaseEverything(WorkerExit exit) {
    heartbeatsStopped.complete(null);
    usage.close();
    outbox.close(); // unblocks jobs waiting for room; anything they still send is dropped
    try {
      if (!running.isEmpty()) {
        stopJobs("worker stopping: " + exit);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      log.warn("interrupted while stopping jobs");
    }
    if (running.isEmpty()) {
      sandbox.close();
    }
    outbox.stopSender();
    if (channel != null) {
      channel.shutdown();
      try {
        if (!channel.awaitTermination(2, TimeUnit.SECONDS)) {
          channel.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        channel.shutdownNow();
      }
    }
  }

  // ---- Certificate renewal ----

  /** The certificate the worker presents to new connections, when it talks mTLS. */
  public Optional<java.security.cert.X509Certificate> certificate() {
    return identity.map(WorkerIdentity::current);
  }

  /** Whole days the worker's certificate has left, when it talks mTLS; for metrics. */
  public Optional<Long> certificateDaysLeft() {
    return identity.map(WorkerIdentity::daysLeft);
  }

  /**
   * Renews the worker's certificate over the channel two thirds into its lifetime, and warns
   * once per check while less than a third is left. A failed renewal is retried every {@link
   * #RENEWAL_RETRY}; the old certificate keeps working meanwhile. Ends when the agent terminates.
   */
  private void renewCertificates(WorkerIdentity id) {
    while (true) {
      Instant now = Instant.now();
      Duration wait = Duration.between(now, id.renewAt());
      if (!wait.isPositive() && id.renewable()) {
        try {
          var renewed =
              blockingStub
                  .withDeadlineAfter(10, TimeUnit.SECONDS)
                  .renewCertificate(
                      io.hodei.api.v1.RenewCertificateRequest.newBuilder().setWorkerId(config.workerId()).build());
          id.replace(renewed.getCertificatePem(), renewed.getPrivateKeyPem());
          log.info("renewed the worker certificate; new serial {}, valid until {}",
              id.current().getSerialNumber().toString(16), id.current().getNotAfter().toInstant());
          continue;
        } catch (StatusRuntimeException | IllegalArgumentException e) {
          log.warn("renewing the worker certificate failed; retrying in {}: {}", RENEWAL_RETRY, e.getMessage());
          id.warnIfExpiringSoon(now);
          wait = RENEWAL_RETRY;
        }
      } else if (!wait.isPositive()) {
        id.warnIfExpiringSoon(now); // file-based: an operator replaces the files
        wait = RENEWAL_CHECK;
      }
      try {
        terminated.get(Math.min(wait.toMillis(), RENEWAL_CHECK.toMillis()), TimeUnit.MILLISECONDS);
        id.close();
        return;
      } catch (TimeoutException e) {
        // time to look again
      } catch (ExecutionException e) {
        id.close();
        return;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // ---- Heartbeats ----

  private void beatEvery(Duration interval) {
    while (true) {
      try {
        heartbeatsStopped.get(interval.toNanos(), TimeUnit.NANOSECONDS);
        return;
      } catch (TimeoutException e) {
        outbox.offerHeartbeat(heartbeat());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        log.warn("heartbeat ticker interrupted; no more heartbeats");
        return;
      } catch (ExecutionException e) {
        throw new IllegalStateException("heartbeatsStopped never fails", e);
      }
    }
  }

  /**
   * The worker's state as the server needs it.
   *
   * <p>{@code running_execution_ids}: every execution this worker still answers for, that is
   * every execution whose process is running (or being started: from the accepted {@code
   * run_job} until its result is queued) and every execution whose result the server has not
   * acknowledged yet (queued, written or to be sent again). The server relies on it to tell a
   * returning worker to drop executions it no longer owns, and to requeue scheduled jobs whose
   * {@code run_job} this worker never received. An execution's result is queued before the
   * execution leaves {@link #running}, and the two are read in that order, so an execution
   * moving from one to the other is never missed.
   *
   * <p>{@code status}: BUSY while a process runs (or is being started), READY when none does,
   * even with results still awaiting acknowledgement; DRAINING once the worker is shutting down.
   */
  private WorkerMessage heartbeat() {
    Set<String> executions = new LinkedHashSet<>(running.keySet());
    boolean runningNothing = executions.isEmpty();
    executions.addAll(outbox.resultsAwaitingAcknowledgement());
    WorkerStatus status;
    synchronized (jobsLock) {
      if (!takingJobs) {
        status = WorkerStatus.WORKER_STATUS_DRAINING;
      } else if (runningNothing) {
        status = WorkerStatus.WORKER_STATUS_READY;
      } else {
        status = WorkerStatus.WORKER_STATUS_BUSY;
      }
    }
    WorkerHeartbeat.Builder heartbeat =
        WorkerHeartbeat.newBuilder()
            .setStatus(status)
            .addAllRunningExecutionIds(executions)
            .setAt(Protos.timestamp(Instant.now()));
    usage
        .latest()
        .ifPresent(
            sample ->
                heartbeat
                    .setUsage(sample.usage())
                    .setHostUsage(sample.host())
                    .addAllJobUsage(sample.jobs()));
    return WorkerMessage.newBuilder().setHeartbeat(heartbeat).build();
  }

  /** The processes of the running jobs, for the usage sampler; never blocks. */
  private List<UsageSampler.JobProcess> jobProcesses() {
    List<UsageSampler.JobProcess> processes = new ArrayList<>();
    for (JobExecution job : running.values()) {
      job.process().ifPresent(processes::add);
    }
    return processes;
  }

  // ---- Helpers ----

  private Backoff newBackoff() {
    return new Backoff(config.reconnect().initialBackoff(), config.reconnect().maxBackoff());
  }

  /** Sleeps for {@code delay} unless shutdown is requested first; true if it was. */
  private boolean shutdownWithin(Duration delay) throws InterruptedException {
    try {
      shutdownRequested.get(delay.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new IllegalStateException("shutdownRequested never fails", e);
    }
  }

  private static void awaitEither(CompletableFuture<?> one, CompletableFuture<?> other)
      throws InterruptedException {
    try {
      CompletableFuture.anyOf(one, other).get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("these futures never fail", e);
    }
  }

  private static String describe(Status status) {
    return status.getDescription() == null
        ? status.getCode().toString()
        : status.getCode() + ": " + status.getDescription();
  }

  private static String version() {
    String version = WorkerAgent.class.getPackage().getImplementationVersion();
    return version == null ? "dev" : version;
  }
}
