package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.QueueJobResponse;
import io.hodei.api.v1.ShellCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Control-plane replicas as real {@code hodei dev} processes on one real PostgreSQL (the embedded
 * one of {@code hodei dev --replicas}), with real local workers. Each job's side effect is its id
 * appended to one file; a job run twice would show twice. The jobs run without the sandbox
 * ({@code HODEI_JOB_ISOLATION=off}) so that they can all append to that file: isolation is tested
 * elsewhere, this is about placement.
 */
class HaClusterIT {
  @TempDir Path dir;
  private DevPostgres postgres;
  private final List<ServerProcess> replicas = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    replicas.forEach(ServerProcess::close);
    if (postgres != null) {
      postgres.close();
    }
  }

  private Path data() {
    return dir.resolve("data");
  }

  private Path sideEffects() {
    return dir.resolve("side-effects.txt");
  }

  private ServerProcess replica(String id, String... more) throws Exception {
    if (postgres == null) {
      postgres = DevPostgres.start(data());
    }
    List<String> args = new ArrayList<>(List.of(
        "--replica-id", id, "--database-url", postgres.url(),
        "--database-password-file", postgres.passwordFile().toString(),
        "--heartbeat-interval", "2s", "--heartbeat-timeout", "10s"));
    args.addAll(List.of(more));
    var replica = new ServerProcess(data(), args, Map.of("HODEI_JOB_ISOLATION", "off")).start();
    replicas.add(replica);
    return replica;
  }

  /** A replica whose local pool is its own ({@code local-ID}, of {@code maxWorkers}), so that each has workers. */
  private ServerProcess replicaWithOwnPool(String id, int maxWorkers) throws Exception {
    Path config = dir.resolve(id + ".yaml");
    Files.writeString(config, "providers:\n  local-" + id + ":\n    type: local\n    max-workers: " + maxWorkers
        + "\n    jobs-per-worker: 2\n");
    return replica(id, "--config", config.toString());
  }

  private ManagedChannel channel(ServerProcess replica) {
    var channel = replica.channel();
    channels.add(channel);
    return channel;
  }

  /** What each job does before appending its id. */
  private volatile String before = "";

  private JobDefinition appendsItsId() {
    return JobDefinition.newBuilder()
        .setName("append")
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder()
            .setCmd("sh").addArgs("-c").addArgs(before + "echo \"$HODEI_JOB_ID\" >> '" + sideEffects() + "'")))
        .build();
  }

  /** Queues {@code count} jobs through {@code channel}, up to 64 in flight; returns their ids. */
  private Set<String> queue(ManagedChannel channel, int count) throws InterruptedException {
    Set<String> ids = ConcurrentHashMap.newKeySet();
    var inFlight = new Semaphore(64);
    var failures = new ConcurrentHashMap<String, Throwable>();
    var stub = JobExecutionServiceGrpc.newStub(channel);
    for (int i = 0; i < count; i++) {
      inFlight.acquire();
      stub.withDeadlineAfter(60, TimeUnit.SECONDS).queueJob(
          QueueJobRequest.newBuilder().setDefinition(appendsItsId()).build(),
          new StreamObserver<>() {
            @Override
            public void onNext(QueueJobResponse response) {
              ids.add(response.getJobId());
            }

            @Override
            public void onError(Throwable t) {
              failures.put(t.toString(), t);
              inFlight.release();
            }

            @Override
            public void onCompleted() {
              inFlight.release();
            }
          });
    }
    inFlight.acquire(64);
    assertThat(failures).isEmpty();
    return ids;
  }

  private Connection sql() throws Exception {
    String jdbc = "jdbc:" + postgres.url().replace("postgres@", "");
    return DriverManager.getConnection(jdbc, "postgres", Files.readString(postgres.passwordFile()).strip());
  }

  private Map<String, Long> statesOf(Connection c) throws Exception {
    Map<String, Long> out = new HashMap<>();
    try (var st = c.createStatement(); var rs = st.executeQuery("SELECT state, count(*) FROM jobs GROUP BY state")) {
      while (rs.next()) {
        out.put(rs.getString(1), rs.getLong(2));
      }
    }
    return out;
  }

  /** For a failure's message: the jobs by state, the first unfinished ones, and each replica's last lines. */
  private String whereJobsStand(Connection c) throws Exception {
    var out = new StringBuilder("jobs by state: ").append(statesOf(c)).append('\n');
    try (var st = c.createStatement(); var rs = st.executeQuery(
        "SELECT j.id, j.state, j.attempts, a.worker_id, a.state, w.replica_id, a.error_message, j.waiting_reason FROM jobs j"
            + " LEFT JOIN job_attempts a ON a.job_id = j.id LEFT JOIN workers w ON w.id = a.worker_id"
            + " WHERE j.state <> 'SUCCEEDED' ORDER BY j.created_at LIMIT 20")) {
      var meta = rs.getMetaData();
      while (rs.next()) {
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          out.append(rs.getString(i)).append(i < meta.getColumnCount() ? " | " : "\n");
        }
      }
    }
    for (var replica : replicas) {
      var lines = replica.output;
      out.append("--- a replica's last lines\n");
      lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(l -> out.append(l).append('\n'));
    }
    return out.toString();
  }

  private static long single(Connection c, String query) throws Exception {
    try (var st = c.createStatement(); var rs = st.executeQuery(query)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private List<String> sideEffectLines() throws Exception {
    return Files.exists(sideEffects()) ? Files.readAllLines(sideEffects()) : List.of();
  }

  @Test
  void tenThousandJobsQueuedHalfThroughEachOfTwoReplicasAllSucceedEachRunOnce() throws Exception {
    var r1 = replicaWithOwnPool("r1", 4);
    var r2 = replicaWithOwnPool("r2", 4);

    Set<String> queued = new HashSet<>();
    var first = Thread.ofVirtual().start(() -> {
      try {
        synchronized (queued) {
          queued.addAll(queue(channel(r1), 5_000));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    var second = queue(channel(r2), 5_000);
    first.join();
    synchronized (queued) {
      queued.addAll(second);
    }
    assertThat(queued).hasSize(10_000);

    try (var c = sql()) {
      await().atMost(Duration.ofMinutes(6)).pollInterval(Duration.ofSeconds(2))
          .until(() -> statesOf(c).getOrDefault("SUCCEEDED", 0L) == 10_000);
      assertThat(statesOf(c)).containsOnlyKeys("SUCCEEDED");
      assertThat(single(c, "SELECT max(attempts) FROM jobs")).isEqualTo(1);
      // Both replicas had workers attached, and ran jobs on them.
      assertThat(single(c, "SELECT count(DISTINCT replica_id) FROM workers WHERE replica_id <> ''")).isEqualTo(2);
      assertThat(single(c, "SELECT count(DISTINCT a.worker_id) FROM job_attempts a")).isGreaterThan(1);
    }
    List<String> lines = sideEffectLines();
    assertThat(lines).hasSize(10_000);
    assertThat(new HashSet<>(lines)).isEqualTo(queued);
  }

  @Test
  void killingAReplicaFiveTimesWhileJobsRunLosesNoJobAndRunsNoneTwice() throws Exception {
    var r1 = replica("r1", "--max-workers", "4", "--jobs-per-worker", "2");
    var r2 = replica("r2", "--max-workers", "4", "--jobs-per-worker", "2");
    var random = new Random(42);
    Set<String> queued = ConcurrentHashMap.newKeySet();
    // A kill lands between two QueueJob calls, never during one: a call cut by a kill is not known
    // to have been taken or not (the API has no idempotency key), and this test is about the jobs
    // taken. Jobs are pending, scheduled and running on the workers when each kill lands.
    var calls = new java.util.concurrent.locks.ReentrantLock();
    var feederFailure = new java.util.concurrent.atomic.AtomicReference<Throwable>();
    var down = new java.util.concurrent.atomic.AtomicInteger(-1); // the replica killed and not yet ready again
    var feeder = Thread.ofVirtual().start(() -> {
      try {
        for (int batch = 0; batch < 40; batch++) {
          calls.lock();
          try {
            var target = replicas.get(down.get() == batch % 2 ? 1 - batch % 2 : batch % 2);
            var channel = target.channel();
            try {
              queued.addAll(queue(channel, 50));
            } finally {
              channel.shutdownNow();
            }
          } finally {
            calls.unlock();
          }
          Thread.sleep(150);
        }
      } catch (Throwable t) {
        feederFailure.set(t);
      }
    });

    try (var c = sql()) {
      for (int kill = 0; kill < 5; kill++) {
        Thread.sleep(1_000 + random.nextInt(2_000));
        int victim = random.nextInt(2);
        var replica = replicas.get(victim);
        String id = "r" + (victim + 1);
        calls.lock();
        try {
          down.set(victim);
          replica.kill9();
        } finally {
          calls.unlock();
        }
        // Every worker that streamed to it attaches to the other within 10 s.
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200))
            .until(() -> single(c, "SELECT count(*) FROM workers WHERE active = 1 AND replica_id = '" + id + "'") == 0);
        replica.start();
        down.set(-1);
      }
      feeder.join();
      assertThat(feederFailure.get()).isNull();
      assertThat(queued).hasSize(2_000);
      await().atMost(Duration.ofMinutes(4)).pollInterval(Duration.ofSeconds(2))
          .until(() -> statesOf(c).getOrDefault("SUCCEEDED", 0L) == 2_000);
      assertThat(statesOf(c)).containsOnlyKeys("SUCCEEDED");
    }
    List<String> lines = sideEffectLines();
    assertThat(new HashSet<>(lines)).isEqualTo(queued);
    assertThat(lines).hasSize(2_000);
  }

  private static io.grpc.health.v1.HealthCheckResponse.ServingStatus readiness(ManagedChannel channel) {
    try {
      return io.grpc.health.v1.HealthGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .check(io.grpc.health.v1.HealthCheckRequest.getDefaultInstance()).getStatus();
    } catch (io.grpc.StatusRuntimeException e) {
      return io.grpc.health.v1.HealthCheckResponse.ServingStatus.UNKNOWN;
    }
  }

  @Test
  void aDatabaseRestartWhileJobsRunIsReportedByReadinessAndLosesNoJob() throws Exception {
    var r1 = replica("r1", "--max-workers", "2", "--jobs-per-worker", "2");
    var r2 = replica("r2", "--max-workers", "2", "--jobs-per-worker", "2");
    before = "sleep 0.3; ";
    var queued = new HashSet<String>(queue(channel(r1), 100));
    queued.addAll(queue(channel(r2), 100));
    await().atMost(Duration.ofSeconds(60)).until(() -> sideEffectLines().size() >= 20);

    int port = postgres.port();
    postgres.close();
    postgres = null;
    var probe = channel(r1);
    await().atMost(Duration.ofSeconds(30)).until(() ->
        readiness(probe) == io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING);
    Thread.sleep(3_000); // jobs keep finishing on the workers meanwhile; their results wait
    postgres = DevPostgres.start(data(), port);

    await().atMost(Duration.ofSeconds(60)).until(() ->
        readiness(probe) == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    try (var c = sql()) {
      try {
        await().atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofSeconds(2))
            .until(() -> statesOf(c).getOrDefault("SUCCEEDED", 0L) == 200);
      } catch (org.awaitility.core.ConditionTimeoutException e) {
        throw new AssertionError(whereJobsStand(c), e);
      }
    }
    List<String> lines = sideEffectLines();
    assertThat(new HashSet<>(lines)).isEqualTo(queued);
    assertThat(lines).hasSize(200);
  }

  private static String text(Connection c, String query) throws Exception {
    try (var st = c.createStatement(); var rs = st.executeQuery(query)) {
      return rs.next() ? rs.getString(1) : "";
    }
  }

  private static io.hodei.api.v1.Job job(ManagedChannel channel, String id) {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getJob(io.hodei.api.v1.GetJobRequest.newBuilder().setJobId(id).build()).getJob();
  }

  private static String queueOne(ManagedChannel channel, String script) {
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(JobDefinition.newBuilder().setName("one")
            .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("sh").addArgs("-c").addArgs(script))))
            .build()).getJobId();
  }

  /** The replica (of r1, r2) that holds the stream of the worker running {@code job}, once it runs. */
  private ServerProcess holderOf(Connection c, ManagedChannel channel, String job) throws Exception {
    await().atMost(Duration.ofSeconds(60)).until(() -> job(channel, job).getState() == io.hodei.api.v1.JobState.JOB_STATE_RUNNING);
    String worker = job(channel, job).getAttempts(0).getWorkerId();
    String replica = text(c, "SELECT replica_id FROM workers WHERE id = '" + worker + "'");
    assertThat(replica).isIn("r1", "r2");
    return replicas.get(replica.equals("r1") ? 0 : 1);
  }

  @Test
  void whenTheLeaderIsKilledTheOtherReplicaLeadsAndStartsWorkersForItsJobs() throws Exception {
    replica("r1", "--max-workers", "2");
    replica("r2", "--max-workers", "2");
    try (var c = sql()) {
      String leader = text(c, "SELECT holder FROM leases WHERE name = 'leader'");
      assertThat(leader).isIn("r1", "r2");
      var dead = replicas.get(leader.equals("r1") ? 0 : 1);
      var survivor = replicas.get(leader.equals("r1") ? 1 : 0);
      String survivorId = leader.equals("r1") ? "r2" : "r1";
      dead.kill9();

      String id = queueOne(channel(survivor), "echo after the leader died");
      var channel = channel(survivor);
      // The dead leader ran on this host and its pid is gone: at its next renewal (every third of
      // the 10 s lease) the survivor takes its leases over without waiting them out: leadership,
      // and the pool's, whose holder starts its workers.
      await().atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(200)).until(() -> text(c,
          "SELECT string_agg(name || '=' || holder, ',' ORDER BY name) FROM leases WHERE expires_at > "
              + System.currentTimeMillis()).equals("leader=" + survivorId + ",pool:local=" + survivorId));
      // Then a worker is started for the job (its registration token issued by the survivor), and it runs there.
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).until(() ->
          single(c, "SELECT count(*) FROM otp_tokens WHERE replica_id = '" + survivorId + "'") > 0);
      await().atMost(Duration.ofSeconds(60)).until(() -> job(channel, id).getState() == io.hodei.api.v1.JobState.JOB_STATE_SUCCEEDED);
    }
  }

  @Test
  void aJobIsCancelledThroughTheReplicaThatDoesNotHoldItsWorker() throws Exception {
    var r1 = replica("r1", "--max-workers", "1");
    replica("r2", "--max-workers", "1");
    try (var c = sql()) {
      var any = channel(r1);
      String id = queueOne(any, "sleep 300");
      var holder = holderOf(c, any, id);
      var other = channel(replicas.get(replicas.indexOf(holder) == 0 ? 1 : 0));

      JobExecutionServiceGrpc.newBlockingStub(other).withDeadlineAfter(10, TimeUnit.SECONDS)
          .cancelJob(io.hodei.api.v1.CancelJobRequest.newBuilder().setJobId(id).setReason("not needed").build());

      await().atMost(Duration.ofSeconds(15)).until(() -> job(other, id).getState() == io.hodei.api.v1.JobState.JOB_STATE_CANCELLED);
    }
  }

  @Test
  void aFollowerOnTheReplicaThatDoesNotHoldTheWorkerSeesEveryLineOnceInOrder() throws Exception {
    var r1 = replica("r1", "--max-workers", "1");
    replica("r2", "--max-workers", "1");
    try (var c = sql()) {
      var any = channel(r1);
      String id = queueOne(any, "sleep 1; for i in $(seq 1 200); do echo line $i; sleep 0.01; done");
      var holder = holderOf(c, any, id);
      var other = channel(replicas.get(replicas.indexOf(holder) == 0 ? 1 : 0));

      List<String> lines = new ArrayList<>();
      io.hodei.api.v1.LogStreamServiceGrpc.newBlockingStub(other).withDeadlineAfter(60, TimeUnit.SECONDS)
          .streamLogs(io.hodei.api.v1.StreamLogsRequest.newBuilder().setJobId(id).setFollow(true).build())
          .forEachRemaining(r -> r.getLinesList().forEach(l -> lines.add(l.getData().toStringUtf8())));

      List<String> expected = new ArrayList<>();
      for (int i = 1; i <= 200; i++) {
        expected.add("line " + i);
      }
      assertThat(lines).isEqualTo(expected);
    }
  }
}
