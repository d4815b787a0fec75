package io.hodei.server.cluster;

import io.hodei.api.v1.WorkerMetrics;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerStore;
import io.hodei.server.metrics.UsageHistory;
import io.hodei.wire.WireMapping;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage samples between replicas, so that {@code StreamMetrics} and {@code GetAggregatedMetrics}
 * on any replica cover every worker: while another replica lives, the newest sample of each worker
 * streaming here is written to the store every {@link #EVERY} (conflated: one row per worker), and
 * the samples the others wrote since the last read are added to this replica's history.
 *
 * <p>The heartbeat path only puts the sample in a map; the store is written from this loop.
 */
public final class SampleRelay implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SampleRelay.class);
  public static final Duration EVERY = Duration.ofMillis(500);
  /** Read back this much before the last read: a peer's clock, or its write, may lag. */
  private static final Duration OVERLAP = Duration.ofSeconds(2);

  private final WorkerStore workers;
  private final UsageHistory history;
  private final Membership membership;
  private final Clock clock;
  private final Map<WorkerId, WorkerMetrics> unpublished = new LinkedHashMap<>();
  private volatile boolean running;
  private Thread thread;

  public SampleRelay(WorkerStore workers, UsageHistory history, Membership membership, Clock clock) {
    this.workers = workers;
    this.history = history;
    this.membership = membership;
    this.clock = clock;
    history.onLocalSample(this::offer);
  }

  private synchronized void offer(WorkerMetrics sample) {
    unpublished.put(new WorkerId(sample.getWorkerId()), sample);
  }

  private synchronized Map<WorkerId, WorkerMetrics> takeUnpublished() {
    var out = new LinkedHashMap<>(unpublished);
    unpublished.clear();
    return out;
  }

  public synchronized void start() {
    running = true;
    thread = Thread.ofVirtual().name("relay-usage-samples").start(this::loop);
  }

  private void loop() {
    Instant readFrom = clock.instant().minus(OVERLAP);
    while (running) {
      try {
        var pending = takeUnpublished();
        if (membership.shared()) {
          pending.forEach((worker, sample) ->
              workers.saveSample(worker, membership.id(), WireMapping.toDomain(sample.getAt()), sample.toByteArray()));
          Instant now = clock.instant();
          for (byte[] bytes : workers.samplesSince(readFrom, membership.id())) {
            history.recordFromPeer(WorkerMetrics.parseFrom(bytes));
          }
          readFrom = now.minus(OVERLAP);
        }
      } catch (RuntimeException | com.google.protobuf.InvalidProtocolBufferException e) {
        log.debug("could not relay usage samples between replicas: {}", e.getMessage());
      }
      try {
        Thread.sleep(EVERY);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  @Override
  public synchronized void close() {
    running = false;
    if (thread != null) {
      thread.interrupt();
    }
  }
}
