package io.hodei.server.metrics;

import io.hodei.api.v1.WorkerHeartbeat;
import io.hodei.api.v1.WorkerMetrics;
import io.hodei.core.worker.WorkerId;
import io.hodei.wire.WireMapping;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The recent resource usage of every worker, as its heartbeats reported it, and a live feed of new
 * samples. In memory only: a restart forgets it.
 *
 * <p>Bound: per worker, the newest {@value #MAX_SAMPLES} samples and none older than {@link
 * #MAX_AGE}, whichever is fewer (at the default 5 s heartbeat both are one hour; faster heartbeats
 * reach the count first). A worker whose newest sample is older than {@link #MAX_AGE} is forgotten.
 * So memory is bounded by the workers heard from in the last hour times {@value #MAX_SAMPLES}
 * samples.
 *
 * <p>A sample is the API's {@link WorkerMetrics}: what one heartbeat carried, with {@code at} set
 * to its arrival by this server's clock and {@code running_job_ids} to the jobs the server has on
 * the worker at that moment. Heartbeats without usage (a worker's first second, before its first
 * sample) are not recorded. Within a worker's series, samples are in arrival order.
 *
 * <p>Listeners ({@link #subscribe}) get, for each worker they follow, first its newest sample, then
 * every sample recorded after, in order. They are called synchronously on the recording thread,
 * under the history's lock, so they must not block nor call back into the history; one that throws
 * is dropped.
 *
 * <p>Thread-safe: one monitor guards the series and the listeners, and is held only for in-memory
 * work.
 */
public final class UsageHistory {
  private static final Logger log = LoggerFactory.getLogger(UsageHistory.class);

  public static final int MAX_SAMPLES = 720;
  public static final Duration MAX_AGE = Duration.ofHours(1);
  private static final Duration PRUNE_EVERY = Duration.ofMinutes(1);

  /** A listener's registration; closing it stops the calls. Idempotent. */
  public interface Subscription extends AutoCloseable {
    @Override
    void close();
  }

  /**
   * One worker's samples over a window.
   *
   * @param latest the newest sample of the window
   * @param samples how many samples the window holds (at least one)
   */
  public record Summary(
      WorkerId worker,
      WorkerMetrics latest,
      int samples,
      double averageCpuCores,
      double maxCpuCores,
      long averageMemoryBytes,
      long maxMemoryBytes) {}

  private record Listener(Optional<WorkerId> worker, Consumer<WorkerMetrics> consumer) {
    boolean follows(WorkerId id) {
      return worker.isEmpty() || worker.get().equals(id);
    }
  }

  private final Clock clock;
  private final Function<WorkerId, Collection<String>> runningJobs;
  // All guarded by this.
  private final Map<WorkerId, ArrayDeque<WorkerMetrics>> series = new HashMap<>();
  private final List<Listener> listeners = new ArrayList<>();
  private Instant nextPrune = Instant.MIN;

  /**
   * @param runningJobs the ids of the jobs the server has on a worker now; called outside the
   *     history's lock
   */
  public UsageHistory(Clock clock, Function<WorkerId, Collection<String>> runningJobs) {
    this.clock = clock;
    this.runningJobs = runningJobs;
  }

  /** Records the usage {@code heartbeat} carries, if any, and hands it to the listeners. */
  public void record(WorkerId worker, WorkerHeartbeat heartbeat) {
    if (!heartbeat.hasUsage()) {
      return;
    }
    WorkerMetrics sample =
        WorkerMetrics.newBuilder()
            .setWorkerId(worker.value())
            .setUsage(heartbeat.getUsage())
            .setAt(WireMapping.toWire(clock.instant()))
            .setHostUsage(heartbeat.getHostUsage())
            .addAllJobUsage(heartbeat.getJobUsageList())
            .addAllRunningJobIds(runningJobs.apply(worker))
            .build();
    add(worker, sample);
    var published = onLocalSample;
    if (published != null) {
      published.accept(sample);
    }
  }

  /**
   * Records a sample another replica received (its worker streams to that replica), unless it is
   * not newer than the newest one held for that worker: followers here see every worker.
   */
  public void recordFromPeer(WorkerMetrics sample) {
    WorkerId worker = new WorkerId(sample.getWorkerId());
    synchronized (this) {
      var samples = series.get(worker);
      if (samples != null && !samples.isEmpty()
          && !WireMapping.toDomain(sample.getAt()).isAfter(WireMapping.toDomain(samples.getLast().getAt()))) {
        return;
      }
    }
    add(worker, sample);
  }

  private volatile Consumer<WorkerMetrics> onLocalSample;

  /** Hands every sample recorded from a heartbeat here to {@code consumer} too (one at most: the replica relay). */
  public void onLocalSample(Consumer<WorkerMetrics> consumer) {
    this.onLocalSample = consumer;
  }

  private void add(WorkerId worker, WorkerMetrics sample) {
    Instant now = clock.instant();
    synchronized (this) {
      var samples = series.computeIfAbsent(worker, k -> new ArrayDeque<>());
      samples.addLast(sample);
      trim(samples, now);
      if (!now.isBefore(nextPrune)) {
        pruneAll(now);
        nextPrune = now.plus(PRUNE_EVERY);
      }
      for (Listener listener : List.copyOf(listeners)) {
        if (listener.follows(worker)) {
          deliver(listener, sample);
        }
      }
    }
  }

  /**
   * Calls {@code consumer} with the newest sample of each worker followed ({@code worker}, or all
   * when empty), at once on this thread, then with every new sample as it is recorded.
   */
  public synchronized Subscription subscribe(
      Optional<WorkerId> worker, Consumer<WorkerMetrics> consumer) {
    Listener listener = new Listener(worker, consumer);
    listeners.add(listener);
    for (WorkerMetrics newest : latest()) {
      if (listener.follows(new WorkerId(newest.getWorkerId()))) {
        deliver(listener, newest);
      }
    }
    return () -> {
      synchronized (UsageHistory.this) {
        listeners.remove(listener);
      }
    };
  }

  /** Whether the history holds samples of {@code worker}. */
  public synchronized boolean knows(WorkerId worker) {
    pruneAll(clock.instant());
    return series.containsKey(worker);
  }

  /** The newest sample of every worker, by worker id. */
  public synchronized List<WorkerMetrics> latest() {
    pruneAll(clock.instant());
    return series.values().stream()
        .map(ArrayDeque::getLast)
        .sorted(Comparator.comparing(WorkerMetrics::getWorkerId))
        .toList();
  }

  /** Per worker with samples received at or after {@code since}: those samples summed up. */
  public synchronized List<Summary> summaries(Instant since) {
    pruneAll(clock.instant());
    List<Summary> summaries = new ArrayList<>();
    series.forEach(
        (worker, samples) -> {
          int count = 0;
          double cpuSum = 0;
          double cpuMax = 0;
          double memorySum = 0;
          long memoryMax = 0;
          WorkerMetrics newest = null;
          for (WorkerMetrics sample : samples) {
            if (WireMapping.toDomain(sample.getAt()).isBefore(since)) {
              continue;
            }
            count++;
            cpuSum += sample.getUsage().getCpuCores();
            cpuMax = Math.max(cpuMax, sample.getUsage().getCpuCores());
            memorySum += sample.getUsage().getMemoryBytes();
            memoryMax = Math.max(memoryMax, sample.getUsage().getMemoryBytes());
            newest = sample;
          }
          if (count > 0) {
            summaries.add(
                new Summary(
                    worker,
                    newest,
                    count,
                    cpuSum / count,
                    cpuMax,
                    Math.round(memorySum / count),
                    memoryMax));
          }
        });
    summaries.sort(Comparator.comparing(s -> s.worker().value()));
    return summaries;
  }

  private void deliver(Listener listener, WorkerMetrics sample) {
    try {
      listener.consumer().accept(sample);
    } catch (RuntimeException e) {
      listeners.remove(listener);
      log.error("a usage listener failed and was dropped; this indicates a bug", e);
    }
  }

  private static void trim(ArrayDeque<WorkerMetrics> samples, Instant now) {
    while (samples.size() > MAX_SAMPLES) {
      samples.removeFirst();
    }
    Instant oldest = now.minus(MAX_AGE);
    while (!samples.isEmpty()
        && WireMapping.toDomain(samples.getFirst().getAt()).isBefore(oldest)) {
      samples.removeFirst();
    }
  }

  private void pruneAll(Instant now) {
    series
        .values()
        .removeIf(
            samples -> {
              trim(samples, now);
              return samples.isEmpty();
            });
  }
}
