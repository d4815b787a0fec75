package io.hodei.server;

import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.hodei.core.Storage;
import io.hodei.core.job.JobId;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobState;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.core.auth.TokenService;
import io.hodei.server.api.AdminApi;
import io.hodei.server.auth.AuthInterceptor;
import io.hodei.server.auth.RegistrationThrottle;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.server.api.GrpcErrors;
import io.hodei.server.api.JobExecutionApi;
import io.hodei.server.api.JobSignals;
import io.hodei.server.api.LogStreamApi;
import io.hodei.server.api.MetricsApi;
import io.hodei.server.api.PeerCertificate;
import io.hodei.server.api.ProviderApi;
import io.hodei.server.api.SchedulerApi;
import io.hodei.server.api.WorkerAgentApi;
import io.hodei.server.api.WorkerJobApi;
import io.hodei.server.metrics.UsageHistory;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.server.scheduling.Dispatcher;
import io.hodei.server.workers.SilentWorkerCheck;
import io.hodei.server.workers.WorkerLifecycle;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.core.provider.WorkerCredentials;
import io.hodei.security.ReloadingTls;
import io.hodei.security.WorkerCertificateIssuer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The control plane: gRPC services, the scheduling loop and worker housekeeping, wired over the
 * given stores and provider pools. Lifecycle: {@link #start()}, then {@link #close()}.
 */
public final class HodeiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(HodeiServer.class);
  private static final Duration HEALTH_CHECK_EVERY = Duration.ofSeconds(30);
  private static final Duration ORPHAN_CHECK_EVERY = Duration.ofMinutes(1);

  private final ServerConfig config;
  private final Storage stores;
  private final Clock clock;
  private final JobService jobService;
  private final JobSignals signals = new JobSignals();
  private final WorkerRegistry registry;
  private final Provisioner provisioner;
  private final WorkerLifecycle lifecycle;
  private final Dispatcher dispatcher;
  private final io.hodei.core.scheduling.Scheduler scheduler;
  private final WorkerAgentApi workerApi;
  private final UsageHistory usage;
  private final SilentWorkerCheck silentWorkers;
  private final Optional<WorkerCertificateIssuer> workerCertificates;
  private volatile Optional<ReloadingTls> tls = Optional.empty();
  private final SecurityAudit audit;
  private final TokenService tokens;
  private final ExecutorService callExecutor = Executors.newVirtualThreadPerTaskExecutor();
  private volatile Server server;
  private volatile String address;
  private volatile boolean running;
  private Thread housekeeping;
  private final io.grpc.protobuf.services.HealthStatusManager readiness = new io.grpc.protobuf.services.HealthStatusManager();

  /**
   * The gRPC health service's name for liveness: serving from start to shutdown, whatever the
   * database does, for an orchestrator's liveness probe (restarting a replica cannot mend its
   * database). Readiness is the overall status (service {@code ""}), also named {@value
   * #READINESS_SERVICE}.
   */
  public static final String LIVENESS_SERVICE = "liveness";

  /** The gRPC health service's name for readiness: the overall status, serving while the store can write. */
  public static final String READINESS_SERVICE = "readiness";

  {
    readiness.setStatus(LIVENESS_SERVICE, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    readiness.setStatus(READINESS_SERVICE, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
  }
  private Thread orphanSweeper;
  private final io.hodei.server.metrics.ServerMetrics metrics;
  private final io.hodei.server.cluster.Membership membership;
  private final io.hodei.server.cluster.ClusterChanges clusterChanges;
  private final io.hodei.server.cluster.SampleRelay sampleRelay;

  public HodeiServer(ServerConfig config, Storage stores, List<Provisioner.Pool> pools, Clock sourceClock) {
    this.config = config;
    this.stores = stores;
    // The store keeps milliseconds; ticking in milliseconds keeps a job in memory equal to the
    // same job read back.
    this.clock = Clock.tick(sourceClock, Duration.ofMillis(1));
    this.jobService = new JobService(stores.jobs(), stores.secrets(), clock, new java.util.Random(), config.limits());
    this.membership = new io.hodei.server.cluster.Membership(stores.replicas(), config.replica(), this.clock);
    this.registry = new WorkerRegistry(this.clock, config.heartbeatTimeout());
    this.scheduler = new io.hodei.core.scheduling.Scheduler(config.strategy());
    var otps = new OtpService(stores.otps(), this.clock, OtpService.DEFAULT_TTL, config.replica().id());
    // Workers get certificates only when the CA key sits in the TLS directory; without it,
    // workers bring their own (hand-issued) ones.
    this.workerCertificates =
        config.tls()
            .filter(t -> java.nio.file.Files.exists(t.dir().resolve(io.hodei.security.Pki.CA_KEY)))
            .map(t -> WorkerCertificateIssuer.fromDirectory(t.dir()));
    if (config.tls().isPresent() && workerCertificates.isEmpty() && !pools.isEmpty()) {
      log.warn(
          "no {} in {}: provisioned workers get no certificates and cannot connect over mTLS",
          io.hodei.security.Pki.CA_KEY,
          config.tls().get().dir());
    }
    this.audit = new SecurityAudit(stores.audit(), this.clock);
    this.tokens = new TokenService(stores.tokens(), this.clock);
    this.provisioner =
        new Provisioner(
            pools,
            otps,
            registry,
            this::workerAddress,
            workerCertificates.<WorkerCredentials>map(c -> c).orElse(WorkerCredentials.NONE),
            clock,
            this::wakeDispatcher,
            this::startedElsewhere);
    // Among replicas, one starts each pool's workers: the holder of its lease.
    // A replica whose provider for the pool is unhealthy leaves the lease to one whose is not.
    pools.forEach(pool -> membership.compete(
        io.hodei.server.cluster.Membership.poolLease(pool.name()), () -> provisioner.canStart(pool.name())));
    this.lifecycle = new WorkerLifecycle(jobService, registry, stores.workers(), provisioner, audit, this::nudgeHolder);
    this.clusterChanges = new io.hodei.server.cluster.ClusterChanges(stores.jobs(), registry, lifecycle, signals, membership, stores.replicas(), this::replicaAddresses, this.clock);
    this.dispatcher =
        new Dispatcher(
            stores.jobs(),
            jobService,
            registry,
            provisioner,
            lifecycle,
            scheduler,
            config.dispatchTick(),
            this.clock,
            () -> !membership.shared() || membership.leader());
    this.usage =
        new UsageHistory(
            this.clock,
            id ->
                registry.find(id).stream()
                    .flatMap(w -> w.running().values().stream())
                    .map(JobId::value)
                    .toList());
    this.workerApi =
        new WorkerAgentApi(
            otps,
            stores.workers(),
            registry,
            lifecycle,
            provisioner,
            jobService,
            stores.logs(),
            signals,
            this::wakeDispatcher,
            config.heartbeatInterval(),
            config.logCapBytes(),
            config.quotas().logBytes(),
            usage,
            this.clock,
            workerCertificates,

            audit,
            new RegistrationThrottle(this.clock),
            config.replica().id(),
            this::replicaAddresses);
    this.sampleRelay = new io.hodei.server.cluster.SampleRelay(stores.workers(), usage, membership, this.clock);
    this.metrics = new io.hodei.server.metrics.ServerMetrics(stores.jobs(), registry, this::certificateDaysLeft, this::caDaysLeft, this::notReady);
    this.silentWorkers =
        new SilentWorkerCheck(
            jobService,
            registry,
            config.heartbeatTimeout(),
            config.timeoutMargin(),
            this.clock,
            stores.condition(),
            worker ->
                provisioner.fence(
                    worker,
                    stores.workers().find(worker)
                        .map(r -> new Provisioner.Origin(r.provider(), r.handleReference()))));
    jobService.addListener(
        job -> {
          signals.signal(job.id());
          // New or returned jobs need a pass. A pass that only rewrote a waiting reason causes at
          // most one more pass, which finds the reason unchanged and writes nothing.
          if (job.state() == JobState.PENDING) {
            wakeDispatcher();
          }
        });
  }

  /**
   * Binds {@code config.bindHost():config.port()} with Netty and starts serving, with mTLS when
   * {@code config.tls()} is set.
   */
  public HodeiServer start() {
    var bind = new InetSocketAddress(config.bindHost(), config.port());
    if (config.tls().isEmpty()) {
      return start(keepalive(NettyServerBuilder.forAddress(bind)));
    }
    ServerTls settings = config.tls().get();
    var reloading = ReloadingTls.forServer(settings.dir(), settings.reloadEvery(), settings.expiryCheckEvery());
    reloading.onRejectedClient((host, why) ->
        audit.record(io.hodei.core.auth.AuditEvent.Kind.TLS_HANDSHAKE_FAILED, "anonymous", "tls", why, host));
    tls = Optional.of(reloading);
    return start(keepalive(NettyServerBuilder.forAddress(bind, reloading.serverCredentials())));
  }

  /**
   * The keepalive pings clients may send while a call is open: as often as every {@value
   * #PERMITTED_PING_SECONDS} s, below any client's interval (grpc-java's floor is 10 s, the CLI
   * pings every 30 s), so that a follower of a silent job is never sent away with {@code
   * too_many_pings} (gRPC's default would allow one ping in five minutes).
   */
  private static NettyServerBuilder keepalive(NettyServerBuilder builder) {
    return builder.permitKeepAliveTime(PERMITTED_PING_SECONDS, java.util.concurrent.TimeUnit.SECONDS);
  }

  /** See {@link #keepalive}. */
  public static final int PERMITTED_PING_SECONDS = 5;

  /** Days until the server certificate expires, when serving TLS; for metrics. */
  public Optional<Long> certificateDaysLeft() {
    return tls.map(ReloadingTls::daysLeft);
  }

  /** The TLS context of this server's certificate, when it serves TLS: for its HTTPS endpoints. */
  public Optional<javax.net.ssl.SSLContext> httpsContext() {
    return tls.map(ReloadingTls::sslContext);
  }

  /** Days until the CA certificate expires, when serving TLS; for metrics. */
  public Optional<Long> caDaysLeft() {
    return tls.map(ReloadingTls::caDaysLeft);
  }

  /** Jobs, workers and certificate expiry as Prometheus gauges; {@code serve} exposes them over HTTP. */
  public io.hodei.server.metrics.ServerMetrics metrics() {
    return metrics;
  }

  /** Starts serving on the given builder; tests may hand in any transport. */
  public synchronized HodeiServer start(ServerBuilder<?> builder) {
    var errors = GrpcErrors.interceptor();
    try {
      server =
          builder
              .executor(callExecutor)
              // Above every field's own limit, so that a request too big is refused naming its field.
              .maxInboundMessageSize(config.limits().transportBytes())
              // Global, so that a service added later is covered too: its RPCs are denied until
              // AccessPolicy has a row for them.
              // Inner to the AuthInterceptor below (the last added runs first): it reads the caller.
              .intercept(new io.hodei.server.auth.StreamQuota(config.quotas().streams()))
              .intercept(new AuthInterceptor(tokens, audit, config.anonymousRole()))
              .addService(
                  ServerInterceptors.intercept(
                      new JobExecutionApi(jobService, registry, lifecycle, signals, audit, provisioner, config.quotas(), stores.logs(), stores.condition()), errors))
              .addService(
                  ServerInterceptors.intercept(new WorkerJobApi(jobService, registry, lifecycle, signals, clock, audit), errors))
              .addService(
                  ServerInterceptors.intercept(
                      new LogStreamApi(jobService, stores.logs(), signals, audit), errors))
              .addService(ServerInterceptors.intercept(workerApi, errors, PeerCertificate.capture()))
              .addService(
                  ServerInterceptors.intercept(new SchedulerApi(stores.jobs(), registry, provisioner, scheduler, lifecycle::retire, audit, config.limits(), elsewhere()), errors))
              .addService(
                  ServerInterceptors.intercept(new ProviderApi(provisioner, clock), errors))
              .addService(
                  ServerInterceptors.intercept(
                      new MetricsApi(usage, registry, stores.jobs(), clock, () -> ownership().elsewhere()), errors))
              .addService(ServerInterceptors.intercept(new AdminApi(tokens, audit, clock), errors))
              .addService(readiness.getHealthService())
              .build()
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot listen on " + config.bindHost() + ":" + config.port() + ": " + e.getMessage(), e);
    }
    int port = server.getListenSockets().isEmpty() ? config.port() : port(server);
    address = config.advertisedAddress().orElse(hostForClients(config.bindHost()) + ":" + port);
    // Pools are provisioned from only once their health is known: learn it before the first pass,
    // and before competing for the pools' leases, which a replica takes only for healthy pools.
    provisioner.checkHealth();
    try {
      membership.join(address);
    } catch (RuntimeException e) {
      server.shutdownNow();
      callExecutor.shutdownNow();
      tls.ifPresent(ReloadingTls::close);
      throw e;
    }
    clusterChanges.start();
    sampleRelay.start();
    running = true;
    dispatcher.start();
    housekeeping = Thread.ofPlatform().name("reap-workers").daemon().start(this::housekeep);
    orphanSweeper = Thread.ofVirtual().name("remove-orphans").start(this::sweepOrphans);
    log.info("control plane {} listening on {}:{}", membership.id(), config.bindHost(), port);
    return this;
  }

  /**
   * Leaves {@code kind} for the live replica that holds {@code worker}'s stream, if another one
   * does: the worker as the store knows it then, for the answer.
   */
  private Optional<io.hodei.core.worker.WorkerRegistration> leaveForHolder(
      io.hodei.core.worker.WorkerId worker, io.hodei.core.replica.WorkerCommand.Kind kind, String reason) {
    String holder = stores.workers().attachments().get(worker);
    if (holder == null || holder.equals(membership.id()) || !membership.liveIds().contains(holder)) {
      return Optional.empty();
    }
    var registration = stores.workers().find(worker).filter(io.hodei.core.worker.WorkerRegistration::active);
    registration.ifPresent(r -> stores.replicas().send(
        new io.hodei.core.replica.WorkerCommand(holder, worker, kind, reason, clock.instant())));
    return registration;
  }

  /** How SchedulerApi reaches the workers of other replicas. */
  private io.hodei.server.api.SchedulerApi.Elsewhere elsewhere() {
    return new io.hodei.server.api.SchedulerApi.Elsewhere() {
      @Override
      public Optional<io.hodei.core.worker.WorkerRegistration> leave(
          io.hodei.core.worker.WorkerId worker, io.hodei.core.replica.WorkerCommand.Kind kind, String reason) {
        return leaveForHolder(worker, kind, reason);
      }

      @Override
      public List<io.hodei.api.v1.Worker> workers() {
        return workersElsewhere();
      }

      @Override
      public String replicaId() {
        return membership.id();
      }
    };
  }

  /** The workers streaming to other live replicas, from the store: READY or BUSY by their jobs there. */
  private List<io.hodei.api.v1.Worker> workersElsewhere() {
    if (!membership.shared()) {
      return List.of();
    }
    var live = membership.liveIds();
    var attachments = stores.workers().attachments();
    var running = new java.util.HashMap<io.hodei.core.worker.WorkerId, List<String>>();
    for (var job : jobService.active()) {
      job.workerId().ifPresent(w -> running.computeIfAbsent(w, k -> new java.util.ArrayList<>()).add(job.id().value()));
    }
    var out = new java.util.ArrayList<io.hodei.api.v1.Worker>();
    attachments.forEach((worker, replica) -> {
      if (replica.isEmpty() || replica.equals(membership.id()) || !live.contains(replica) || registry.find(worker).isPresent()) {
        return;
      }
      stores.workers().find(worker).filter(io.hodei.core.worker.WorkerRegistration::active).ifPresent(r -> {
        var jobs = running.getOrDefault(worker, List.of()).stream().sorted().toList();
        out.add(io.hodei.api.v1.Worker.newBuilder()
            .setInfo(io.hodei.wire.WireMapping.toWire(r.info()))
            .setProvider(r.provider())
            .setRegisteredAt(io.hodei.wire.WireMapping.toWire(r.registeredAt()))
            .addAllRunningJobIds(jobs)
            .setStatus(jobs.isEmpty() ? io.hodei.api.v1.WorkerStatus.WORKER_STATUS_READY : io.hodei.api.v1.WorkerStatus.WORKER_STATUS_BUSY)
            .setReplicaId(replica)
            .build());
      });
    });
    out.sort(java.util.Comparator.comparing(w -> w.getInfo().getWorkerId()));
    return out;
  }

  /** Nudges the live replica holding {@code worker}'s stream, if another one does, to read its jobs back now. */
  private void nudgeHolder(io.hodei.core.worker.WorkerId worker) {
    try {
      if (!membership.shared()) {
        return;
      }
      String holder = stores.workers().attachments().get(worker);
      if (holder != null && !holder.equals(membership.id()) && membership.liveIds().contains(holder)) {
        stores.replicas().nudge(holder);
      }
    } catch (RuntimeException e) {
      log.debug("could not nudge the replica of worker {}: {}", worker, e.getMessage());
    }
  }

  /**
   * The replica that starts the workers of {@code pool} when it is not this one: the holder of the
   * pool's lease among live replicas. A replica alone starts its pools' workers itself.
   */
  private Optional<String> startedElsewhere(String pool) {
    String lease = io.hodei.server.cluster.Membership.poolLease(pool);
    if (!membership.shared() || membership.holds(lease)) {
      return Optional.empty();
    }
    return Optional.of(membership.heldElsewhere(lease).orElse("another replica"));
  }

  /** What other live replicas hold now: the workers whose streams they have. */
  private SilentWorkerCheck.Ownership ownership() {
    if (!membership.shared()) {
      return SilentWorkerCheck.Ownership.ALONE;
    }
    var live = membership.liveIds();
    var elsewhere = new java.util.HashSet<io.hodei.core.worker.WorkerId>();
    stores.workers().attachments().forEach((worker, replica) -> {
      if (!replica.equals(membership.id()) && live.contains(replica)) {
        elsewhere.add(worker);
      }
    });
    return new SilentWorkerCheck.Ownership(true, elsewhere, membership.leader());
  }

  /**
   * Forgets the workers this replica knew that now stream to another live replica (this one died
   * for them, or they moved): their jobs are reported there, and the other replica adopts them.
   * Nothing is settled and nothing stopped. This fences a stale stream: the latest attach, recorded
   * in the store, wins.
   */
  private void forgetWorkersAttachedElsewhere(SilentWorkerCheck.Ownership owners) {
    for (var worker : registry.snapshot()) {
      var id = worker.info().id();
      // A stream still attached here but silent is stale: the worker's latest attach, as the
      // store has it, is another replica's, and that one wins.
      if ((!worker.attached() || worker.silent()) && worker.terminatedAt().isEmpty() && owners.elsewhere().contains(id)) {
        registry.remove(id);
        provisioner.gone(id);
        log.info("worker {} streams to another replica now; this one forgets it", id);
      }
    }
  }

  /** This control plane as a replica: its id, and whether it leads the singleton loops now. */
  public io.hodei.server.cluster.Membership membership() {
    return membership;
  }

  /** The bound gRPC port. */
  public int port() {
    return port(server);
  }

  /** host:port at which workers and clients reach this server. */
  public String address() {
    return address;
  }

  /** What a stop does with the workers this server started and with the jobs they run. */
  public enum OnStop {
    /**
     * The workers are stopped; their running jobs go back to the queue first, to run again at the
     * next start (a clean stop of {@code hodei dev}).
     */
    REQUEUE_RUNNING_JOBS,
    /**
     * The workers go on running their jobs and attach to the next server on this address, as
     * after a kill -9 (a clean stop of {@code hodei server}: rolling restarts depend on it).
     */
    LEAVE_WORKERS_RUNNING,
    /** The workers are stopped and their running jobs cancelled for good ({@code --cancel-running}). */
    CANCEL_RUNNING_JOBS
  }

  /** {@link #close(OnStop)} with {@link OnStop#REQUEUE_RUNNING_JOBS}. */
  @Override
  public void close() {
    close(OnStop.REQUEUE_RUNNING_JOBS);
  }

  /** Stops accepting calls, deals with workers and jobs as {@code onStop} says, and waits for calls to end. */
  public void close(OnStop onStop) {
    running = false;
    readiness.enterTerminalState();
    audit.flush();
    metrics.close();
    dispatcher.shutdown();
    if (housekeeping != null) {
      housekeeping.interrupt();
    }
    if (orphanSweeper != null) {
      orphanSweeper.interrupt();
    }
    switch (onStop) {
      case LEAVE_WORKERS_RUNNING -> provisioner.stopProvisioning();
      case REQUEUE_RUNNING_JOBS -> {
        requeueJobsOfManagedWorkers();
        provisioner.shutdown();
      }
      case CANCEL_RUNNING_JOBS -> provisioner.shutdown();
    }
    clusterChanges.close();
    sampleRelay.close();
    membership.close();
    Server s = server;
    if (s != null) {
      s.shutdown();
      try {
        if (!s.awaitTermination(5, TimeUnit.SECONDS)) {
          s.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        s.shutdownNow();
      }
    }
    callExecutor.shutdownNow();
    tls.ifPresent(ReloadingTls::close);
  }

  /** Before this server stops the workers it started: their running jobs back to the queue. */
  private void requeueJobsOfManagedWorkers() {
    for (var worker : registry.snapshot()) {
      if (worker.terminatedAt().isPresent() || !provisioner.manages(worker.info().id())) {
        continue;
      }
      worker.running().forEach((execution, job) -> {
        try {
          var after = jobService.requeueInterrupted(job, execution, "the control plane stopped, and its worker " + worker.info().id() + " with it");
          log.info("job {} goes back to the queue: its worker {} stops with the control plane ({})", job, worker.info().id(), after.state());
        } catch (RuntimeException e) {
          log.warn("could not put job {} back in the queue before stopping: {}", job, e.toString());
        }
      });
    }
  }

  /**
   * Where a worker this replica starts reaches the control plane: this replica first, then every
   * other live one, so that it attaches elsewhere when this one goes (see the worker's
   * ServerChannel).
   */
  private String workerAddress() {
    return String.join(",", replicaAddresses());
  }

  /** This replica's address, then every other live one's. */
  private java.util.List<String> replicaAddresses() {
    var addresses = new java.util.LinkedHashSet<String>();
    addresses.add(address);
    try {
      for (var replica : membership.live()) {
        if (!replica.id().equals(membership.id()) && !replica.address().isBlank()) {
          addresses.add(replica.address());
        }
      }
    } catch (RuntimeException e) {
      log.debug("cannot list the other replicas for a worker: {}", e.getMessage());
    }
    return java.util.List.copyOf(addresses);
  }

  private void wakeDispatcher() {
    dispatcher.wake();
  }

  /**
   * Readiness (the gRPC health service's overall status): serving while the store can write, so
   * that a load balancer or an orchestrator sends work elsewhere while an admin fixes it.
   */
  private void updateReadiness() {
    var failing = stores.condition().recheck();
    var status =
        failing.isPresent()
            ? io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING
            : io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING;
    readiness.setStatus("", status);
    readiness.setStatus(READINESS_SERVICE, status);
    readiness.setStatus(LIVENESS_SERVICE, io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
  }

  /** Why this server is not ready now (its store cannot write), if it is not. */
  public Optional<String> notReady() {
    return stores.condition().failing().map(f -> "the control plane cannot write to its database: " + f.describe());
  }

  private void housekeep() {
    Instant nextHealthCheck = clock.instant().plus(HEALTH_CHECK_EVERY);
    Instant nextPrune = clock.instant();
    // Logs of jobs that finished before this have been deleted (in this life of the server).
    Instant logsDeletedBefore = Instant.EPOCH;
    while (running) {
      try {
        updateReadiness();
        audit.flush();
        // Sweeps of what all replicas share run on one of them.
        if (membership.leader() && !clock.instant().isBefore(nextPrune)) {
          nextPrune = clock.instant().plus(Duration.ofHours(1));
          var retention = config.auditRetention();
          long pruned = audit.log().prune(clock.instant().minus(retention.maxAge()), retention.maxRows());
          if (pruned > 0) {
            log.info("audit log: deleted {} events older than {} or beyond {} rows", pruned,
                io.hodei.core.DurationText.format(retention.maxAge()), retention.maxRows());
          }
          if (config.logRetention().isPositive()) {
            Instant before = clock.instant().minus(config.logRetention());
            var deleted = stores.logs().deleteLogsOfJobsFinished(logsDeletedBefore, before);
            logsDeletedBefore = before;
            if (deleted.jobs() > 0) {
              log.info("log retention: deleted the logs of {} jobs that finished over {} ago ({} bytes)",
                  deleted.jobs(), io.hodei.core.DurationText.format(config.logRetention()), deleted.bytes());
            }
          }
        }
        // First: a worker that streams to another replica now is not this one's to reap.
        var owners = ownership(); // read once per pass
        if (membership.shared()) {
          forgetWorkersAttachedElsewhere(owners);
        }
        for (var gone : provisioner.reap()) {
          var orphans = registry.remove(gone);
          lifecycle.settleLost(gone, orphans, "worker " + gone + " stopped while running the job");
        }
        silentWorkers.settleJobsOfSilentWorkers(owners);
        for (var drained : registry.drained()) {
          lifecycle.retire(drained, "drained");
        }
        if (!clock.instant().isBefore(nextHealthCheck)) {
          provisioner.checkHealth();
          nextHealthCheck = clock.instant().plus(HEALTH_CHECK_EVERY);
        }
      } catch (RuntimeException e) {
        log.error("worker housekeeping failed; retrying", e);
      }
      try {
        Thread.sleep(config.housekeepingInterval());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Removes workers the providers run but this server does not track: at start (what a crash left
   * behind), then every minute (what a failed destroy left behind). Until the longest
   * registration timeout of the pools has passed since start, a worker still registered in the
   * store is spared: it may be about to resume its session.
   */
  private void sweepOrphans() {
    Duration window =
        provisioner.pools().stream()
            .map(p -> p.policy().registrationTimeout())
            .max(Duration::compareTo)
            .orElse(Duration.ZERO);
    Instant resumeUntil = clock.instant().plus(window);
    while (running) {
      boolean resuming = clock.instant().isBefore(resumeUntil);
      try {
        // With other replicas alive, a worker this one does not track may be theirs: one still
        // registered, or started and about to register, is spared. Only the leader looks.
        boolean shared = membership.live().size() > 1;
        Instant now = clock.instant();
        if (!shared || membership.leader()) provisioner.removeOrphans(
            id ->
                (resuming || shared)
                    && (stores.workers().find(id).map(WorkerRegistration::active).orElse(false)
                        || (shared && stores.otps().hasOutstanding(id, now))));
      } catch (RuntimeException e) {
        log.error("looking for orphaned workers failed; retrying", e);
      }
      try {
        Thread.sleep(resuming ? Duration.between(clock.instant(), resumeUntil).plusSeconds(1) : ORPHAN_CHECK_EVERY);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static int port(Server server) {
    return ((InetSocketAddress) server.getListenSockets().getFirst()).getPort();
  }

  private static String hostForClients(String bindHost) {
    return bindHost.equals("0.0.0.0") || bindHost.equals("::") ? "127.0.0.1" : bindHost;
  }
}
