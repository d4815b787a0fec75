package io.hodei.bench;

import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One job writing N lines of exactly 64 bytes (63 characters and a newline), each starting with
 * its own number, through the whole log path: the job's pipe, the worker's splitter, redactor,
 * batcher and outbox, the worker stream, the server's ingest into SQLite, and a following
 * {@code StreamLogs} client opened right after {@code QueueJob}. Compared with {@code cat} of the
 * same generator, measured in the same run.
 *
 * <p>Reported: lines/s to the follower (first line to last, and job start to last line), lines/s
 * persisted (job start to result persisted, both server timestamps; everything is then read back
 * without follow and checked), the {@code cat} rate and the ratios, gRPC messages per 1,000 lines
 * each way (worker to server from the server's Prometheus counters, server to follower counted by
 * the follower), and the peak resident memory of the worker and the server.
 *
 * <p>The same flood then runs as a job that receives {@link #SECRET_COUNT} secrets, none of which
 * occurs in its output, so every byte goes through the redactor (a job without secrets skips it
 * altogether). Floods with and without secrets alternate, two of each in a full run, so that a
 * drift of the machine or of the store hits both; reported are the best rate of each (job start
 * to last line at the follower) and their ratio.
 */
final class LogsBench implements Benchmark {
  static final int LINE_BYTES = 64;
  static final int SECRET_COUNT = 10;
  private static final Pattern METRICS = Pattern.compile("metrics: (http://\\S+/metrics)");

  @Override
  public String name() {
    return "logs";
  }

  @Override
  public String description() {
    return "one job writing N 64-byte lines to a following client and the store, against cat";
  }

  /** {@code seq} writing lines 0 .. count-1: ten digits, a space, 52 'x', a newline. */
  static String generator(long count) {
    return "seq -f '%010.0f " + "x".repeat(LINE_BYTES - 12) + "' 0 " + (count - 1);
  }

  @Override
  public void run(BenchContext context) throws Exception {
    // HODEI_BENCH_LOG_LINES overrides the size, for profiling runs between the two.
    int lines =
        Integer.parseInt(
            System.getenv().getOrDefault("HODEI_BENCH_LOG_LINES", Integer.toString(context.size(5_000_000, 200_000))));
    double catRate = catBaseline(generator(lines), lines, context.size(3, 1));
    try (var server =
        ControlPlaneProcess.start(
            context,
            context.workDir().resolve("plane"),
            List.of(
                "--max-workers", "1",
                "--min-idle", "1",
                "--idle-timeout", "30m",
                "--log-cap", "4096",
                "--metrics-port", "0"),
            System.getenv().getOrDefault("HODEI_BENCH_SERVER_OPTS", ""))) {
      server.awaitIdleWorkers(1, Duration.ofMinutes(2));
      URI metrics = metricsUri(server);
      // Warm-up: JIT of the whole path on worker and server, the connection pools.
      flood(server, metrics, context.size(300_000, 20_000), "logs-warmup", Map.of());
      Run run = flood(server, metrics, lines, "logs-flood", Map.of());
      Map<String, String> secrets = secrets(SECRET_COUNT);
      flood(server, metrics, context.size(300_000, 20_000), "logs-warmup-secrets", secrets);
      List<Run> none = new ArrayList<>(List.of(run));
      List<Run> withSecrets = new ArrayList<>();
      int rounds = context.size(2, 1);
      for (int round = 0; round < rounds; round++) {
        withSecrets.add(flood(server, metrics, lines, "logs-flood-secrets-" + round, secrets));
        if (round + 1 < rounds) {
          none.add(flood(server, metrics, lines, "logs-flood-" + (round + 1), Map.of()));
        }
      }
      report(context, server, run, catRate);
      reportSecrets(context, none, withSecrets);
    }
  }

  /** What one flood measured. */
  private record Run(
      long lines,
      LogsFollower.Result follower,
      LogsFollower.Result readBack,
      double readBackSeconds,
      double jobStartToLastLine,
      double jobStartToPersisted,
      long batchesReceived,
      long linesReceived,
      double workerCpuSeconds,
      double serverCpuSeconds) {}

  /**
   * {@code count} secrets shaped like API tokens (a prefix and 32 random letters and digits), fixed
   * by a seed so that every run redacts the same patterns.
   */
  static Map<String, String> secrets(int count) {
    var random = new java.util.Random(42);
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    Map<String, String> secrets = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      var value = new StringBuilder("tok_");
      for (int c = 0; c < 32; c++) {
        value.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      secrets.put("BENCH_SECRET_" + i, value.toString());
    }
    return secrets;
  }

  private static Run flood(
      ControlPlaneProcess server, URI metrics, int lines, String name, Map<String, String> secrets)
      throws Exception {
    Map<String, Double> before = scrape(metrics);
    List<Long> workers = server.workerPids();
    double workerCpu0 = workers.stream().mapToDouble(LogsCpu::seconds).sum();
    double serverCpu0 = LogsCpu.seconds(server.pid());
    String jobId =
        server.jobs()
            .queueJob(
                QueueJobRequest.newBuilder()
                    .setDefinition(
                        JobClient.script(name, "bash", generator(lines)).toBuilder()
                            .putAllSecrets(secrets))
                    .build())
            .getJobId();
    var following =
        CompletableFuture.supplyAsync(
            () -> LogsFollower.read(server.channel(), jobId, true, LINE_BYTES),
            Thread.ofPlatform().name("follower")::start);
    LogsFollower.Result followed;
    try {
      followed = following.get(30, java.util.concurrent.TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
    Job job = awaitSettled(server, jobId);
    if (job.getState() != JobState.JOB_STATE_SUCCEEDED) {
      throw new BenchFailure("job " + jobId + " ended " + job.getState() + ": " + job.getErrorMessage());
    }
    if (followed.lines() != lines || followed.finalState() != JobState.JOB_STATE_SUCCEEDED) {
      throw new BenchFailure(
          "the follower got " + followed.lines() + " of " + lines + " lines, final state " + followed.finalState());
    }
    Map<String, Double> after = scrape(metrics);
    double workerCpu = workers.stream().mapToDouble(LogsCpu::seconds).sum() - workerCpu0;
    double serverCpu = LogsCpu.seconds(server.pid()) - serverCpu0;
    long t0 = System.nanoTime();
    LogsFollower.Result stored = LogsFollower.read(server.channel(), jobId, false, LINE_BYTES);
    double readBack = (System.nanoTime() - t0) / 1e9;
    if (stored.lines() != lines) {
      throw new BenchFailure("the store holds " + stored.lines() + " of " + lines + " lines");
    }
    double started = JobClient.seconds(job.getStartedAt());
    double finished = JobClient.seconds(job.getFinishedAt());
    return new Run(
        lines,
        followed,
        stored,
        readBack,
        followed.lastLineEpochNanos() / 1e9 - started,
        finished - started,
        Math.round(delta(before, after, "hodei_log_batches_received_total")),
        Math.round(delta(before, after, "hodei_log_lines_received_total")),
        workerCpu,
        serverCpu);
  }

  private static void report(BenchContext context, ControlPlaneProcess server, Run run, double catRate) {
    long lines = run.lines();
    if (run.linesReceived() < lines) {
      throw new BenchFailure("the server counted " + run.linesReceived() + " lines received of " + lines);
    }
    double follow = run.follower().linesPerSecond();
    double followFromStart = lines / run.jobStartToLastLine();
    double persisted = lines / run.jobStartToPersisted();
    double batchesPerK = run.batchesReceived() * 1000.0 / lines;
    double responsesPerK = run.follower().messages() * 1000.0 / lines;
    long workerPeak =
        server.workerPids().stream().mapToLong(pid -> Proc.peakRss(pid).orElse(0)).max().orElse(0);
    long serverPeak = server.peakRss();
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("lines", lines);
    params.put("line_bytes", LINE_BYTES);
    var report = context.report();
    report.result("logs", "follower_lines_per_s", follow, "lines/s", params);
    report.result("logs", "follower_lines_per_s_from_job_start", followFromStart, "lines/s", params);
    report.result("logs", "persisted_lines_per_s", persisted, "lines/s", params);
    report.result("logs", "cat_lines_per_s", catRate, "lines/s", params);
    report.result("logs", "ratio_follower_to_cat", followFromStart / catRate, "ratio", params);
    report.result("logs", "ratio_persisted_to_cat", persisted / catRate, "ratio", params);
    report.result("logs", "read_back_lines_per_s", lines / run.readBackSeconds(), "lines/s", params);
    report.result("logs", "worker_batches_per_1000_lines", batchesPerK, "messages", params);
    report.result("logs", "follower_responses_per_1000_lines", responsesPerK, "messages", params);
    double millions = lines / 1e6;
    report.result("logs", "worker_cpu_s_per_million_lines", run.workerCpuSeconds() / millions, "s", params);
    report.result("logs", "server_cpu_s_per_million_lines", run.serverCpuSeconds() / millions, "s", params);
    report.result("logs", "worker_peak_rss_mib", Proc.mib(workerPeak), "MiB", params);
    report.result("logs", "server_peak_rss_mib", Proc.mib(serverPeak), "MiB", params);
    report.summary(
        "logs",
        String.format(
            "%,d lines: follower %,.0f lines/s (%,.0f from job start), persisted %,.0f lines/s; cat %,.0f lines/s;"
                + " ratio %.3f (follower) %.3f (persisted)",
            lines, follow, followFromStart, persisted, catRate, followFromStart / catRate, persisted / catRate));
    report.summary(
        "logs",
        String.format(
            "  gRPC per 1,000 lines: %.2f log_batch (worker->server), %.2f StreamLogs responses;"
                + " peak RSS worker %.0f MiB, server %.0f MiB; read back %,.0f lines/s",
            batchesPerK, responsesPerK, Proc.mib(workerPeak), Proc.mib(serverPeak),
            lines / run.readBackSeconds()));
    report.summary(
        "logs",
        String.format(
            "  CPU per million lines (flood, follower included): worker %.2f s, server %.2f s",
            run.workerCpuSeconds() / millions, run.serverCpuSeconds() / millions));
  }

  private static void reportSecrets(BenchContext context, List<Run> none, List<Run> secrets) {
    Run withSecrets = fastest(secrets);
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("lines", withSecrets.lines());
    params.put("line_bytes", LINE_BYTES);
    params.put("secrets", SECRET_COUNT);
    params.put("rounds", secrets.size());
    double noneRate = rate(fastest(none));
    double secretsRate = rate(withSecrets);
    double persisted = withSecrets.lines() / withSecrets.jobStartToPersisted();
    roundsSummary(context, "without secrets", none);
    roundsSummary(context, "with secrets", secrets);
    var report = context.report();
    report.result("logs", "secrets_follower_lines_per_s_from_job_start", secretsRate, "lines/s", params);
    report.result("logs", "secrets_persisted_lines_per_s", persisted, "lines/s", params);
    report.result("logs", "ratio_secrets_to_none", secretsRate / noneRate, "ratio", params);
    report.result(
        "logs",
        "secrets_worker_cpu_s_per_million_lines",
        withSecrets.workerCpuSeconds() / (withSecrets.lines() / 1e6),
        "s",
        params);
    Run fastestNone = fastest(none);
    double noneCpu = fastestNone.workerCpuSeconds() / (fastestNone.lines() / 1e6);
    report.result("logs", "none_worker_cpu_s_per_million_lines", noneCpu, "s", params);
    report.summary(
        "logs",
        String.format(
            "  with %d secrets: %,.0f lines/s from job start (none: %,.0f), ratio %.3f; persisted %,.0f lines/s;"
                + " worker CPU %.2f s per million lines (none: %.2f)",
            SECRET_COUNT, secretsRate, noneRate, secretsRate / noneRate, persisted,
            withSecrets.workerCpuSeconds() / (withSecrets.lines() / 1e6), noneCpu));
  }

  private static double rate(Run run) {
    return run.lines() / run.jobStartToLastLine();
  }

  private static Run fastest(List<Run> runs) {
    return runs.stream().max(java.util.Comparator.comparingDouble(LogsBench::rate)).orElseThrow();
  }

  /** Every round's rate, in the summary only: the JSON carries the best. */
  private static void roundsSummary(BenchContext context, String what, List<Run> runs) {
    context
        .report()
        .summary(
            "logs",
            String.format(
                "  %s, each round (lines/s from job start): %s",
                what,
                runs.stream().map(r -> String.format("%,.0f", rate(r))).toList()));
  }

  /** The median rate of {@code bash -c '<generator> | cat > /dev/null'} over {@code runs} runs. */
  static double catBaseline(String generator, long lines, int runs) throws IOException, InterruptedException {
    double[] rates = new double[runs];
    for (int i = 0; i < runs; i++) {
      long t0 = System.nanoTime();
      Process p =
          new ProcessBuilder("bash", "-c", generator + " | cat > /dev/null")
              .redirectErrorStream(true)
              .start();
      String out = new String(p.getInputStream().readAllBytes());
      if (p.waitFor() != 0) {
        throw new BenchFailure("the cat baseline failed: " + out);
      }
      rates[i] = lines / ((System.nanoTime() - t0) / 1e9);
    }
    Arrays.sort(rates);
    return rates[runs / 2];
  }

  private static Job awaitSettled(ControlPlaneProcess server, String jobId) throws InterruptedException {
    for (int i = 0; i < 6000; i++) {
      Job job = server.jobs().getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
      if (job.getState() == JobState.JOB_STATE_SUCCEEDED
          || job.getState() == JobState.JOB_STATE_FAILED
          || job.getState() == JobState.JOB_STATE_CANCELLED) {
        return job;
      }
      Thread.sleep(50);
    }
    throw new BenchFailure("job " + jobId + " not final after 5 minutes");
  }

  private static URI metricsUri(ControlPlaneProcess server) throws IOException {
    Matcher m = METRICS.matcher(Files.readString(server.log()));
    if (!m.find()) {
      throw new BenchFailure("hodei dev printed no metrics address");
    }
    return URI.create(m.group(1));
  }

  /** The Prometheus text at {@code uri}, as name (with labels) to value. */
  static Map<String, Double> scrape(URI uri) throws IOException, InterruptedException {
    try (HttpClient http = HttpClient.newHttpClient()) {
      String body =
          http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString()).body();
      Map<String, Double> values = new LinkedHashMap<>();
      for (String line : body.split("\n")) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        values.put(line.substring(0, space), Double.parseDouble(line.substring(space + 1)));
      }
      return values;
    }
  }

  private static double delta(Map<String, Double> before, Map<String, Double> after, String name) {
    if (!after.containsKey(name)) {
      throw new BenchFailure("the server exports no " + name + "; metrics: " + new ArrayList<>(after.keySet()));
    }
    return after.get(name) - before.getOrDefault(name, 0.0);
  }
}
