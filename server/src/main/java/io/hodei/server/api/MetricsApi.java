package io.hodei.server.api;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.GetAggregatedMetricsRequest;
import io.hodei.api.v1.GetAggregatedMetricsResponse;
import io.hodei.api.v1.MetricsServiceGrpc;
import io.hodei.api.v1.ResourceUsage;
import io.hodei.api.v1.StreamMetricsRequest;
import io.hodei.api.v1.WorkerMetrics;
import io.hodei.api.v1.WorkerMetricsSummary;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.core.error.NotFoundException;
import io.hodei.core.job.Job;
import io.hodei.core.job.JobQuery;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.core.job.Page;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.metrics.UsageHistory;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.wire.WireMapping;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * UC8: live usage of the workers ({@code StreamMetrics}) and figures over a window ({@code
 * GetAggregatedMetrics}), from the heartbeats kept in a {@link UsageHistory}.
 *
 * <p>StreamMetrics never holds up the heartbeat path: the history hands each new sample to the
 * call's {@link Feed} on the thread that received the heartbeat, which only stores it; writing
 * happens on a virtual thread of this API's own, only while the call is ready, and a slow client
 * gets per worker only the newest sample it has not read (samples are conflated, unlike logs).
 *
 * <p>Thread-safe: the API keeps no state of its own beyond that sender; each call's state is in its
 * {@link Feed}.
 */
public final class MetricsApi extends MetricsServiceGrpc.MetricsServiceImplBase {
  private static final Logger log = LoggerFactory.getLogger(MetricsApi.class);

  private final UsageHistory history;
  private final java.util.function.Supplier<Set<WorkerId>> attachedElsewhere;
  private final WorkerRegistry registry;
  private final JobStore jobs;
  private final Clock clock;
  private final Executor sender =
      Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("metrics-send-", 0).factory());

  public MetricsApi(UsageHistory history, WorkerRegistry registry, JobStore jobs, Clock clock) {
    this(history, registry, jobs, clock, java.util.Set::of);
  }

  /** @param attachedElsewhere the workers streaming to other live replicas now: connected too */
  public MetricsApi(
      UsageHistory history, WorkerRegistry registry, JobStore jobs, Clock clock,
      java.util.function.Supplier<Set<WorkerId>> attachedElsewhere) {
    this.attachedElsewhere = attachedElsewhere;
    this.history = history;
    this.registry = registry;
    this.jobs = jobs;
    this.clock = clock;
  }

  @Override
  public void streamMetrics(StreamMetricsRequest request, StreamObserver<WorkerMetrics> response) {
    Optional<WorkerId> worker =
        request.getWorkerId().isBlank()
            ? Optional.empty()
            : Optional.of(new WorkerId(request.getWorkerId()));
    if (worker.isPresent()
        && registry.find(worker.get()).isEmpty()
        && !history.knows(worker.get())
        && !attachedElsewhere.get().contains(worker.get())) {
      throw new NotFoundException("worker", worker.get().value());
    }
    var feed = new Feed((ServerCallStreamObserver<WorkerMetrics>) response, sender);
    feed.follow(history, worker);
  }

  @Override
  public void getAggregatedMetrics(
      GetAggregatedMetricsRequest request, StreamObserver<GetAggregatedMetricsResponse> response) {
    Instant now = clock.instant();
    Instant since =
        request.hasSince()
            ? WireMapping.toDomain(request.getSince())
            : now.minus(UsageHistory.MAX_AGE);
    if (since.isAfter(now)) {
      throw new InvalidSpecException("since", "is in the future (" + since + "; now " + now + ")");
    }
    Set<WorkerId> connected =
        registry.snapshot().stream()
            .filter(w -> w.attached() && w.terminatedAt().isEmpty())
            .map(w -> w.info().id())
            .collect(Collectors.toCollection(java.util.HashSet::new));
    connected.addAll(attachedElsewhere.get());
    var result =
        GetAggregatedMetricsResponse.newBuilder()
            .setSince(WireMapping.toWire(since))
            .setWorkersConnected(connected.size());
    countJobs(since, result);
    var total = ResourceUsage.newBuilder().setCollectedAt(WireMapping.toWire(now));
    for (var summary : history.summaries(since)) {
      boolean isConnected = connected.contains(summary.worker());
      result.addWorkers(
          WorkerMetricsSummary.newBuilder()
              .setWorkerId(summary.worker().value())
              .setLatest(summary.latest())
              .setSamples(summary.samples())
              .setAverageCpuCores(summary.averageCpuCores())
              .setMaxCpuCores(summary.maxCpuCores())
              .setAverageMemoryBytes(summary.averageMemoryBytes())
              .setMaxMemoryBytes(summary.maxMemoryBytes())
              .setConnected(isConnected));
      if (isConnected) {
        var usage = summary.latest().getUsage();
        total
            .setCpuCores(total.getCpuCores() + usage.getCpuCores())
            .setMemoryBytes(total.getMemoryBytes() + usage.getMemoryBytes())
            .setDiskBytes(total.getDiskBytes() + usage.getDiskBytes())
            .setIoReadBytes(total.getIoReadBytes() + usage.getIoReadBytes())
            .setIoWriteBytes(total.getIoWriteBytes() + usage.getIoWriteBytes())
            .setPids(total.getPids() + usage.getPids());
      }
    }
    response.onNext(result.setTotalUsage(total).build());
    response.onCompleted();
  }

  /**
   * Jobs created at or after {@code since}, and how many of them succeeded and failed (timeouts
   * included), read page by page from the store.
   */
  private void countJobs(Instant since, GetAggregatedMetricsResponse.Builder result) {
    long queued = 0;
    long succeeded = 0;
    long failed = 0;
    Optional<String> token = Optional.empty();
    do {
      // createdAfter is exclusive, and the store keeps milliseconds.
      Page<Job> page =
          jobs.list(
              new JobQuery(
                  Set.of(),
                  Map.of(),
                  Optional.empty(),
                  Optional.of(since.minusMillis(1)),
                  Optional.empty(),
                  JobQuery.MAX_PAGE_SIZE,
                  token));
      for (Job job : page.items()) {
        queued++;
        if (job.state() == JobState.SUCCEEDED) {
          succeeded++;
        } else if (job.state() == JobState.FAILED || job.state() == JobState.TIMEOUT) {
          failed++;
        }
      }
      token = page.nextPageToken();
    } while (token.isPresent());
    result.setJobsQueued(queued).setJobsSucceeded(succeeded).setJobsFailed(failed);
  }

  /**
   * One StreamMetrics call.
   *
   * <p>{@code pending} holds, per worker, the newest sample not yet written, workers in the order
   * they became pending; a newer sample replaces an unwritten one in place. {@link #offer} (on the
   * recording thread, under the history's lock) only stores into it and schedules a drain. One
   * drain at a time runs, on {@code sender} ({@code wip} counts requests: whoever raises it from
   * zero starts the drain, which loops until it has seen them all), and writes only while the call
   * is ready; gRPC's on-ready handler schedules the next. On cancellation the subscription is
   * closed, whichever of the two (cancel, subscribe) comes first.
   */
  private static final class Feed {
    private final ServerCallStreamObserver<WorkerMetrics> out;
    private final Executor sender;
    private final AtomicInteger wip = new AtomicInteger();
    // Guarded by this.
    private final LinkedHashMap<String, WorkerMetrics> pending = new LinkedHashMap<>();
    private UsageHistory.Subscription subscription;
    private boolean cancelled;

    Feed(ServerCallStreamObserver<WorkerMetrics> out, Executor sender) {
      this.out = out;
      this.sender = sender;
    }

    void follow(UsageHistory history, Optional<WorkerId> worker) {
      out.setOnReadyHandler(this::schedule);
      out.setOnCancelHandler(this::cancel);
      var subscribed = history.subscribe(worker, this::offer);
      synchronized (this) {
        if (!cancelled) {
          subscription = subscribed;
          return;
        }
      }
      subscribed.close();
    }

    private void offer(WorkerMetrics sample) {
      synchronized (this) {
        if (cancelled) {
          return;
        }
        pending.put(sample.getWorkerId(), sample);
      }
      schedule();
    }

    private void cancel() {
      UsageHistory.Subscription toClose;
      synchronized (this) {
        cancelled = true;
        pending.clear();
        toClose = subscription;
      }
      if (toClose != null) {
        toClose.close();
      }
    }

    private void schedule() {
      if (wip.getAndIncrement() == 0) {
        sender.execute(this::drain);
      }
    }

    private void drain() {
      int missed = 1;
      do {
        while (out.isReady()) {
          WorkerMetrics next;
          synchronized (this) {
            var oldest = pending.values().iterator();
            if (cancelled || !oldest.hasNext()) {
              break;
            }
            next = oldest.next();
            oldest.remove();
          }
          try {
            out.onNext(next);
          } catch (RuntimeException e) {
            log.debug("metrics stream broke: {}", e.toString());
            cancel();
          }
        }
        missed = wip.addAndGet(-missed);
      } while (missed != 0);
    }
  }
}
