package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.AssignJobRequest;
import io.hodei.api.v1.Attach;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.CompleteJobRequest;
import io.hodei.api.v1.CreateTokenRequest;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListAuditEventsRequest;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ListTokensRequest;
import io.hodei.api.v1.LogBatch;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RetryJobRequest;
import io.hodei.api.v1.RevokeTokenRequest;
import io.hodei.api.v1.Role;
import io.hodei.api.v1.ServerMessage;
import io.hodei.api.v1.StreamLogsRequest;
import io.hodei.api.v1.WatchJobRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerJobServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.api.v1.WorkerMessage;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.TokenService;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.api.GrpcErrors;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Authentication and authorization end to end over a real socket, on a server with the default
 * configuration (anonymous callers have no role). The provider cannot start workers, so queued jobs
 * stay where the test puts them.
 */
class AuthIT {
  @TempDir Path dir;
  TestControlPlane plane;
  TokenService tokens;
  Channel alice;
  Channel bob;
  Channel admin;

  @BeforeEach
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            PoolPolicy.DEFAULT,
            ServerConfig.defaults().withPort(0),
            List.of("/nonexistent/hodei-worker"));
    tokens = new TokenService(plane.stores.tokens(), Clock.systemUTC());
    alice = as("alice", io.hodei.core.auth.Role.USER);
    bob = as("bob", io.hodei.core.auth.Role.USER);
    admin = as("root", io.hodei.core.auth.Role.ADMIN);
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  private Channel as(String name, io.hodei.core.auth.Role role) {
    return AccessTableIT.bearer(plane.channel, tokens.issue(name, role, Optional.empty()).token());
  }

  private static WorkerJobServiceGrpc.WorkerJobServiceBlockingStub workerJobs(Channel channel) {
    return WorkerJobServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs(Channel channel) {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private static String queue(Channel channel, String name) {
    return jobs(channel)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(TestControlPlane.shell(name)).build())
        .getJobId();
  }

  private static Status refusal(Runnable call) {
    return catchThrowableOfType(StatusRuntimeException.class, call::run).getStatus();
  }

  private List<AuditEvent> audit(AuditEvent.Kind kind) {
    return plane.stores.audit().list(Instant.EPOCH, Optional.of(kind), 1000);
  }

  @Test
  void aUserSeesAndActsOnlyOnItsOwnJobsWhileAnAdminSeesAll() {
    String alices = queue(alice, "alice-build");
    String bobs = queue(bob, "bob-build");

    assertThat(
            jobs(alice)
                .getJob(GetJobRequest.newBuilder().setJobId(alices).build())
                .getJob()
                .getOwner())
        .isEqualTo("alice");
    assertThat(
            refusal(() -> jobs(bob).getJob(GetJobRequest.newBuilder().setJobId(alices).build()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(
            refusal(
                    () ->
                        jobs(bob).cancelJob(CancelJobRequest.newBuilder().setJobId(alices).build()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(
            refusal(() -> jobs(bob).retryJob(RetryJobRequest.newBuilder().setJobId(alices).build()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(
            refusal(
                    () ->
                        jobs(bob)
                            .watchJob(WatchJobRequest.newBuilder().setJobId(alices).build())
                            .hasNext())
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(
            refusal(
                    () ->
                        LogStreamServiceGrpc.newBlockingStub(bob)
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .streamLogs(StreamLogsRequest.newBuilder().setJobId(alices).build())
                            .hasNext())
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    assertThat(jobs(alice).listJobs(ListJobsRequest.getDefaultInstance()).getJobsList())
        .extracting(io.hodei.api.v1.Job::getJobId)
        .containsExactly(alices);
    assertThat(jobs(bob).listJobs(ListJobsRequest.getDefaultInstance()).getJobsList())
        .extracting(io.hodei.api.v1.Job::getJobId)
        .containsExactly(bobs);
    assertThat(jobs(admin).listJobs(ListJobsRequest.getDefaultInstance()).getJobsList())
        .extracting(io.hodei.api.v1.Job::getJobId)
        .containsExactlyInAnyOrder(alices, bobs);
    assertThat(
            jobs(admin)
                .getJob(GetJobRequest.newBuilder().setJobId(alices).build())
                .getJob()
                .getJobId())
        .isEqualTo(alices);
    // Identical denials within a minute are one row counting them (SecurityAudit).
    org.awaitility.Awaitility.await().untilAsserted(() ->
        assertThat(audit(AuditEvent.Kind.PERMISSION_DENIED).stream()
                .filter(e -> e.actor().equals("bob") && e.target().equals(alices))
                .mapToInt(AuditEvent::repeats)
                .sum())
            .isEqualTo(5));
  }

  @Test
  void whoCancelledIsThePrincipalAndTheCancelIsAudited() {
    String job = queue(alice, "to-cancel");

    var cancelled =
        jobs(alice)
            .cancelJob(
                CancelJobRequest.newBuilder().setJobId(job).setReason("changed my mind").build())
            .getJob();

    assertThat(cancelled.getCancelledBy()).isEqualTo("alice");
    assertThat(audit(AuditEvent.Kind.JOB_CANCELLED))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.actor()).isEqualTo("alice");
              assertThat(e.target()).isEqualTo(job);
              assertThat(e.detail()).isEqualTo("changed my mind");
              assertThat(e.remote()).startsWith("127.0.0.1:");
            });
  }

  @Test
  void anAdminCreatesListsAndRevokesTokensAndARevokedTokenNoLongerAuthenticates() {
    var admins = AdminServiceGrpc.newBlockingStub(admin).withDeadlineAfter(10, TimeUnit.SECONDS);
    var created =
        admins.createToken(
            CreateTokenRequest.newBuilder().setName("ci").setRole(Role.ROLE_USER).build());
    assertThat(created.getToken()).startsWith("hodei_").hasSizeGreaterThan(40);
    Channel ci = AccessTableIT.bearer(plane.channel, created.getToken());
    String job = queue(ci, "from-ci");

    assertThat(admins.listTokens(ListTokensRequest.getDefaultInstance()).getTokensList())
        .extracting(t -> t.getName())
        .contains("ci", "alice", "bob", "root");
    admins.revokeToken(RevokeTokenRequest.newBuilder().setName("ci").build());

    Status refused =
        refusal(() -> jobs(ci).getJob(GetJobRequest.newBuilder().setJobId(job).build()));
    assertThat(refused.getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refused.getDescription()).contains("revoked");
    assertThat(
            refusal(
                    () ->
                        AdminServiceGrpc.newBlockingStub(alice)
                            .listTokens(ListTokensRequest.getDefaultInstance()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    var events =
        admins.listAuditEvents(ListAuditEventsRequest.getDefaultInstance()).getEventsList();
    assertThat(events)
        .extracting(e -> e.getKind() + " " + e.getActor() + " " + e.getTarget())
        .contains(
            "TOKEN_CREATED root ci",
            "TOKEN_REVOKED root ci",
            "AUTHENTICATION_FAILED anonymous hodei.v1.JobExecutionService/GetJob",
            "PERMISSION_DENIED alice hodei.v1.AdminService/ListTokens");
    assertThat(events.toString()).doesNotContain(created.getToken());
    assertThat(
            admins
                .listAuditEvents(
                    ListAuditEventsRequest.newBuilder().setKind("token_revoked").build())
                .getEventsList())
        .hasSize(1);
  }

  @Test
  void anUnknownTokenIsUnauthenticated() {
    Channel stranger = AccessTableIT.bearer(plane.channel, "hodei_notissued");

    assertThat(
            refusal(() -> jobs(stranger).listJobs(ListJobsRequest.getDefaultInstance())).getCode())
        .isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void repeatedFailedRegistrationsForOneWorkerIdAreThrottledWithARetryHint() {
    var workers =
        WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
            .withDeadlineAfter(10, TimeUnit.SECONDS);
    var bad =
        RegisterRequest.newBuilder()
            .setAuthToken("00000000-0000-4000-8000-000000000000")
            .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId("w-x").setName("w-x"))
            .build();
    for (int i = 0; i < 5; i++) {
      assertThat(refusal(() -> workers.register(bad)).getCode())
          .isEqualTo(Status.Code.UNAUTHENTICATED);
    }

    var throttled = catchThrowableOfType(StatusRuntimeException.class, () -> workers.register(bad));
    assertThat(throttled.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(throttled.getStatus().getDescription()).contains("retry in");
    assertThat(throttled.getTrailers().get(GrpcErrors.RETRY_AFTER)).isNotNull();
    // Even a good OTP for that id waits out the throttle: the limit is on the id, not the token.
    var otp =
        new OtpService(plane.stores.otps(), Clock.systemUTC(), Duration.ofMinutes(5))
            .issue(new WorkerId("w-x"));
    assertThat(
            refusal(() -> workers.register(bad.toBuilder().setAuthToken(otp.token()).build()))
                .getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    org.awaitility.Awaitility.await().untilAsserted(() -> {
      assertThat(audit(AuditEvent.Kind.REGISTRATION_FAILED))
          .allMatch(e -> e.actor().equals("w-x"))
          .extracting(AuditEvent::repeats)
          .containsExactly(5);
      assertThat(audit(AuditEvent.Kind.REGISTRATION_THROTTLED).stream().mapToInt(AuditEvent::repeats).sum()).isEqualTo(2);
    });
  }

  /** A worker registered by OTP with its stream attached, speaking the protocol by hand. */
  final class FakeWorker {
    final String id;
    final LinkedBlockingQueue<ServerMessage> received = new LinkedBlockingQueue<>();
    final StreamObserver<WorkerMessage> stream;

    FakeWorker(String id) throws InterruptedException {
      this(id, true);
    }

    /**
     * @param attach false: registered only, so the dispatcher does not hand it jobs
     */
    FakeWorker(String id, boolean attach) throws InterruptedException {
      this.id = id;
      var otp =
          new OtpService(plane.stores.otps(), Clock.systemUTC(), Duration.ofMinutes(5))
              .issue(new WorkerId(id));
      var registered =
          WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
              .register(
                  RegisterRequest.newBuilder()
                      .setAuthToken(otp.token())
                      .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(id).setName(id))
                      .build());
      if (!attach) {
        stream = null;
        return;
      }
      stream =
          WorkerAgentServiceGrpc.newStub(plane.channel)
              .workerStream(
                  new StreamObserver<>() {
                    @Override
                    public void onNext(ServerMessage m) {
                      received.add(m);
                    }

                    @Override
                    public void onError(Throwable t) {}

                    @Override
                    public void onCompleted() {}
                  });
      stream.onNext(
          WorkerMessage.newBuilder()
              .setAttach(
                  Attach.newBuilder().setWorkerId(id).setSessionId(registered.getSessionId()))
              .build());
      assertThat(next(m -> m.hasAck())).isNotNull();
    }

    ServerMessage next(java.util.function.Predicate<ServerMessage> wanted)
        throws InterruptedException {
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (System.nanoTime() < end) {
        var m = received.poll(100, TimeUnit.MILLISECONDS);
        if (m != null && wanted.test(m)) {
          return m;
        }
      }
      return null;
    }
  }

  @Test
  void aJobItsWorkerReportsNotStartedGoesBackToTheQueueAndIsHandedOutAgain() throws Exception {
    var w = new FakeWorker("w-n");
    String job = queue(alice, "not-started");
    var run = w.next(m -> m.hasRunJob() && m.getRunJob().getJobId().equals(job));
    assertThat(run).isNotNull();
    String first = run.getRunJob().getExecutionId();

    w.stream.onNext(
        WorkerMessage.newBuilder()
            .setJobResult(
                JobResult.newBuilder()
                    .setJobId(job)
                    .setExecutionId(first)
                    .setOutcome(JobOutcome.JOB_OUTCOME_NOT_STARTED)
                    .setErrorMessage("worker shutting down"))
            .build());

    var again = w.next(m -> m.hasRunJob() && m.getRunJob().getJobId().equals(job));
    assertThat(again).as("handed out again").isNotNull();
    assertThat(again.getRunJob().getExecutionId()).isNotEqualTo(first);
    var state = jobs(admin).getJob(GetJobRequest.newBuilder().setJobId(job).build()).getJob();
    assertThat(state.getState()).isNotIn(JobState.JOB_STATE_CANCELLED, JobState.JOB_STATE_FAILED);
  }

  @Test
  void aWorkerReportingOnAnotherWorkersExecutionIsRefusedAndAuditedAndKeepsItsStream()
      throws Exception {
    var first = new FakeWorker("w-a");
    var second = new FakeWorker("w-b");
    String job = queue(alice, "held-by-a");
    // The dispatcher hands the job to one of the two; "a" is the holder, "b" the other.
    FakeWorker a = null;
    ServerMessage run = null;
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (run == null && System.nanoTime() < end) {
      for (var w : List.of(first, second)) {
        var m = w.received.poll(50, TimeUnit.MILLISECONDS);
        if (m != null && m.hasRunJob() && m.getRunJob().getJobId().equals(job)) {
          run = m;
          a = w;
        }
      }
    }
    assertThat(run).as("the job was dispatched").isNotNull();
    var b = a == first ? second : first;
    String execution = run.getRunJob().getExecutionId();

    b.stream.onNext(
        WorkerMessage.newBuilder()
            .setLogBatch(
                LogBatch.newBuilder()
                    .setJobId(job)
                    .setExecutionId(execution)
                    .addLines(
                        LogLine.newBuilder()
                            .setSequence(0)
                            .setData(com.google.protobuf.ByteString.copyFromUtf8("forged"))))
            .build());
    b.stream.onNext(
        WorkerMessage.newBuilder()
            .setJobResult(
                JobResult.newBuilder()
                    .setJobId(job)
                    .setExecutionId(execution)
                    .setOutcome(JobOutcome.JOB_OUTCOME_EXITED)
                    .setExitCode(0))
            .build());

    var refusedResult =
        b.next(m -> m.hasCancelJob() && m.getCancelJob().getReason().startsWith("result"));
    assertThat(refusedResult).isNotNull();
    assertThat(refusedResult.getCancelJob().getReason()).contains("not assigned to worker w-b");
    assertThat(
            jobs(admin)
                .getJob(GetJobRequest.newBuilder().setJobId(job).build())
                .getJob()
                .getState())
        .isEqualTo(JobState.JOB_STATE_SCHEDULED);
    assertThat(audit(AuditEvent.Kind.PERMISSION_DENIED))
        .filteredOn(e -> e.actor().equals(b.id) && e.target().equals(execution))
        .hasSize(2);

    // The holder's own result is accepted; the other's stream is still open.
    a.stream.onNext(
        WorkerMessage.newBuilder()
            .setJobResult(
                JobResult.newBuilder()
                    .setJobId(job)
                    .setExecutionId(execution)
                    .setOutcome(JobOutcome.JOB_OUTCOME_EXITED)
                    .setExitCode(0))
            .build());
    assertThat(a.next(m -> m.hasAck() && m.getAck().getExecutionId().equals(execution)))
        .isNotNull();
    assertThat(
            jobs(admin)
                .getJob(GetJobRequest.newBuilder().setJobId(job).build())
                .getJob()
                .getState())
        .isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    a.stream.onCompleted();
    b.stream.onCompleted();
  }

  @Test
  void aWorkerTokenActsOnlyOnExecutionsAssignedToThatWorker() throws Exception {
    new FakeWorker("w-a", false);
    new FakeWorker("w-b", false);
    Channel workerB = as("w-b", io.hodei.core.auth.Role.WORKER);
    String job = queue(alice, "held-by-a");

    assertThat(
            refusal(
                    () ->
                        workerJobs(workerB)
                            .assignJob(
                                AssignJobRequest.newBuilder()
                                    .setJobId(job)
                                    .setWorkerId("w-a")
                                    .build()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    String execution =
        workerJobs(admin)
            .assignJob(AssignJobRequest.newBuilder().setJobId(job).setWorkerId("w-a").build())
            .getExecutionId();
    assertThat(
            refusal(
                    () ->
                        workerJobs(workerB)
                            .completeJob(
                                CompleteJobRequest.newBuilder().setExecutionId(execution).build()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);

    assertThat(
            jobs(admin)
                .getJob(GetJobRequest.newBuilder().setJobId(job).build())
                .getJob()
                .getState())
        .isEqualTo(JobState.JOB_STATE_SCHEDULED);
    assertThat(audit(AuditEvent.Kind.PERMISSION_DENIED))
        .filteredOn(e -> e.actor().equals("w-b"))
        .extracting(AuditEvent::target)
        // AssignJob is admin-only: the table refuses it before the job is looked at.
        .containsExactly("hodei.v1.WorkerJobService/AssignJob", execution);
    Channel workerA = as("w-a", io.hodei.core.auth.Role.WORKER);
    workerJobs(workerA).completeJob(CompleteJobRequest.newBuilder().setExecutionId(execution).build());
    assertThat(
            jobs(admin)
                .getJob(GetJobRequest.newBuilder().setJobId(job).build())
                .getJob()
                .getState())
        .isEqualTo(JobState.JOB_STATE_SUCCEEDED);
  }

  @Test
  void aWorkerPrincipalCannotRegisterOrAttachAsAnotherWorker() throws Exception {
    Channel workerB = as("w-b", io.hodei.core.auth.Role.WORKER);
    var otp =
        new OtpService(plane.stores.otps(), Clock.systemUTC(), Duration.ofMinutes(5))
            .issue(new WorkerId("w-a"));
    var asA =
        RegisterRequest.newBuilder()
            .setAuthToken(otp.token())
            .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId("w-a").setName("w-a"))
            .build();

    assertThat(
            refusal(() -> WorkerAgentServiceGrpc.newBlockingStub(workerB).register(asA)).getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    var session =
        WorkerAgentServiceGrpc.newBlockingStub(plane.channel).register(asA).getSessionId();
    var closed = new java.util.concurrent.CompletableFuture<Throwable>();
    var stream =
        WorkerAgentServiceGrpc.newStub(workerB)
            .workerStream(
                new StreamObserver<>() {
                  @Override
                  public void onNext(ServerMessage m) {}

                  @Override
                  public void onError(Throwable t) {
                    closed.complete(t);
                  }

                  @Override
                  public void onCompleted() {
                    closed.complete(null);
                  }
                });
    stream.onNext(
        WorkerMessage.newBuilder()
            .setAttach(Attach.newBuilder().setWorkerId("w-a").setSessionId(session))
            .build());

    assertThat(Status.fromThrowable(closed.get(10, TimeUnit.SECONDS)).getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(audit(AuditEvent.Kind.PERMISSION_DENIED))
        .filteredOn(e -> e.actor().equals("w-b") && e.target().equals("w-a"))
        .hasSize(2);
  }

  @Test
  void registrationsAndAdminActionsOnWorkersAreAudited() throws Exception {
    new FakeWorker("w-a", false);
    var scheduler =
        io.hodei.api.v1.SchedulerServiceGrpc.newBlockingStub(admin)
            .withDeadlineAfter(10, TimeUnit.SECONDS);

    scheduler.drainWorker(
        io.hodei.api.v1.DrainWorkerRequest.newBuilder().setWorkerId("w-a").build());
    scheduler.deregisterWorker(
        io.hodei.api.v1.DeregisterWorkerRequest.newBuilder()
            .setWorkerId("w-a")
            .setReason("maintenance")
            .build());

    assertThat(audit(AuditEvent.Kind.WORKER_REGISTERED))
        .extracting(AuditEvent::actor)
        .containsExactly("w-a");
    assertThat(audit(AuditEvent.Kind.WORKER_DRAINED))
        .extracting(AuditEvent::actor)
        .containsExactly("root");
    assertThat(audit(AuditEvent.Kind.WORKER_DEREGISTERED))
        .extracting(e -> e.actor() + " " + e.target() + " " + e.detail())
        .containsExactly("root w-a maintenance");
  }
}
