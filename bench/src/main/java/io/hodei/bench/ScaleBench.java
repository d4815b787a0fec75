package io.hodei.bench;

import io.hodei.api.v1.GetQueueStatusRequest;
import io.hodei.api.v1.GetQueueStatusResponse;
import io.hodei.api.v1.JobConstraints;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ListJobsResponse;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

/**
 * Issue 7, "scale": one server, many simulated workers ({@link SimFleet}: real registration, real
 * streams, real heartbeats over loopback gRPC, no process per worker), and a deep queue.
 *
 * <ol>
 *   <li>A server with no workers and an empty queue: the memory baseline. Then {@code P} jobs that
 *       no worker can take (they require a capability nobody has), queued with pipelined
 *       QueueJob calls: the submit rate, the server's memory with them pending, and a check that
 *       the queue holds exactly {@code P}.
 *   <li>For each fleet size {@code W}: a server that keeps {@code W} workers warm, each one a
 *       simulated worker. Once all are attached and have heartbeated: heap after a full GC and
 *       RSS, per worker against the baseline. Then scheduling time per job with every worker
 *       idle: from the QueueJob call to run_job reaching a worker, one job at a time (latency),
 *       then a burst (jobs/s and latency under load). Every job must succeed.
 * </ol>
 *
 * <p>Each server runs in a JVM of its own ({@link ScaleServer}) so its memory is its own.
 */
final class ScaleBench implements Benchmark {
  private static final String NAME = "scale";
  private static final int HEARTBEAT_SECONDS = 5;

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "1,000 and 10,000 simulated worker streams (memory, scheduling time per job) and 1M pending jobs";
  }

  @Override
  public void run(BenchContext context) throws Exception {
    // Overrides for measuring one part alone (before/after a fix): SCALE_WORKERS=1000,10000 (or
    // "none"), SCALE_PENDING=1000000 (0 skips the queue but still takes the memory baseline).
    List<Integer> fleets =
        java.util.Optional.ofNullable(System.getenv("SCALE_WORKERS"))
            .map(s -> s.equals("none") ? List.<Integer>of() : java.util.Arrays.stream(s.split(",")).map(Integer::parseInt).toList())
            .orElse(context.quick() ? List.of(50, 200) : List.of(1_000, 10_000));
    int pending =
        java.util.Optional.ofNullable(System.getenv("SCALE_PENDING")).map(Integer::parseInt).orElse(context.size(1_000_000, 5_000));
    Memory baseline = pendingQueue(context, pending);
    int previousWorkers = 0;
    Memory previous = baseline;
    for (int workers : fleets) {
      Memory m = fleet(context, workers, baseline);
      if (previousWorkers > 0) {
        // Between two fleet sizes: what one more worker costs, without the start-up noise of a
        // comparison against a server that never had a worker.
        Map<String, Object> params = Map.of("workers", workers, "from_workers", previousWorkers);
        report(context, "heap_per_worker_marginal", (double) (m.heap() - previous.heap()) / (workers - previousWorkers) / 1024, params);
        report(context, "rss_per_worker_marginal", (double) (m.rss() - previous.rss()) / (workers - previousWorkers) / 1024, params);
      }
      previousWorkers = workers;
      previous = m;
    }
  }

  private static void report(BenchContext context, String metric, double kib, Map<String, Object> params) {
    context.report().result(NAME, metric, kib, "KiB", params);
  }

  record Memory(long heap, long rss) {}

  private static Memory memory(ScaleServer server) throws Exception {
    long heap = server.heapAfterGc();
    return new Memory(heap, server.rss());
  }

  // ---- 1M pending ---------------------------------------------------------------------------

  private static Memory pendingQueue(BenchContext context, int count) throws Exception {
    var report = context.report();
    try (var server = ScaleServer.start(context.workDir().resolve("pending"), 1, 0, HEARTBEAT_SECONDS)) {
      Thread.sleep(2000); // let start-up settle (first health check, first passes)
      Memory empty = memory(server);
      report.result(NAME, "server_heap_idle", Proc.mib(empty.heap()), "MiB", Map.of("workers", 0, "pending", 0));
      report.result(NAME, "server_rss_idle", Proc.mib(empty.rss()), "MiB", Map.of("workers", 0, "pending", 0));

      int inFlight = 256;
      long start = System.nanoTime();
      long[] lastProgress = {start};
      if (count == 0) {
        return empty;
      }
      JobClient.queuePipelined(
          server.channel(),
          count,
          inFlight,
          ScaleBench::unplaceable,
          (index, calledAt, response) -> {},
          i -> {
            if (System.nanoTime() - lastProgress[0] > TimeUnit.SECONDS.toNanos(30)) {
              lastProgress[0] = System.nanoTime();
              System.err.printf("bench: scale: %,d of %,d queued (%,.0f/s)%n", i, count, i / ((lastProgress[0] - start) / 1e9));
              server.check();
            }
          });
      double seconds = (System.nanoTime() - start) / 1e9;
      var status = queueStatus(server);
      if (status.getPending() != count) {
        throw new BenchFailure(count + " jobs queued, " + status.getPending() + " pending (" + status + ")");
      }
      Memory full = memory(server);
      Map<String, Object> params = Map.of("pending", count, "in_flight", inFlight);
      report.result(NAME, "submit_jobs_per_s", count / seconds, "jobs/s", params);
      report.result(NAME, "server_heap_with_pending", Proc.mib(full.heap()), "MiB", params);
      report.result(NAME, "server_rss_with_pending", Proc.mib(full.rss()), "MiB", params);
      report.result(NAME, "server_peak_rss_with_pending", Proc.mib(server.peakRss()), "MiB", params);
      long dbBytes = directorySize(context.workDir().resolve("pending/data"));
      report.result(NAME, "store_bytes_per_pending_job", (double) dbBytes / count, "bytes", params);
      report.summary(
          NAME,
          String.format(
              "%,d pending jobs: %,.0f QueueJob/s; heap %.0f MiB (idle %.0f), RSS %.0f MiB (idle %.0f); none lost",
              count, count / seconds, Proc.mib(full.heap()), Proc.mib(empty.heap()), Proc.mib(full.rss()),
              Proc.mib(empty.rss())));
      return empty;
    }
  }

  /** A job no worker of the pool can take: it needs a capability nobody offers. */
  private static JobDefinition unplaceable(int i) {
    return JobClient.shell("pend-" + i, "true").toBuilder()
        .setConstraints(JobConstraints.newBuilder().addRequiredCapabilities("scale-bench-nobody"))
        .build();
  }

  private static long directorySize(java.nio.file.Path dir) throws java.io.IOException {
    try (var files = java.nio.file.Files.walk(dir)) {
      return files.filter(java.nio.file.Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  // ---- W workers --------------------------------------------------------------------------------

  private static Memory fleet(BenchContext context, int workers, Memory baseline) throws Exception {
    var report = context.report();
    try (var server =
            ScaleServer.start(context.workDir().resolve("fleet-" + workers), workers, workers, HEARTBEAT_SECONDS);
        var fleet = new SimFleet(server.address())) {
      long attachStart = System.nanoTime();
      server.connect(fleet);
      waitAttached(server, fleet, workers);
      double attachSeconds = (System.nanoTime() - attachStart) / 1e9;
      // Every worker heartbeats at least twice before memory is read: steady state, not start-up.
      long heartbeatsBefore = fleet.heartbeatsSent();
      Thread.sleep(Duration.ofSeconds(2L * HEARTBEAT_SECONDS + 1));
      server.check();
      fleet.failure().ifPresent(f -> {
        throw new BenchFailure(f);
      });
      long heartbeats = fleet.heartbeatsSent() - heartbeatsBefore;
      Memory m = memory(server);
      Map<String, Object> params = Map.of("workers", workers, "heartbeat_s", HEARTBEAT_SECONDS);
      double heapPerWorker = (double) (m.heap() - baseline.heap()) / workers;
      double rssPerWorker = (double) (m.rss() - baseline.rss()) / workers;
      report.result(NAME, "attach_s", attachSeconds, "s", params);
      report.result(NAME, "server_heap", Proc.mib(m.heap()), "MiB", params);
      report.result(NAME, "server_rss", Proc.mib(m.rss()), "MiB", params);
      report.result(NAME, "heap_per_worker", heapPerWorker / 1024, "KiB", params);
      report.result(NAME, "rss_per_worker", rssPerWorker / 1024, "KiB", params);
      report.result(NAME, "heartbeats_per_s", heartbeats / (2.0 * HEARTBEAT_SECONDS + 1), "msgs/s", params);

      // Warm-up: JIT and connection pools, not measured.
      burst(context, server, fleet, "warm-" + workers + "-", context.size(500, 50), 32);
      int sequential = context.size(300, 30);
      double[] one = sequential(server, fleet, "seq-" + workers + "-", sequential);
      var seq = new Stats(one);
      Map<String, Object> seqParams = Map.of("workers", workers, "jobs", sequential, "mode", "one_at_a_time");
      report.result(NAME, "schedule_ms_p50", seq.percentile(50), "ms", seqParams);
      report.result(NAME, "schedule_ms_p99", seq.percentile(99), "ms", seqParams);

      int burstJobs = context.size(3000, 300);
      var b = burst(context, server, fleet, "burst-" + workers + "-", burstJobs, 64);
      Map<String, Object> burstParams = Map.of("workers", workers, "jobs", burstJobs, "mode", "burst", "in_flight", 64);
      report.result(NAME, "schedule_ms_p50", b.latency().percentile(50), "ms", burstParams);
      report.result(NAME, "schedule_ms_p99", b.latency().percentile(99), "ms", burstParams);
      report.result(NAME, "dispatch_jobs_per_s", b.perSecond(), "jobs/s", burstParams);
      requireAllSucceeded(server, "seq-" + workers + "-", sequential);
      requireAllSucceeded(server, "burst-" + workers + "-", burstJobs);
      report.summary(
          NAME,
          String.format(
              "%,6d workers: heap %.1f KiB/worker, RSS %.1f KiB/worker; QueueJob->run_job p50 %.2f ms, p99 %.2f ms"
                  + " (one at a time); burst %,.0f jobs/s, p50 %.1f ms",
              workers, heapPerWorker / 1024, rssPerWorker / 1024, seq.percentile(50), seq.percentile(99),
              b.perSecond(), b.latency().percentile(50)));
      return m;
    }
  }

  private static void waitAttached(ScaleServer server, SimFleet fleet, int workers) throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofMinutes(15));
    long lastProgress = System.nanoTime();
    while (fleet.attached() < workers) {
      server.check();
      fleet.failure().ifPresent(f -> {
        throw new BenchFailure(f);
      });
      if (Instant.now().isAfter(deadline)) {
        throw new BenchFailure(workers + " workers expected, " + fleet.attached() + " attached after 15 minutes");
      }
      if (System.nanoTime() - lastProgress > TimeUnit.SECONDS.toNanos(15)) {
        lastProgress = System.nanoTime();
        System.err.printf("bench: scale: %,d of %,d workers attached%n", fleet.attached(), workers);
      }
      Thread.sleep(50);
    }
  }

  /** Queues jobs one at a time; each one's time from the QueueJob call to its run_job, in ms. */
  private static double[] sequential(ScaleServer server, SimFleet fleet, String prefix, int count) throws Exception {
    var stub = JobExecutionServiceGrpc.newBlockingStub(server.channel());
    double[] ms = new double[count];
    for (int i = 0; i < count; i++) {
      long t0 = System.nanoTime();
      String id =
          stub.queueJob(QueueJobRequest.newBuilder().setDefinition(JobClient.shell(prefix + i, "true")).build()).getJobId();
      long arrived = fleet.arrivalOf(id).get(2, TimeUnit.MINUTES);
      fleet.forget(id);
      ms[i] = (arrived - t0) / 1e6;
    }
    return ms;
  }

  record Burst(Stats latency, double perSecond) {}

  /** Queues {@code count} jobs with {@code inFlight} calls outstanding and waits for every run_job. */
  private static Burst burst(BenchContext context, ScaleServer server, SimFleet fleet, String prefix, int count, int inFlight)
      throws Exception {
    var latencies = new ConcurrentLinkedQueue<Double>();
    var lastArrival = new java.util.concurrent.atomic.AtomicLong();
    var done = new java.util.concurrent.CountDownLatch(count);
    long start = System.nanoTime();
    JobClient.queuePipelined(
        server.channel(),
        count,
        inFlight,
        i -> JobClient.shell(prefix + i, "true"),
        (index, calledAt, response) -> {
          String id = response.getJobId();
          fleet.arrivalOf(id)
              .thenAccept(
                  arrived -> {
                    latencies.add((arrived - calledAt) / 1e6);
                    lastArrival.accumulateAndGet(arrived, Math::max);
                    fleet.forget(id);
                    done.countDown();
                  });
        },
        i -> {});
    if (!done.await(10, TimeUnit.MINUTES)) {
      throw new BenchFailure(done.getCount() + " of " + count + " jobs never reached a worker");
    }
    double seconds = (lastArrival.get() - start) / 1e9;
    double[] values = latencies.stream().mapToDouble(Double::doubleValue).toArray();
    awaitQuiet(server);
    return new Burst(new Stats(values), count / seconds);
  }

  private static GetQueueStatusResponse queueStatus(ScaleServer server) {
    return SchedulerServiceGrpc.newBlockingStub(server.channel()).getQueueStatus(GetQueueStatusRequest.getDefaultInstance());
  }

  private static void awaitQuiet(ScaleServer server) throws InterruptedException {
    Instant deadline = Instant.now().plus(Duration.ofMinutes(5));
    while (Instant.now().isBefore(deadline)) {
      var status = queueStatus(server);
      if (status.getPending() + status.getScheduled() + status.getRunning() == 0) {
        return;
      }
      Thread.sleep(20);
    }
    throw new BenchFailure("jobs still unfinished after 5 minutes: " + queueStatus(server));
  }

  private static void requireAllSucceeded(ScaleServer server, String prefix, int count) {
    var jobs = JobExecutionServiceGrpc.newBlockingStub(server.channel());
    Map<JobState, Integer> states = new LinkedHashMap<>();
    String token = "";
    do {
      ListJobsResponse page =
          jobs.listJobs(ListJobsRequest.newBuilder().setNamePrefix(prefix).setPageSize(500).setPageToken(token).build());
      page.getJobsList().forEach(j -> states.merge(j.getState(), 1, Integer::sum));
      token = page.getNextPageToken();
    } while (!token.isEmpty());
    if (states.getOrDefault(JobState.JOB_STATE_SUCCEEDED, 0) != count || states.size() != 1) {
      throw new BenchFailure(count + " jobs " + prefix + "* queued, found " + states);
    }
  }
}
