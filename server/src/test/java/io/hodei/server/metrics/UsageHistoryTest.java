package io.hodei.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.hodei.api.v1.HostUsage;
import io.hodei.api.v1.ResourceUsage;
import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerMetrics;
import io.hodei.core.worker.WorkerId;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class UsageHistoryTest {
  static final WorkerId A = new WorkerId("worker-a");
  static final WorkerId B = new WorkerId("worker-b");
  final io.hodei.server.HandClock clock = new io.hodei.server.HandClock(Instant.parse("2026-01-01T00:00:00Z"));
  final UsageHistory history = new UsageHistory(clock, id -> List.of("job-of-" + id.value()));

  static WorkerHeartbeat heartbeat(double cpu, long memory) {
    return WorkerHeartbeat.newBuilder()
        .setUsage(ResourceUsage.newBuilder().setCpuCores(cpu).setMemoryBytes(memory))
        .setHostUsage(HostUsage.newBuilder().setCpuCount(8))
        .build();
  }

  @Test
  void aSampleIsTheHeartbeatsUsageWithItsArrivalAndTheWorkersRunningJobs() {
    history.record(A, heartbeat(0.5, 100));

    WorkerMetrics sample = history.latest().getFirst();
    assertThat(sample.getWorkerId()).isEqualTo("worker-a");
    assertThat(sample.getUsage().getCpuCores()).isEqualTo(0.5);
    assertThat(sample.getHostUsage().getCpuCount()).isEqualTo(8);
    assertThat(sample.getAt().getSeconds()).isEqualTo(clock.instant().getEpochSecond());
    assertThat(sample.getRunningJobIdsList()).containsExactly("job-of-worker-a");
    assertThat(history.knows(A)).isTrue();
    assertThat(history.knows(B)).isFalse();
  }

  @Test
  void heartbeatsWithoutUsageAreNotRecorded() {
    history.record(A, WorkerHeartbeat.getDefaultInstance());

    assertThat(history.latest()).isEmpty();
    assertThat(history.knows(A)).isFalse();
  }

  @Test
  void summariesCoverTheSamplesSinceTheGivenInstantPerWorker() {
    history.record(A, heartbeat(4.0, 4000)); // before the window
    clock.advance(Duration.ofSeconds(10));
    Instant since = clock.instant();
    history.record(A, heartbeat(1.0, 100));
    clock.advance(Duration.ofSeconds(5));
    history.record(A, heartbeat(2.0, 300));
    history.record(B, heartbeat(0.25, 50));

    var summaries = history.summaries(since);

    assertThat(summaries).extracting(UsageHistory.Summary::worker).containsExactly(A, B);
    var a = summaries.getFirst();
    assertThat(a.samples()).isEqualTo(2);
    assertThat(a.averageCpuCores()).isCloseTo(1.5, within(1e-9));
    assertThat(a.maxCpuCores()).isEqualTo(2.0);
    assertThat(a.averageMemoryBytes()).isEqualTo(200);
    assertThat(a.maxMemoryBytes()).isEqualTo(300);
    assertThat(a.latest().getUsage().getCpuCores()).isEqualTo(2.0);
    assertThat(history.summaries(clock.instant().plusSeconds(1))).isEmpty();
  }

  @Test
  void aWorkerKeepsAtMostMaxSamplesAndNoneOlderThanAnHour() {
    for (int i = 0; i < UsageHistory.MAX_SAMPLES + 10; i++) {
      history.record(A, heartbeat(i, i));
      clock.advance(Duration.ofMillis(100));
    }
    var all = history.summaries(Instant.EPOCH).getFirst();
    assertThat(all.samples()).isEqualTo(UsageHistory.MAX_SAMPLES);
    assertThat(all.maxCpuCores()).isEqualTo(UsageHistory.MAX_SAMPLES + 9);

    clock.advance(UsageHistory.MAX_AGE);
    history.record(A, heartbeat(0, 0));
    assertThat(history.summaries(Instant.EPOCH).getFirst().samples()).isEqualTo(1);
  }

  @Test
  void aWorkerNotHeardFromForAnHourIsForgotten() {
    history.record(A, heartbeat(1, 1));
    clock.advance(UsageHistory.MAX_AGE.plusSeconds(1));
    history.record(B, heartbeat(1, 1));

    assertThat(history.knows(A)).isFalse();
    assertThat(history.latest()).extracting(WorkerMetrics::getWorkerId).containsExactly("worker-b");
  }

  @Test
  void aListenerGetsTheNewestSampleOfEachWorkerFirstThenEveryNewOne() {
    history.record(A, heartbeat(1, 1));
    history.record(A, heartbeat(2, 2));
    history.record(B, heartbeat(3, 3));
    List<WorkerMetrics> all = new ArrayList<>();
    List<WorkerMetrics> onlyB = new ArrayList<>();

    var everyWorker = history.subscribe(Optional.empty(), all::add);
    history.subscribe(Optional.of(B), onlyB::add);
    history.record(A, heartbeat(4, 4));
    history.record(B, heartbeat(5, 5));
    everyWorker.close();
    everyWorker.close();
    history.record(A, heartbeat(6, 6));

    assertThat(all).extracting(m -> m.getUsage().getCpuCores()).containsExactly(2.0, 3.0, 4.0, 5.0);
    assertThat(onlyB).extracting(m -> m.getUsage().getCpuCores()).containsExactly(3.0, 5.0);
  }

  @Test
  void aListenerThatThrowsIsDroppedAndRecordingGoesOn() {
    List<WorkerMetrics> good = new ArrayList<>();
    history.subscribe(
        Optional.empty(),
        m -> {
          throw new IllegalStateException("broken listener");
        });
    history.subscribe(Optional.empty(), good::add);

    history.record(A, heartbeat(1, 1));
    history.record(A, heartbeat(2, 2));

    assertThat(good).hasSize(2);
    assertThat(history.summaries(Instant.EPOCH).getFirst().samples()).isEqualTo(2);
  }
}
