package io.hodei.bench;

import io.hodei.api.v1.Job;
import io.hodei.api.v1.QueueJobRequest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.LockSupport;

/**
 * Latency of a trivial job ({@code true}) on warm workers, from the server's own timestamps:
 * queue→start (created to the worker's {@code job_started}) and queue→result (created to the
 * result persisted).
 *
 * <p>Idle: one job at a time, the next queued once the last has ended. At 50 % load: jobs
 * arrive on a fixed schedule (open loop, so a slow answer does not slow the arrivals) at half the
 * rate the same pool sustains, measured first in the same run.
 */
final class LatencyBench implements Benchmark {
  private static final int WORKERS = 2;
  private static final int SLOTS = 8;

  @Override
  public String name() {
    return "latency";
  }

  @Override
  public String description() {
    return "queue->start and queue->result p50/p99 of a trivial job on warm workers, idle and at 50% load";
  }

  @Override
  public void run(BenchContext context) throws Exception {
    try (var server = ControlPlaneProcess.startWarmPool(context, WORKERS, SLOTS)) {
      var client = new JobClient(server);
      client.warmUp(context.size(300, 10));

      int idleJobs = context.size(300, 20);
      var blocking = server.jobs();
      for (int i = 0; i < idleJobs; i++) {
        blocking.queueJob(QueueJobRequest.newBuilder().setDefinition(JobClient.shell("lat-idle-" + i, "true")).build());
        client.awaitQuiet(Duration.ofMinutes(1));
      }
      report(context, "idle", client.jobsNamed("lat-idle-"), idleJobs, 0);

      // Capacity of this pool now, then half of it as an open-loop arrival rate.
      int burst = context.size(2000, 60);
      client.queueAll(burst, 256, i -> JobClient.shell("lat-capacity-" + i, "true"));
      client.awaitQuiet(Duration.ofMinutes(10));
      List<Job> capacityJobs = client.jobsNamed("lat-capacity-");
      JobClient.requireAllSucceeded(capacityJobs, burst);
      double capacity = burst / span(capacityJobs);
      double rate = capacity / 2;
      // About 20 s of arrivals, at most 3,000.
      int loadJobs = Math.max(1, (int) Math.min(context.size(3000, 40), rate * context.size(20, 2)));
      var async = io.hodei.api.v1.JobExecutionServiceGrpc.newFutureStub(server.channel());
      long interval = (long) (1e9 / rate);
      long next = System.nanoTime();
      List<com.google.common.util.concurrent.ListenableFuture<io.hodei.api.v1.QueueJobResponse>> calls = new java.util.ArrayList<>();
      for (int i = 0; i < loadJobs; i++) {
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
        }
        calls.add(async.queueJob(QueueJobRequest.newBuilder().setDefinition(JobClient.shell("lat-load-" + i, "true")).build()));
        next += interval;
      }
      // Every job accepted before the queue may be judged quiet (it is often empty at half load).
      com.google.common.util.concurrent.Futures.allAsList(calls).get(5, java.util.concurrent.TimeUnit.MINUTES);
      client.awaitQuiet(Duration.ofMinutes(10));
      report(context, "50%_load", client.jobsNamed("lat-load-"), loadJobs, rate);
      context.report().result("latency", "capacity_jobs_per_s", capacity, "jobs/s",
          Map.of("workers", WORKERS, "jobs_per_worker", SLOTS));
    }
  }

  private static double span(List<Job> jobs) {
    double first = jobs.stream().mapToDouble(j -> JobClient.seconds(j.getCreatedAt())).min().orElseThrow();
    double last = jobs.stream().mapToDouble(j -> JobClient.seconds(j.getFinishedAt())).max().orElseThrow();
    return last - first;
  }

  private static void report(BenchContext context, String load, List<Job> jobs, int count, double rate) {
    JobClient.requireAllSucceeded(jobs, count);
    double[] toStart = new double[jobs.size()];
    double[] toResult = new double[jobs.size()];
    for (int i = 0; i < jobs.size(); i++) {
      Job job = jobs.get(i);
      double created = JobClient.seconds(job.getCreatedAt());
      toStart[i] = (JobClient.seconds(job.getStartedAt()) - created) * 1000;
      toResult[i] = (JobClient.seconds(job.getFinishedAt()) - created) * 1000;
    }
    Stats start = new Stats(toStart);
    Stats result = new Stats(toResult);
    Map<String, Object> params =
        Map.of("load", load, "jobs", count, "arrivals_per_s", Math.round(rate), "workers", WORKERS, "jobs_per_worker", SLOTS);
    var report = context.report();
    report.result("latency", "queue_to_start_p50", start.percentile(50), "ms", params);
    report.result("latency", "queue_to_start_p99", start.percentile(99), "ms", params);
    report.result("latency", "queue_to_result_p50", result.percentile(50), "ms", params);
    report.result("latency", "queue_to_result_p99", result.percentile(99), "ms", params);
    report.summary(
        "latency",
        String.format(
            "%-8s %,d jobs%s: queue->start p50 %.1f ms, p99 %.1f ms; queue->result p50 %.1f ms, p99 %.1f ms",
            load, count, rate > 0 ? String.format(" at %.0f/s", rate) : "",
            start.percentile(50), start.percentile(99), result.percentile(50), result.percentile(99)));
  }
}
