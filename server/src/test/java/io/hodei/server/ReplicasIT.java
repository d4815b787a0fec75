package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobEvent;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.WatchJobRequest;
import io.hodei.provider.local.LocalProcessProvider;
import io.hodei.server.cluster.ReplicaIdInUseException;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two control planes as replicas of one real PostgreSQL (zonky's): in-process servers on their
 * own ports and stores, with real worker JVMs. What one replica changes, the other sees and acts
 * on through the database alone.
 */
class ReplicasIT {
  private static final AtomicInteger databases = new AtomicInteger();
  @TempDir static Path pgDir;
  static EmbeddedPostgres postgres;
  @TempDir Path dir;
  private final List<AutoCloseable> open = new ArrayList<>();
  private String url;

  @BeforeAll
  static void startPostgres() throws Exception {
    postgres = EmbeddedPostgres.builder().setDataDirectory(pgDir.resolve("pg")).setCleanDataDirectory(true).start();
  }

  @AfterAll
  static void stopPostgres() throws Exception {
    postgres.close();
  }

  @org.junit.jupiter.api.BeforeEach
  void freshDatabase() throws Exception {
    String name = "replicas_" + databases.incrementAndGet();
    try (var c = postgres.getPostgresDatabase().getConnection(); var st = c.createStatement()) {
      st.execute("CREATE DATABASE " + name);
    }
    url = "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + name;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (var c : open.reversed()) {
      c.close();
    }
  }

  /** A replica on the shared database; with {@code maxWorkers} > 0, a local pool of real workers of its own. */
  private HodeiServer replica(String id, int maxWorkers) {
    return replica(id, maxWorkers, "local-" + id);
  }

  /** As {@link #replica(String, int)}, its pool named {@code pool}. */
  private HodeiServer replica(String id, int maxWorkers, String pool) {
    return replica(id, maxWorkers, pool, TestControlPlane.workerCommand());
  }

  /** As {@link #replica(String, int, String)}, its workers started with {@code workerCommand}. */
  private HodeiServer replica(String id, int maxWorkers, String pool, List<String> workerCommand) {
    var database = Database.postgres(url, "postgres", "");
    open.add(database);
    var stores = Stores.open(database);
    List<Provisioner.Pool> pools = new ArrayList<>();
    if (maxWorkers > 0) {
      var provider = new LocalProcessProvider(new LocalProcessProvider.Config(
          pool, workerCommand, dir.resolve("workers-" + id), Duration.ofSeconds(10),
          Map.of("HODEI_KILL_GRACE", "1s", "HODEI_METRICS_TTL", "1s")));
      pools.add(new Provisioner.Pool(provider, new PoolPolicy(maxWorkers, Duration.ofMinutes(2), Duration.ofSeconds(60))));
    }
    var config = ServerConfig.defaults().withPort(0).withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
        .withHeartbeats(Duration.ofSeconds(1), Duration.ofSeconds(10))
        .withReplica(new ReplicaSettings(id, Duration.ofSeconds(3)));
    var server = new HodeiServer(config, stores, pools, Clock.systemUTC()).start();
    open.add(server);
    return server;
  }

  private JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs(HodeiServer server) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(server.address()).usePlaintext().build();
    open.add(channel::shutdownNow);
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private static String queue(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String script) {
    return jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(TestControlPlane.shell("sh", "-c", script)).build()).getJobId();
  }

  private static JobState state(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String id) {
    return jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState();
  }

  @Test
  void aSecondProcessWithALiveReplicasIdIsRefusedNamingTheHolder() {
    var first = replica("r1", 0);

    assertThatThrownBy(() -> replica("r1", 0))
        .isInstanceOf(ReplicaIdInUseException.class)
        .hasMessageContaining("replica id r1 is in use by a live replica at " + first.address())
        .hasMessageContaining("--replica-id");
    assertThat(first.membership().live()).extracting(r -> r.id()).containsExactly("r1");
  }

  @Test
  void exactlyOneReplicaLeadsAndAnotherTakesOverWhenItStops() {
    var a = replica("a", 0);
    var b = replica("b", 0);

    await().atMost(Duration.ofSeconds(5)).until(() -> a.membership().leader() || b.membership().leader());
    assertThat(a.membership().leader() && b.membership().leader()).isFalse();
    var leader = a.membership().leader() ? a : b;
    var other = leader == a ? b : a;
    assertThat(other.membership().live()).extracting(r -> r.id()).containsExactly("a", "b");

    leader.close();

    await().atMost(Duration.ofSeconds(5)).until(() -> other.membership().leader());
    assertThat(other.membership().live()).extracting(r -> r.id()).containsExactly(other.membership().id());
  }

  /** The replicas whose registration tokens started workers, in the database both use. */
  private List<String> startersOfWorkers() throws Exception {
    try (var c = java.sql.DriverManager.getConnection(url, "postgres", "");
        var st = c.createStatement();
        var rs = st.executeQuery("SELECT DISTINCT replica_id FROM otp_tokens ORDER BY replica_id")) {
      List<String> ids = new ArrayList<>();
      while (rs.next()) {
        ids.add(rs.getString(1));
      }
      return ids;
    }
  }

  @Test
  void aPoolBothReplicasHaveHasItsWorkersStartedByOneAndTheOtherTakesItOverWhenItStops() throws Exception {
    var a = replica("a", 2, "shared");
    var b = replica("b", 2, "shared");
    String lease = io.hodei.server.cluster.Membership.poolLease("shared");
    await().atMost(Duration.ofSeconds(5)).until(() -> a.membership().holds(lease) || b.membership().holds(lease));
    assertThat(a.membership().holds(lease) && b.membership().holds(lease)).isFalse();
    var starter = a.membership().holds(lease) ? a : b;
    var other = starter == a ? b : a;

    // Jobs queued through both: only the pool's holder starts workers for them.
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ids.add(queue(jobs(i % 2 == 0 ? other : starter), "sleep 1"));
    }
    var frontJobs = jobs(other);
    await().atMost(Duration.ofSeconds(60)).until(() -> ids.stream().allMatch(id -> state(frontJobs, id) == JobState.JOB_STATE_SUCCEEDED));
    assertThat(startersOfWorkers()).containsExactly(starter.membership().id());
    assertThat(other.membership().heldElsewhere(lease)).contains(starter.membership().id());

    starter.close();

    await().atMost(Duration.ofSeconds(10)).until(() -> other.membership().holds(lease));
    String after = queue(frontJobs, "echo after");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(frontJobs, after) == JobState.JOB_STATE_SUCCEEDED);
    assertThat(startersOfWorkers()).contains(other.membership().id()); // the first one's went with its workers
  }

  @Test
  void aReplicaWhoseProviderForAPoolIsUnhealthyLeavesThePoolsLeaseToOneWhoseIsNot() throws Exception {
    var broken = replica("a", 2, "shared", List.of("/nonexistent/hodei-worker"));
    String lease = io.hodei.server.cluster.Membership.poolLease("shared");
    assertThat(broken.membership().holds(lease)).as("an unhealthy pool's lease is not taken").isFalse();
    var healthy = replica("b", 2, "shared");

    await().atMost(Duration.ofSeconds(5)).until(() -> healthy.membership().holds(lease));
    var jobs = jobs(broken);
    String id = queue(jobs, "echo placed");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobs, id) == JobState.JOB_STATE_SUCCEEDED);
    assertThat(startersOfWorkers()).containsExactly("b");
    assertThat(broken.membership().holds(lease)).isFalse();
  }

  @Test
  void aJobQueuedThroughAReplicaWithoutWorkersRunsOnTheOthersAndIsWatchedWhereItWasQueued() throws Exception {
    var withWorkers = replica("a", 1);
    var front = replica("b", 0);
    var jobs = jobs(front);

    String id = queue(jobs, "sleep 1; echo done");

    List<JobState> seen = new CopyOnWriteArrayList<>();
    var events = JobExecutionServiceGrpc.newBlockingStub(NettyChannelBuilder.forTarget(front.address()).usePlaintext().build())
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .watchJob(WatchJobRequest.newBuilder().setJobId(id).build());
    while (events.hasNext()) {
      JobEvent e = events.next();
      seen.add(e.getState());
    }
    assertThat(seen).contains(JobState.JOB_STATE_RUNNING).last().isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(TestControlPlane.follow(NettyChannelBuilder.forTarget(front.address()).usePlaintext().build(), id)
            .text(io.hodei.api.v1.LogStream.LOG_STREAM_STDOUT))
        .containsExactly("done");
    assertThat(withWorkers.membership().live()).hasSize(2);
  }

  @Test
  void aJobCancelledThroughOneReplicaStopsOnAWorkerAttachedToTheOther() {
    replica("a", 1);
    var front = replica("b", 0);
    var jobs = jobs(front);
    String id = queue(jobs, "sleep 300");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobs, id) == JobState.JOB_STATE_RUNNING);

    jobs.cancelJob(CancelJobRequest.newBuilder().setJobId(id).setReason("enough").build());

    await().atMost(Duration.ofSeconds(15)).until(() -> state(jobs, id) == JobState.JOB_STATE_CANCELLED);
  }

  @Test
  void theUsageOfAWorkerAttachedToOneReplicaIsStreamedAndSummedUpByTheOther() throws Exception {
    replica("a", 1);
    var front = replica("b", 0);
    var jobs = jobs(front);
    String id = queue(jobs, "sleep 60");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobs, id) == JobState.JOB_STATE_RUNNING);
    String worker = jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getAttempts(0).getWorkerId();
    ManagedChannel channel = NettyChannelBuilder.forTarget(front.address()).usePlaintext().build();
    open.add(channel::shutdownNow);

    var samples = io.hodei.api.v1.MetricsServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .streamMetrics(io.hodei.api.v1.StreamMetricsRequest.newBuilder().setWorkerId(worker).build());
    assertThat(samples.next().getWorkerId()).isEqualTo(worker);

    var summary = io.hodei.api.v1.MetricsServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getAggregatedMetrics(io.hodei.api.v1.GetAggregatedMetricsRequest.getDefaultInstance());
    assertThat(summary.getWorkersConnected()).isEqualTo(1);
    assertThat(summary.getWorkersList()).singleElement().satisfies(w -> {
      assertThat(w.getWorkerId()).isEqualTo(worker);
      assertThat(w.getConnected()).isTrue();
    });
  }

  private io.hodei.api.v1.SchedulerServiceGrpc.SchedulerServiceBlockingStub scheduler(HodeiServer server) {
    ManagedChannel channel = NettyChannelBuilder.forTarget(server.address()).usePlaintext().build();
    open.add(channel::shutdownNow);
    return io.hodei.api.v1.SchedulerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static String workerOf(JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs, String id) {
    return jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getAttempts(0).getWorkerId();
  }

  @Test
  void aWorkerAttachedToOneReplicaIsDrainedThroughTheOther() {
    var withWorkers = replica("a", 1);
    var front = replica("b", 0);
    var jobs = jobs(front);
    String id = queue(jobs, "sleep 2");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobs, id) == JobState.JOB_STATE_RUNNING);
    String worker = workerOf(jobs, id);
    // Listed where it is not attached, as the store has it: busy with the job, on replica a.
    assertThat(scheduler(front).listWorkers(io.hodei.api.v1.ListWorkersRequest.getDefaultInstance()).getWorkersList())
        .filteredOn(w -> w.getInfo().getWorkerId().equals(worker)).singleElement().satisfies(w -> {
          assertThat(w.getReplicaId()).isEqualTo("a");
          assertThat(w.getStatus()).isEqualTo(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_BUSY);
          assertThat(w.getRunningJobIdsList()).containsExactly(id);
        });

    var drained = scheduler(front).drainWorker(io.hodei.api.v1.DrainWorkerRequest.newBuilder().setWorkerId(worker).build());

    assertThat(drained.getWorker().getStatus()).isEqualTo(io.hodei.api.v1.WorkerStatus.WORKER_STATUS_DRAINING);
    assertThat(drained.getWorker().getInfo().getWorkerId()).isEqualTo(worker);
    // Its job ends as it would have; then the worker leaves, retired by the replica holding it.
    await().atMost(Duration.ofSeconds(30)).until(() -> state(jobs, id) == JobState.JOB_STATE_SUCCEEDED);
    await().atMost(Duration.ofSeconds(30)).until(() ->
        scheduler(withWorkers).listWorkers(io.hodei.api.v1.ListWorkersRequest.getDefaultInstance())
            .getWorkersList().stream().noneMatch(w -> w.getInfo().getWorkerId().equals(worker)
                && w.getStatus() != io.hodei.api.v1.WorkerStatus.WORKER_STATUS_TERMINATED));
  }

  @Test
  void aWorkerAttachedToOneReplicaIsDeregisteredThroughTheOtherAndItsJobSettled() {
    replica("a", 1);
    var front = replica("b", 0);
    var jobs = jobs(front);
    String id = queue(jobs, "sleep 300");
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobs, id) == JobState.JOB_STATE_RUNNING);
    String worker = workerOf(jobs, id);

    scheduler(front).deregisterWorker(io.hodei.api.v1.DeregisterWorkerRequest.newBuilder().setWorkerId(worker).setReason("broken disk").build());

    await().atMost(Duration.ofSeconds(15)).until(() -> state(jobs, id) == JobState.JOB_STATE_FAILED);
    assertThat(jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getAttempts(0).getErrorMessage())
        .contains("deregistered: broken disk");
  }

  @Test
  void drainingAWorkerNoReplicaHoldsIsNotFound() {
    replica("a", 0);
    var front = replica("b", 0);

    assertThatThrownBy(() -> scheduler(front).drainWorker(io.hodei.api.v1.DrainWorkerRequest.newBuilder().setWorkerId("w-nobody").build()))
        .hasMessageContaining("NOT_FOUND");
  }

  @Test
  void aWorkerStartedBeforeAnotherReplicaJoinedIsToldOfItAndGoesThereWhenItsOwnStops() {
    var first = replica("a", 1);
    var jobsOnFirst = jobs(first);
    String id = queue(jobsOnFirst, "sleep 6; echo done");
    // Its worker was started knowing of replica a only.
    await().atMost(Duration.ofSeconds(60)).until(() -> state(jobsOnFirst, id) == JobState.JOB_STATE_RUNNING);
    var second = replica("b", 0);
    var jobs = jobs(second);
    // b is told to the worker within a second or two of joining; then a stops, leaving it running.
    await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5)).until(() -> true);
    open.remove(first);
    first.close(HodeiServer.OnStop.LEAVE_WORKERS_RUNNING);

    await().atMost(Duration.ofSeconds(30)).until(() -> state(jobs, id) == JobState.JOB_STATE_SUCCEEDED);
    assertThat(jobs.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getAttemptsList()).hasSize(1);
  }
}
