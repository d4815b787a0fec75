package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.WorkerStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local workers that outlive a kill -9 of {@code hodei dev} come back into the pool that started
 * them, as that pool, counted against its limit: a restart with a smaller limit keeps only as many
 * (idle ones beyond it are stopped), and none of them turns into an uncounted "external" worker.
 */
class WorkerAdoptionIT {
  @TempDir Path dir;

  private static List<io.hodei.api.v1.Worker> live(ManagedChannel channel) {
    return SchedulerServiceGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS)
        .listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList().stream()
        .filter(w -> w.getStatus() != WorkerStatus.WORKER_STATUS_TERMINATED)
        .toList();
  }

  @Test
  void workersOfAnEarlierLifeAreTakenBackWithinThePoolsLimitAndTheRestStopped() throws Exception {
    Path data = dir.resolve("data");
    var first = new ServerProcess(data, List.of("--max-workers", "2", "--min-idle", "2")).start();
    var channel = first.channel();
    await().atMost(Duration.ofSeconds(90)).until(() -> live(channel).size() == 2);
    channel.shutdownNow();
    first.kill9();

    try (var again = first.withArguments(List.of("--max-workers", "1")).start()) {
      var channel2 = again.channel();
      try {
        await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> {
          var workers = live(channel2);
          assertThat(workers).as(() -> workers.stream().map(w -> w.getInfo().getWorkerId() + " " + w.getProvider() + " " + w.getStatus()).toList().toString()).hasSize(1);
          assertThat(workers).allSatisfy(w -> assertThat(w.getProvider()).isEqualTo("local"));
        });
        // And it stays so: the one beyond the limit does not come back.
        Thread.sleep(3000);
        assertThat(live(channel2)).hasSize(1);
      } finally {
        channel2.shutdownNow();
      }
    }
  }
}
