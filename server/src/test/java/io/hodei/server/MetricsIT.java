package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.GetAggregatedMetricsRequest;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.MetricsServiceGrpc;
import io.hodei.api.v1.StreamMetricsRequest;
import io.hodei.api.v1.WorkerMetrics;
import io.hodei.api.v1.WorkerMetricsSummary;
import io.hodei.server.api.GrpcErrors;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.wire.WireMapping;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * UC8 over a real socket: real worker processes sample their own cgroup, their heartbeats reach the
 * control plane, and MetricsService serves them live and summed up.
 */
class MetricsIT {
  @TempDir static Path dir;
  static TestControlPlane plane;

  @BeforeAll
  static void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)).withMinIdle(1),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                .withPort(0)
                .withHeartbeats(Duration.ofMillis(300), Duration.ofSeconds(5)),
            List.of());
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  static MetricsServiceGrpc.MetricsServiceBlockingStub metrics() {
    return MetricsServiceGrpc.newBlockingStub(plane.channel)
        .withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  /** A StreamMetrics call whose samples are collected until it is cancelled. */
  static final class Follower
      implements ClientResponseObserver<StreamMetricsRequest, WorkerMetrics> {
    final List<WorkerMetrics> samples = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> ended = new AtomicReference<>();
    volatile ClientCallStreamObserver<StreamMetricsRequest> call;

    static Follower follow(String workerId) {
      var follower = new Follower();
      MetricsServiceGrpc.newStub(plane.channel)
          .streamMetrics(StreamMetricsRequest.newBuilder().setWorkerId(workerId).build(), follower);
      return follower;
    }

    List<WorkerMetrics> of(String workerId) {
      return samples.stream().filter(s -> s.getWorkerId().equals(workerId)).toList();
    }

    void cancel() {
      call.cancel("test done", null);
    }

    @Override
    public void beforeStart(ClientCallStreamObserver<StreamMetricsRequest> requestStream) {
      call = requestStream;
    }

    @Override
    public void onNext(WorkerMetrics value) {
      samples.add(value);
    }

    @Override
    public void onError(Throwable t) {
      ended.set(t);
    }

    @Override
    public void onCompleted() {
      ended.set(new IllegalStateException("the server ended an endless stream"));
    }
  }

  @Test
  void aWorkersHeartbeatsAppearInItsMetricsStreamAsTheyArrive() {
    String job = plane.queue(TestControlPlane.shell("sleep", "60"));
    await()
        .atMost(Duration.ofSeconds(60))
        .until(() -> plane.get(job).getState() == JobState.JOB_STATE_RUNNING);
    String worker = plane.get(job).getWorkerId();
    var one = Follower.follow(worker);
    var all = Follower.follow("");
    try {
      await()
          .atMost(Duration.ofSeconds(30))
          .until(
              () ->
                  one.samples.stream()
                          .filter(s -> s.getRunningJobIdsList().contains(job))
                          .map(WorkerMetrics::getAt)
                          .distinct()
                          .count()
                      >= 3);
      await().atMost(Duration.ofSeconds(30)).until(() -> !all.of(worker).isEmpty());

      assertThat(one.samples).allSatisfy(s -> assertThat(s.getWorkerId()).isEqualTo(worker));
      assertThat(one.samples)
          .extracting(s -> WireMapping.toDomain(s.getAt()))
          .isSortedAccordingTo(Instant::compareTo);
      WorkerMetrics last = one.samples.getLast();
      assertThat(last.getUsage().hasCollectedAt()).isTrue();
      assertThat(last.getUsage().getMemoryBytes()).isPositive();
      assertThat(last.getUsage().getPids()).isPositive();
      assertThat(last.getUsage().getCpuCores()).isNotNegative();
      assertThat(last.getHostUsage().getMemoryTotalBytes()).isPositive();
      assertThat(last.getHostUsage().getCpuCount()).isPositive();
      assertThat(one.ended.get()).isNull();
    } finally {
      one.cancel();
      all.cancel();
      plane.jobs().cancelJob(CancelJobRequest.newBuilder().setJobId(job).build());
    }
    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> one.ended.get() != null && all.ended.get() != null);
    assertThat(Status.fromThrowable(one.ended.get()).getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void aggregatedMetricsCountTheJobsSinceAnInstantAndSumUpEachWorker() {
    // The server's clock ticks in milliseconds: a finer instant could lie in its future.
    Instant since = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    String ok = plane.queue(TestControlPlane.shell("true"));
    String bad = plane.queue(TestControlPlane.shell("false"));
    assertThat(plane.follow(ok).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(plane.follow(bad).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);
    var request =
        GetAggregatedMetricsRequest.newBuilder().setSince(WireMapping.toWire(since)).build();
    await()
        .atMost(Duration.ofSeconds(30))
        .until(
            () ->
                metrics().getAggregatedMetrics(request).getWorkersList().stream()
                    .anyMatch(WorkerMetricsSummary::getConnected));

    var figures = metrics().getAggregatedMetrics(request);

    assertThat(figures.getJobsQueued()).isEqualTo(2);
    assertThat(figures.getJobsSucceeded()).isEqualTo(1);
    assertThat(figures.getJobsFailed()).isEqualTo(1);
    assertThat(figures.getWorkersConnected()).isBetween(1L, 2L);
    assertThat(WireMapping.toDomain(figures.getSince())).isEqualTo(since);
    long memoryOfConnected = 0;
    for (var worker : figures.getWorkersList()) {
      assertThat(worker.getSamples()).isPositive();
      assertThat(worker.getLatest().getWorkerId()).isEqualTo(worker.getWorkerId());
      assertThat(WireMapping.toDomain(worker.getLatest().getAt())).isAfterOrEqualTo(since);
      assertThat(worker.getMaxCpuCores())
          .isGreaterThanOrEqualTo(worker.getAverageCpuCores())
          .isNotNegative();
      assertThat(worker.getAverageMemoryBytes()).isPositive();
      assertThat(worker.getMaxMemoryBytes()).isGreaterThanOrEqualTo(worker.getAverageMemoryBytes());
      if (worker.getConnected()) {
        memoryOfConnected += worker.getLatest().getUsage().getMemoryBytes();
      }
    }
    assertThat(figures.getTotalUsage().getMemoryBytes()).isEqualTo(memoryOfConnected).isPositive();
    assertThat(figures.getTotalUsage().hasCollectedAt()).isTrue();
  }

  @Test
  void withoutSinceTheWindowIsTheLastHour() {
    Instant before = Instant.now();

    var figures = metrics().getAggregatedMetrics(GetAggregatedMetricsRequest.getDefaultInstance());

    assertThat(WireMapping.toDomain(figures.getSince()))
        .isBetween(
            before.minus(Duration.ofHours(1)).minusSeconds(1),
            Instant.now().minus(Duration.ofHours(1)));
  }

  @Test
  void streamingTheMetricsOfAnUnknownWorkerIsNotFoundNamingIt() {
    var failure =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                metrics()
                    .streamMetrics(
                        StreamMetricsRequest.newBuilder().setWorkerId("no-such-worker").build())
                    .hasNext());

    assertThat(failure.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(failure.getStatus().getDescription()).contains("no-such-worker");
  }

  @Test
  void aWindowStartingInTheFutureIsAnInvalidArgumentNamingTheField() {
    var request =
        GetAggregatedMetricsRequest.newBuilder()
            .setSince(WireMapping.toWire(Instant.now().plus(Duration.ofHours(1))))
            .build();

    var failure =
        catchThrowableOfType(
            StatusRuntimeException.class, () -> metrics().getAggregatedMetrics(request));

    assertThat(failure.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(failure.getStatus().getDescription()).startsWith("since:");
    assertThat(failure.getTrailers().get(GrpcErrors.FIELD)).isEqualTo("since");
  }
}
