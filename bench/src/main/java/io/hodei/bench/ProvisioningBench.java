package io.hodei.bench;

import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.Job;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.WorkerStatus;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Queue→running on a cold worker: one {@code true} job queued while no worker is alive, so the
 * control plane starts one for it. JVM start counts. Measured for local workers (child processes)
 * and Docker workers (containers), each in several configurations of the worker's class data, so
 * that an improvement and what it replaced run back to back on the same machine state:
 *
 * <ul>
 *   <li>{@code local-aot}: what ships, the JDK 25 AOT class cache of {@code WorkerAotCache}, and
 *       {@code io.hodei.worker.WorkerMain} started directly;
 *   <li>{@code local-aot-c1}: that with {@code -XX:TieredStopAtLevel=1} (no C2), for comparison;
 *   <li>{@code local-aot-cli}: the same through {@code hodei worker} (picocli), as workers started
 *       before;
 *   <li>{@code local-cds}: the dynamic class-data archive local workers had before the AOT cache;
 *   <li>{@code local-cds-cli}: that through {@code hodei worker}: the worker as it was before;
 *   <li>{@code local-none}: the JDK's own archive only;
 *   <li>{@code docker-aot}: the image with the AOT cache baked in by {@code build-worker-image.sh};
 *   <li>{@code docker-plain}: the image without it ({@code HODEI_IMAGE_AOT=0}), as before.
 * </ul>
 *
 * <p>The configurations of one kind each get a {@code hodei dev} of their own ({@code --min-idle
 * 0 --max-workers 1} and a 1 s idle timeout), all running at once, and take turns: one cold start
 * each per round, after every worker of every plane has stopped. The first cold start of each is
 * reported on its own (it may write the archive) and left out of the percentiles.
 *
 * <p>Times: queue→running is the job's {@code started_at − created_at} and queue→result its
 * {@code updated_at − created_at} once it succeeded, all server timestamps. The split of a cold
 * start comes from the server's and the worker's log lines (millisecond resolution). Without a
 * Docker engine the Docker configurations are skipped, with a result and a summary line saying so.
 * {@code HODEI_BENCH_PROVISIONING=local-aot,docker-aot} picks configurations.
 */
final class ProvisioningBench implements Benchmark {
  private static final String NAME = "provisioning";
  private static final Pattern TRAINED = Pattern.compile("AOT class cache \\S+ \\((\\d+) MiB\\) in (\\d+) ms");
  private static final Duration COLD_START_TIMEOUT = Duration.ofMinutes(2);

  /** One configuration under test. */
  record Variant(String name, boolean docker, String javaOpts, Map<String, String> env, String image) {
    List<String> devArgs() {
      List<String> args =
          new ArrayList<>(List.of("--min-idle", "0", "--max-workers", "1", "--idle-timeout", "1s"));
      if (docker) {
        args.addAll(List.of("--provider", "docker", "--docker-image", image));
      }
      return args;
    }
  }

  static final List<Variant> ALL =
      List.of(
          new Variant("local-aot", false, "-Dhodei.worker.class-cache=aot", Map.of(), ""),
          new Variant("local-aot-c1", false,
              "-Dhodei.worker.class-cache=aot -Dhodei.worker.java-options=-XX:TieredStopAtLevel=1", Map.of(), ""),
          new Variant("local-aot-cli", false, "-Dhodei.worker.class-cache=aot -Dhodei.worker.main=cli", Map.of(), ""),
          new Variant("local-cds", false, "-Dhodei.worker.class-cache=cds", Map.of(), ""),
          new Variant("local-cds-cli", false, "-Dhodei.worker.class-cache=cds -Dhodei.worker.main=cli", Map.of(), ""),
          new Variant("local-none", false, "-Dhodei.worker.class-cache=none", Map.of(), ""),
          new Variant("docker-aot", true, "", Map.of(), "hodei-worker:bench-aot"),
          new Variant("docker-plain", true, "", Map.of("HODEI_IMAGE_AOT", "0"), "hodei-worker:bench-plain"));

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public String description() {
    return "queue→running of a job on a cold local / Docker worker (JVM start counts), AOT cache vs CDS";
  }

  @Override
  public void run(BenchContext context) throws Exception {
    List<Variant> chosen = choose(context);
    int reps = context.size(8, 1);
    List<Variant> local = chosen.stream().filter(v -> !v.docker()).toList();
    List<Variant> docker = chosen.stream().filter(Variant::docker).toList();
    if (!local.isEmpty()) {
      runGroup(context, local, reps);
    }
    if (!docker.isEmpty()) {
      String why = dockerProblem();
      if (why != null) {
        for (Variant v : docker) {
          context.report().result(NAME, "skipped", 1, "", Map.of("variant", v.name(), "reason", why));
        }
        context.report().summary(NAME, "docker: SKIPPED, " + why);
      } else {
        runGroup(context, docker, context.size(6, 1));
      }
    }
  }

  private static List<Variant> choose(BenchContext context) {
    String wanted = System.getenv("HODEI_BENCH_PROVISIONING");
    if (wanted == null || wanted.isBlank()) {
      return context.quick()
          ? ALL.stream().filter(v -> v.name().equals("local-aot") || v.name().equals("docker-aot")).toList()
          : ALL;
    }
    List<String> names = Arrays.stream(wanted.split(",")).map(String::strip).toList();
    List<Variant> chosen = ALL.stream().filter(v -> names.contains(v.name())).toList();
    if (chosen.size() != names.size()) {
      throw new BenchFailure("HODEI_BENCH_PROVISIONING: known configurations are "
          + ALL.stream().map(Variant::name).toList() + ", not " + names);
    }
    return chosen;
  }

  /** Null when a Docker engine answers, else why not. */
  private static String dockerProblem() {
    try {
      Process p = new ProcessBuilder("docker", "info").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(20, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "no Docker engine answers (docker info timed out)";
      }
      return p.exitValue() == 0 ? null : "no Docker engine answers (docker info: exit " + p.exitValue() + ")";
    } catch (IOException e) {
      return "no docker client (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }

  /** A plane under test and what was measured on it. */
  private static final class Plane {
    final Variant variant;
    final ControlPlaneProcess server;
    final Path dir;
    final List<Sample> samples = new ArrayList<>();
    Sample first;
    String lastWorker;

    Plane(Variant variant, ControlPlaneProcess server, Path dir) {
      this.variant = variant;
      this.server = server;
      this.dir = dir;
    }
  }

  /** One cold start: the job's times, and the timeline. */
  record Sample(double queueToRunning, double queueToResult, double workerCpu, ProvisioningTimeline timeline) {}

  private void runGroup(BenchContext context, List<Variant> variants, int reps) throws Exception {
    List<Plane> planes = new ArrayList<>();
    try {
      for (Variant v : variants) {
        Path dir = context.workDir().resolve(v.name());
        Instant start = Instant.now();
        var server = ControlPlaneProcess.start(context, dir, v.devArgs(), v.javaOpts(), v.env());
        System.err.printf("bench: provisioning %s: hodei dev ready in %.1f s%n", v.name(),
            Duration.between(start, Instant.now()).toMillis() / 1000.0);
        planes.add(new Plane(v, server, dir));
      }
      for (Plane plane : planes) {
        if (plane.variant.name().startsWith("local-aot")) {
          awaitAotCache(context, plane);
        }
      }
      for (int round = 0; round <= reps; round++) {
        for (Plane plane : planes) {
          awaitAllQuiet(planes);
          Sample sample = coldStart(plane, "prov-" + plane.variant.name() + "-" + round);
          if (round == 0) {
            plane.first = sample;
          } else {
            plane.samples.add(sample);
          }
        }
      }
    } finally {
      for (Plane plane : planes) {
        plane.server.close();
      }
    }
    for (Plane plane : planes) {
      report(context, plane, reps);
    }
  }

  private static void awaitAotCache(BenchContext context, Plane plane) throws Exception {
    Path dir = plane.dir.resolve("data/worker-aot");
    Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
    while (Instant.now().isBefore(deadline)) {
      Matcher m = TRAINED.matcher(Files.readString(plane.server.log()));
      if (m.find()) {
        context.report().result(NAME, "aot_training", Long.parseLong(m.group(2)) / 1000.0, "s",
            Map.of("variant", plane.variant.name(), "cache_mib", Integer.parseInt(m.group(1))));
        return;
      }
      if (Files.readString(plane.server.log()).contains("class cache training failed")) {
        throw new BenchFailure("the AOT cache training failed: " + ControlPlaneProcess.tail(dir.resolve("training.log")));
      }
      Thread.sleep(200);
    }
    throw new BenchFailure("no AOT cache after 3 minutes: " + ControlPlaneProcess.tail(plane.server.log()));
  }

  /** Waits until no plane has a worker: each cold start starts from nothing running. */
  private static void awaitAllQuiet(List<Plane> planes) throws Exception {
    Instant deadline = Instant.now().plus(Duration.ofMinutes(1));
    for (Plane plane : planes) {
      while (true) {
        boolean live =
            plane.server.scheduler().listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList().stream()
                .anyMatch(w -> w.getStatus() != WorkerStatus.WORKER_STATUS_TERMINATED);
        boolean stopped =
            plane.lastWorker == null
                || Files.readString(plane.server.log()).lines()
                    .anyMatch(l -> l.contains("stopped") && l.contains("worker " + plane.lastWorker));
        if (!live && stopped && (plane.variant.docker() || plane.server.workerPids().isEmpty())) {
          break;
        }
        if (Instant.now().isAfter(deadline)) {
          throw new BenchFailure(plane.variant.name() + ": a worker is still alive after a minute");
        }
        Thread.sleep(50);
      }
    }
    Thread.sleep(300); // let the stopped JVM's memory and the page cache settle
  }

  private static Sample coldStart(Plane plane, String name) throws Exception {
    LocalDate day = LocalDate.now(ZoneId.systemDefault());
    String jobId =
        plane.server.jobs().queueJob(QueueJobRequest.newBuilder().setDefinition(JobClient.shell(name, "true")).build())
            .getJobId();
    Instant deadline = Instant.now().plus(COLD_START_TIMEOUT);
    Job job;
    while (true) {
      job = plane.server.jobs().getJob(GetJobRequest.newBuilder().setJobId(jobId).build()).getJob();
      if (job.getState() == JobState.JOB_STATE_SUCCEEDED) {
        break;
      }
      if (job.getState().getNumber() > JobState.JOB_STATE_SUCCEEDED.getNumber()) {
        throw new BenchFailure(plane.variant.name() + ": job " + jobId + " ended " + job.getState() + ": "
            + job.getErrorMessage());
      }
      if (Instant.now().isAfter(deadline)) {
        throw new BenchFailure(plane.variant.name() + ": job " + jobId + " not done after " + COLD_START_TIMEOUT
            + "; server log:\n" + ControlPlaneProcess.tail(plane.server.log()));
      }
      Thread.sleep(10);
    }
    double created = JobClient.seconds(job.getCreatedAt());
    var timeline = ProvisioningTimeline.read(plane.server.log(), jobId, day, List.of());
    List<String> workerLog = workerLog(plane, timeline);
    timeline = ProvisioningTimeline.read(plane.server.log(), jobId, day, workerLog);
    plane.lastWorker = timeline.workerId().isEmpty() ? null : timeline.workerId();
    return new Sample(
        JobClient.seconds(job.getStartedAt()) - created,
        JobClient.seconds(job.getUpdatedAt()) - created,
        workerCpu(timeline),
        timeline);
  }

  /**
   * CPU seconds (user + system, all threads, not its jobs) the worker's JVM used so far: right
   * after its first job, what starting cost, whatever else the machine was doing meanwhile.
   */
  private static double workerCpu(ProvisioningTimeline timeline) {
    try {
      Optional<Long> pid = timeline.pid();
      if (timeline.container().isPresent()) {
        Process p = new ProcessBuilder("docker", "inspect", "--format", "{{.State.Pid}}", timeline.container().get())
            .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        p.waitFor(10, TimeUnit.SECONDS);
        pid = out.matches("[1-9]\\d*") ? Optional.of(Long.parseLong(out)) : Optional.empty();
      }
      if (pid.isEmpty()) {
        return Double.NaN;
      }
      // The container's first process is docker-init, with the JVM under it.
      List<Long> pids = new ArrayList<>(List.of(pid.get()));
      ProcessHandle.of(pid.get()).ifPresent(h -> h.descendants().forEach(d -> pids.add(d.pid())));
      long ticks = 0;
      for (long p : pids) {
        String stat = Files.readString(Path.of("/proc", Long.toString(p), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        ticks += Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
      }
      return ticks / 100.0;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Double.NaN;
    }
  }

  /** The worker's own log: its file for a local worker, {@code docker logs} for a container (while it lives). */
  private static List<String> workerLog(Plane plane, ProvisioningTimeline timeline) {
    try {
      if (timeline.container().isPresent()) {
        Process p =
            new ProcessBuilder("docker", "logs", timeline.container().get()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(10, TimeUnit.SECONDS);
        return out.lines().toList();
      }
      Path log = plane.dir.resolve("data/workers").resolve(timeline.workerId() + ".log");
      return Files.isRegularFile(log) ? Files.readAllLines(log) : List.of();
    } catch (IOException e) {
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
  }

  private static void report(BenchContext context, Plane plane, int reps) {
    Report report = context.report();
    String v = plane.variant.name();
    if (plane.first != null) {
      report.result(NAME, "first_queue_to_running", plane.first.queueToRunning(), "s", Map.of("variant", v));
    }
    if (plane.samples.isEmpty()) {
      return;
    }
    Stats running = stats(plane.samples, Sample::queueToRunning);
    Stats result = stats(plane.samples, Sample::queueToResult);
    Map<String, Object> params = new LinkedHashMap<>();
    params.put("variant", v);
    params.put("reps", plane.samples.size());
    report.result(NAME, "queue_to_running_p50", running.percentile(50), "s", params);
    report.result(NAME, "queue_to_running_max", running.max(), "s", params);
    report.result(NAME, "queue_to_result_p50", result.percentile(50), "s", params);
    report.result(NAME, "queue_to_result_max", result.max(), "s", params);
    double[] cpu = plane.samples.stream().mapToDouble(Sample::workerCpu).filter(d -> !Double.isNaN(d)).toArray();
    double cpuP50 = cpu.length == 0 ? Double.NaN : new Stats(cpu).percentile(50);
    if (cpu.length > 0) {
      report.result(NAME, "worker_cpu_p50", cpuP50, "s", params);
    }
    Map<String, Double> phases = new LinkedHashMap<>();
    phases.put("decide_and_start", median(plane.samples, t -> ProvisioningTimeline.between(t.queued(), t.workerStarted())));
    phases.put("start_to_first_log", median(plane.samples, t -> ProvisioningTimeline.between(t.workerStarted(), t.workerLogging())));
    phases.put("first_log_to_register", median(plane.samples, t -> ProvisioningTimeline.between(t.workerLogging(), t.workerRegistering())));
    phases.put("register_to_registered", median(plane.samples, t -> ProvisioningTimeline.between(t.workerRegistering(), t.registered())));
    phases.put("start_to_registered", median(plane.samples, t -> ProvisioningTimeline.between(t.workerStarted(), t.registered())));
    phases.put("registered_to_attached", median(plane.samples, t -> ProvisioningTimeline.between(t.registered(), t.attached())));
    phases.put("start_to_attached", median(plane.samples, t -> ProvisioningTimeline.between(t.workerStarted(), t.attached())));
    List<Double> dispatch = new ArrayList<>();
    for (Sample s : plane.samples) {
      if (s.timeline().attached().isPresent() && s.timeline().queued().isPresent()) {
        // attached → running: queue→running minus queued→attached (job timestamps vs log lines).
        dispatch.add(s.queueToRunning() - ProvisioningTimeline.between(s.timeline().queued(), s.timeline().attached()));
      }
    }
    phases.put("attached_to_running", dispatch.isEmpty() ? Double.NaN
        : new Stats(dispatch.stream().mapToDouble(Double::doubleValue).toArray()).percentile(50));
    for (var phase : phases.entrySet()) {
      if (!Double.isNaN(phase.getValue())) {
        Map<String, Object> p = new LinkedHashMap<>(params);
        p.put("phase", phase.getKey());
        report.result(NAME, "phase_p50", phase.getValue(), "s", p);
      }
    }
    report.summary(NAME, String.format(
        "%-13s queue→running p50 %.2f s (max %.2f), →result p50 %.2f s, first %.2f s; worker CPU %s;"
            + " start→registered %s, →attached %s, attached→running %s (p50 of %d)",
        v, running.percentile(50), running.max(), result.percentile(50),
        plane.first == null ? Double.NaN : plane.first.queueToRunning(), seconds(cpuP50),
        seconds(phases.get("start_to_registered")), seconds(phases.get("registered_to_attached")),
        seconds(phases.get("attached_to_running")), plane.samples.size()));
  }

  private static String seconds(Double value) {
    return value == null || value.isNaN() ? "?" : String.format("%.2f s", value);
  }

  private static Stats stats(List<Sample> samples, java.util.function.ToDoubleFunction<Sample> f) {
    return new Stats(samples.stream().mapToDouble(f).toArray());
  }

  private static double median(List<Sample> samples, java.util.function.ToDoubleFunction<ProvisioningTimeline> f) {
    double[] values = samples.stream().mapToDouble(s -> f.applyAsDouble(s.timeline())).filter(d -> !Double.isNaN(d)).toArray();
    return values.length == 0 ? Double.NaN : new Stats(values).percentile(50);
  }
}
