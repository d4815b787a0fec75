package io.hodei.bench;

import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

/**
 * Trivial jobs through the whole system: QueueJob, the store, the dispatcher, a warm local worker
 * starting the process, the result persisted. Compared with the rate at which the same machine
 * spawns the same command in a tight loop, measured in the same run.
 *
 * <p>The rate is taken from the server's own timestamps: jobs over the span from the first job's
 * creation to the last job's persisted result.
 */
final class ThroughputBench implements Benchmark {
  static final String SCRIPT = "echo \"hello from $$\"";

  @Override
  public String name() {
    return "throughput";
  }

  @Override
  public String description() {
    return "N trivial jobs (true, and a one-line bash script) end to end, against the raw spawn rate";
  }

  @Override
  public void run(BenchContext context) throws Exception {
    int jobs = context.size(3000, 60);
    int workers = 2;
    int slots = 8;
    Path script = context.workDir().resolve("one-line.sh");
    Files.writeString(script, SCRIPT + "\n");
    var baseline = new SpawnBaseline(context.root());
    try (var server = ControlPlaneProcess.startWarmPool(context, workers, slots)) {
      var client = new JobClient(server);
      // Long enough for the JIT to settle: a short warm-up measures the compilers (docs/benchmarks.md).
      client.warmUp(context.size(4000, 10));

      measure(context, server, client, baseline, "true", jobs, workers, slots,
          i -> JobClient.shell("tp-true-" + i, "true"), List.of("/bin/true"));
      measure(context, server, client, baseline, "bash_script", jobs, workers, slots,
          i -> JobClient.script("tp-bash_script-" + i, "bash", SCRIPT), List.of("/bin/bash", script.toString()));
    }
  }

  private static void measure(
      BenchContext context,
      ControlPlaneProcess server,
      JobClient client,
      SpawnBaseline baseline,
      String kind,
      int count,
      int workers,
      int slots,
      IntFunction<JobDefinition> definition,
      List<String> rawCommand)
      throws Exception {
    List<Long> workerPids = server.workerPids();
    double serverCpu = Proc.ownCpuSeconds(server.pid());
    double workerCpu = workerPids.stream().mapToDouble(Proc::cpuSeconds).sum();
    double selfCpu = Proc.ownCpuSeconds(ProcessHandle.current().pid());
    long wallStart = System.nanoTime();
    client.queueAll(count, 256, definition);
    client.awaitQuiet(Duration.ofMinutes(30));
    double wall = (System.nanoTime() - wallStart) / 1e9;
    serverCpu = Proc.ownCpuSeconds(server.pid()) - serverCpu;
    workerCpu = workerPids.stream().mapToDouble(Proc::cpuSeconds).sum() - workerCpu;
    selfCpu = Proc.ownCpuSeconds(ProcessHandle.current().pid()) - selfCpu;
    List<Job> done = client.jobsNamed("tp-" + kind + "-");
    JobClient.requireAllSucceeded(done, count);
    double first = done.stream().mapToDouble(j -> JobClient.seconds(j.getCreatedAt())).min().orElseThrow();
    double last = done.stream().mapToDouble(j -> JobClient.seconds(j.getFinishedAt())).max().orElseThrow();
    double rate = count / (last - first);
    var raw = baseline.measure(context.size(2000, 100), rawCommand);
    Map<String, Object> params =
        Map.of("job", kind, "jobs", count, "workers", workers, "jobs_per_worker", slots, "baseline", raw.method());
    var report = context.report();
    report.result("throughput", "jobs_per_s", rate, "jobs/s", params);
    report.result("throughput", "client_jobs_per_s", count / wall, "jobs/s", params);
    report.result("throughput", "raw_spawn_per_s", raw.perSecond(), "spawns/s", params);
    // Where the CPU went, per job: the server, the workers with their jobs, and this client.
    report.result("throughput", "server_cpu_ms_per_job", serverCpu * 1000 / count, "ms", params);
    report.result("throughput", "worker_cpu_ms_per_job", workerCpu * 1000 / count, "ms", params);
    report.result("throughput", "client_cpu_ms_per_job", selfCpu * 1000 / count, "ms", params);
    report.result("throughput", "ratio_to_raw_spawn", rate / raw.perSecond(), "ratio", params);
    report.summary(
        "throughput",
        String.format(
            "%-11s %,d jobs: %,.0f jobs/s end to end; raw spawn %,.0f/s (%s); ratio %.2f",
            kind, count, rate, raw.perSecond(), raw.method(), rate / raw.perSecond()));
  }
}
