package io.hodei.bench;

import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobDefinition;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.IntFunction;

/**
 * Trivial jobs through the whole system: QueueJob, the store, the dispatcher, a warm local worker
 * starting the process, the result persisted. Compared with the rate at which the same machine
 * spawns the same command in a tight loop, measured in the same run, and across stores: the same
 * jobs on the same number of workers with SQLite, with PostgreSQL behind one replica, and with
 * PostgreSQL behind two replicas sharing the queue, one after another in one run.
 *
 * <p>The rate is taken from the server's own timestamps: jobs over the span from the first job's
 * creation to the last job's persisted result.
 *
 * <p>{@code HODEI_BENCH_THROUGHPUT_SETUPS=sqlite,postgresql-1} picks setups (for profiling one);
 * {@code HODEI_BENCH_SERVER_OPTS} are extra JVM options for every control plane (a JFR recording:
 * put {@code %p} in its file name, so that two replicas do not write one file); {@code
 * HODEI_BENCH_PG_STATEMENTS=N} loads {@code pg_stat_statements} and prints, per job, the N
 * statements that took the database the most time on each PostgreSQL setup (a profile: it costs the database CPU); {@code
 * HODEI_BENCH_PG_SETTINGS="name=value ..."} are more settings for the PostgreSQL server (such as
 * {@code auto_explain}'s, with {@code logging_collector=on} and an absolute {@code log_directory}).
 */
final class ThroughputBench implements Benchmark {
  static final String SCRIPT = "echo \"hello from $$\"";
  private static final int WORKERS = 2;
  private static final int SLOTS = 8;
  private static final int IN_FLIGHT = 256;

  /**
   * One way of running the control plane: its store, and how many replicas share it. The
   * replicas together always have {@link #WORKERS} workers of {@link #SLOTS} slots: in one pool
   * called {@code local}, whose limit counts the workers of every replica, each replica keeping
   * its share warm (replicas run with one configuration); or, in {@code postgresql-2-pools}, not
   * run unless asked for, in a pool of its own per replica ({@code local-rI}).
   */
  enum Setup {
    SQLITE("sqlite", 0, false),
    POSTGRESQL_1("postgresql-1", 1, false),
    POSTGRESQL_2("postgresql-2", 2, false),
    POSTGRESQL_2_POOLS("postgresql-2-pools", 2, true);

    /** What runs when HODEI_BENCH_THROUGHPUT_SETUPS does not say. */
    static final List<Setup> DEFAULT = List.of(SQLITE, POSTGRESQL_1, POSTGRESQL_2);

    final String label;
    final int replicas;
    final boolean poolPerReplica;

    Setup(String label, int replicas, boolean poolPerReplica) {
      this.label = label;
      this.replicas = replicas;
      this.poolPerReplica = poolPerReplica;
    }

    boolean postgres() {
      return replicas > 0;
    }

    static List<Setup> chosen(String wanted) {
      if (wanted == null || wanted.isBlank()) {
        return DEFAULT;
      }
      List<Setup> chosen = new ArrayList<>();
      for (String label : wanted.split(",")) {
        chosen.add(
            java.util.Arrays.stream(values())
                .filter(s -> s.label.equals(label.strip()))
                .findFirst()
                .orElseThrow(() -> new BenchFailure(
                    "HODEI_BENCH_THROUGHPUT_SETUPS: unknown setup '" + label + "'; known: "
                        + String.join(", ", java.util.Arrays.stream(values()).map(s -> s.label).toList()))));
      }
      return chosen;
    }
  }

  @Override
  public String name() {
    return "throughput";
  }

  @Override
  public String description() {
    return "N trivial jobs (true, and a one-line bash script) end to end, against the raw spawn rate;"
        + " SQLite, PostgreSQL with 1 and with 2 replicas";
  }

  @Override
  public void run(BenchContext context) throws Exception {
    int jobs = context.size(3000, 60);
    Path script = context.workDir().resolve("one-line.sh");
    Files.writeString(script, SCRIPT + "\n");
    var baseline = new SpawnBaseline(context.root());
    List<Setup> setups = Setup.chosen(System.getenv("HODEI_BENCH_THROUGHPUT_SETUPS"));
    String serverOpts = System.getenv().getOrDefault("HODEI_BENCH_SERVER_OPTS", "");
    Map<String, Map<Setup, Double>> rates = new LinkedHashMap<>();
    int statements = Integer.parseInt(System.getenv().getOrDefault("HODEI_BENCH_PG_STATEMENTS", "0"));
    try (BenchPostgres postgres =
        setups.stream().anyMatch(Setup::postgres)
            ? BenchPostgres.start(context.workDir().resolve("postgres"), statements > 0,
                List.of(System.getenv().getOrDefault("HODEI_BENCH_PG_SETTINGS", "").strip().split("\\s+")).stream()
                    .filter(x -> !x.isEmpty()).toList())
            : null) {
      for (Setup setup : setups) {
        System.err.println("bench: throughput on " + setup.label);
        try (var planes = Planes.start(context, setup, postgres, serverOpts)) {
          var client = new JobClient(planes.servers().getFirst());
          // Long enough for the JIT to settle: a short warm-up measures the compilers (docs/benchmarks.md).
          int warmUp = context.size(4000, 10);
          JobClient.queueSpread(planes.servers(), warmUp, IN_FLIGHT, i -> JobClient.shell("warmup-" + i, "true"));
          client.awaitQuiet(Duration.ofMinutes(5));

          rates.computeIfAbsent("true", k -> new LinkedHashMap<>()).put(setup,
              measure(context, planes, client, baseline, statements, "true", jobs,
                  i -> JobClient.shell("tp-true-" + i, "true"), List.of("/bin/true")));
          rates.computeIfAbsent("bash_script", k -> new LinkedHashMap<>()).put(setup,
              measure(context, planes, client, baseline, statements, "bash_script", jobs,
                  i -> JobClient.script("tp-bash_script-" + i, "bash", SCRIPT), List.of("/bin/bash", script.toString())));
        }
      }
    }
    rates.forEach((kind, bySetup) -> compare(context.report(), kind, bySetup));
  }

  /** The ratios of each PostgreSQL setup's rate to SQLite's, as results and a summary line. */
  private static void compare(Report report, String kind, Map<Setup, Double> bySetup) {
    List<String> parts = new ArrayList<>();
    Double sqlite = bySetup.get(Setup.SQLITE);
    bySetup.forEach((setup, rate) -> {
      String part = String.format("%s %,.0f", setup.label, rate);
      if (setup.postgres() && sqlite != null) {
        report.result("throughput", "ratio_to_sqlite", rate / sqlite, "ratio",
            Map.of("job", kind, "setup", setup.label, "replicas", setup.replicas, "workers", WORKERS, "jobs_per_worker", SLOTS));
        part += String.format(" (%.2f of sqlite)", rate / sqlite);
      }
      parts.add(part);
    });
    report.summary("throughput", String.format("%-11s jobs/s: %s", kind, String.join(", ", parts)));
  }

  /** Measures one kind of job on one setup; returns its rate in jobs/s. */
  private static double measure(
      BenchContext context,
      Planes planes,
      JobClient client,
      SpawnBaseline baseline,
      int statements,
      String kind,
      int count,
      IntFunction<JobDefinition> definition,
      List<String> rawCommand)
      throws Exception {
    List<Long> workerPids = planes.workerPids();
    double serverCpu = planes.serverCpuSeconds();
    double workerCpu = workerPids.stream().mapToDouble(Proc::cpuSeconds).sum();
    double databaseCpu = planes.databaseCpuSeconds();
    var activity = planes.databaseActivity();
    planes.postgres().ifPresent(BenchPostgres::resetStatements);
    double selfCpu = Proc.ownCpuSeconds(ProcessHandle.current().pid());
    double loadBefore = Proc.loadAverage();
    long wallStart = System.nanoTime();
    JobClient.queueSpread(planes.servers(), count, IN_FLIGHT, definition);
    client.awaitQuiet(Duration.ofMinutes(30));
    double wall = (System.nanoTime() - wallStart) / 1e9;
    double loadAfter = Proc.loadAverage();
    serverCpu = planes.serverCpuSeconds() - serverCpu;
    workerCpu = workerPids.stream().mapToDouble(Proc::cpuSeconds).sum() - workerCpu;
    databaseCpu = planes.databaseCpuSeconds() - databaseCpu;
    selfCpu = Proc.ownCpuSeconds(ProcessHandle.current().pid()) - selfCpu;
    List<Job> done = client.jobsNamed("tp-" + kind + "-");
    JobClient.requireAllSucceeded(done, count);
    double first = done.stream().mapToDouble(j -> JobClient.seconds(j.getCreatedAt())).min().orElseThrow();
    double last = done.stream().mapToDouble(j -> JobClient.seconds(j.getFinishedAt())).max().orElseThrow();
    double rate = count / (last - first);
    var raw = baseline.measure(context.size(2000, 100), rawCommand);
    Setup setup = planes.setup();
    Map<String, Object> params = Map.of(
        "job", kind, "jobs", count, "workers", WORKERS, "jobs_per_worker", SLOTS, "baseline", raw.method(),
        "setup", setup.label, "replicas", Math.max(1, setup.replicas));
    var report = context.report();
    report.result("throughput", "jobs_per_s", rate, "jobs/s", params);
    report.result("throughput", "client_jobs_per_s", count / wall, "jobs/s", params);
    report.result("throughput", "raw_spawn_per_s", raw.perSecond(), "spawns/s", params);
    // Where the CPU went, per job: the server, the workers with their jobs, and this client.
    report.result("throughput", "server_cpu_ms_per_job", serverCpu * 1000 / count, "ms", params);
    report.result("throughput", "worker_cpu_ms_per_job", workerCpu * 1000 / count, "ms", params);
    report.result("throughput", "client_cpu_ms_per_job", selfCpu * 1000 / count, "ms", params);
    report.result("throughput", "ratio_to_raw_spawn", rate / raw.perSecond(), "ratio", params);
    report.result("throughput", "load_average_before", loadBefore, "load", params);
    report.result("throughput", "load_average_after", loadAfter, "load", params);
    String database = "";
    if (activity.isPresent()) {
      // Statistics reach the collector up to 500 ms late: give the last of them that time.
      Thread.sleep(1500);
      var spent = planes.databaseActivity().orElseThrow().minus(activity.get());
      report.result("throughput", "database_cpu_ms_per_job", databaseCpu * 1000 / count, "ms", params);
      report.result("throughput", "database_transactions_per_job", spent.transactions() / (double) count, "transactions", params);
      report.result("throughput", "database_rollbacks_per_job", spent.rollbacks() / (double) count, "transactions", params);
      report.result("throughput", "database_rows_written_per_job", spent.rowsWritten() / (double) count, "rows", params);
      for (var s : planes.postgres().orElseThrow().statements(planes.database(), statements)) {
        System.err.printf("bench: %s %s: %6.2f calls, %6.2f rows, %.3f ms per job: %s%n", setup.label, kind,
            s.calls() / (double) count, s.rows() / (double) count, s.totalMillis() / count, s.query().replaceAll("\\s+", " "));
      }
      database = String.format("; PostgreSQL %.2f ms CPU, %.1f transactions per job",
          databaseCpu * 1000 / count, spent.transactions() / (double) count);
    }
    report.summary(
        "throughput",
        String.format(
            "%-11s %-12s %,d jobs: %,.0f jobs/s end to end; raw spawn %,.0f/s (%s); ratio %.2f; server %.2f ms CPU per job%s;"
                + " load average %.1f -> %.1f",
            kind, setup.label, count, rate, raw.perSecond(), raw.method(), rate / raw.perSecond(),
            serverCpu * 1000 / count, database, loadBefore, loadAfter));
    return rate;
  }

  /**
   * The control planes of one setup, with warm workers: one {@code hodei dev} on SQLite, or one
   * or two on a fresh database of {@code postgres}, the replicas sharing a data directory, each
   * keeping its share of the workers warm (see {@link Setup}).
   */
  private record Planes(Setup setup, List<ControlPlaneProcess> servers, Optional<BenchPostgres> postgres, String database)
      implements AutoCloseable {
    static Planes start(BenchContext context, Setup setup, BenchPostgres postgres, String serverOpts)
        throws IOException, InterruptedException {
      Path dir = context.workDir().resolve(setup.label);
      if (!setup.postgres()) {
        var server = ControlPlaneProcess.start(
            context, dir.resolve("server.log"), dir.resolve("data"), ControlPlaneProcess.warmPoolArgs(WORKERS, SLOTS), serverOpts, Map.of());
        return new Planes(setup, List.of(ControlPlaneProcess.awaitWarm(server, WORKERS)), Optional.empty(), "");
      }
      Files.createDirectories(dir);
      String database = setup.label.replace('-', '_');
      String url = postgres.createDatabase(database);
      List<ControlPlaneProcess> servers = new ArrayList<>();
      var planes = new Planes(setup, servers, Optional.of(postgres), database);
      try {
        // One after another: the first issues the admin token in the shared data directory.
        for (int i = 1; i <= setup.replicas; i++) {
          String id = "r" + i;
          List<String> args = new ArrayList<>(List.of(
              "--database-url", url, "--database-password-file", postgres.passwordFile().toString(), "--replica-id", id));
          int workers = WORKERS / setup.replicas;
          if (!setup.poolPerReplica) {
            // The limit is the pool's across replicas; each keeps its share of it warm.
            args.addAll(ControlPlaneProcess.warmPoolArgs(WORKERS, workers, SLOTS));
          } else {
            Path config = dir.resolve(id + ".yaml");
            Files.writeString(config, String.format(
                "providers:%n  local-%s:%n    type: local%n    max-workers: %d%n    min-idle: %d%n"
                    + "    jobs-per-worker: %d%n    idle-timeout: 30m%n",
                id, workers, workers, SLOTS));
            args.addAll(List.of("--config", config.toString()));
          }
          var server = ControlPlaneProcess.start(context, dir.resolve(id + ".log"), dir.resolve("data"), args, serverOpts, Map.of());
          servers.add(ControlPlaneProcess.awaitWarm(server, workers));
        }
        return planes;
      } catch (IOException | InterruptedException | RuntimeException e) {
        planes.close();
        throw e;
      }
    }

    List<Long> workerPids() {
      return servers.stream().flatMap(s -> s.workerPids().stream()).toList();
    }

    double serverCpuSeconds() {
      return servers.stream().mapToDouble(s -> Proc.ownCpuSeconds(s.pid())).sum();
    }

    double databaseCpuSeconds() {
      return postgres.map(BenchPostgres::cpuSeconds).orElse(0.0);
    }

    Optional<BenchPostgres.Activity> databaseActivity() {
      return postgres.map(p -> p.activity(database));
    }

    @Override
    public void close() throws InterruptedException {
      for (ControlPlaneProcess server : servers.reversed()) {
        server.close();
      }
    }
  }
}
