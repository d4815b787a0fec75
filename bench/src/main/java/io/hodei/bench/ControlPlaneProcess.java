package io.hodei.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.ListWorkersRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.WorkerStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real control plane for a benchmark: {@code ./hodei dev} as its own process, on its embedded
 * SQLite store in a fresh data directory (or on the PostgreSQL database its arguments name), on
 * an ephemeral loopback port, with local workers as its child processes. Its output goes to
 * {@code server.log} beside the data, or to the log file it is given.
 *
 * <p>Not thread-safe; one benchmark owns one instance and closes it.
 */
final class ControlPlaneProcess implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("ready on (\\S+)");

  private final Process process;
  private final Path log;
  private final ManagedChannel channel;
  private final String address;

  private ControlPlaneProcess(Process process, Path log, String address, java.util.Optional<String> adminToken) {
    this.process = process;
    this.log = log;
    this.address = address;
    var builder = NettyChannelBuilder.forTarget(address).usePlaintext().maxInboundMessageSize(64 * 1024 * 1024);
    // The benchmarks read queue status and workers: admin calls, which in hodei dev need the
    // admin token it keeps in its data directory (anonymous local callers are only users).
    adminToken.ifPresent(
        token -> {
          var headers = new io.grpc.Metadata();
          headers.put(
              io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER),
              "Bearer " + token);
          builder.intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
        });
    this.channel = builder.build();
  }

  /**
   * Starts {@code hodei dev} and waits for its ready line.
   *
   * @param dir the data directory (created); the server's output goes to {@code dir/server.log}
   * @param devArgs extra arguments for {@code hodei dev}, such as {@code --max-workers 2}
   * @param javaOpts extra JVM options for the server ({@code HODEI_JAVA_OPTS})
   */
  static ControlPlaneProcess start(BenchContext context, Path dir, List<String> devArgs, String javaOpts)
      throws IOException, InterruptedException {
    return start(context, dir, devArgs, javaOpts, java.util.Map.of());
  }

  /** As {@link #start(BenchContext, Path, List, String)}, with extra environment for {@code hodei dev}. */
  static ControlPlaneProcess start(
      BenchContext context, Path dir, List<String> devArgs, String javaOpts, java.util.Map<String, String> env)
      throws IOException, InterruptedException {
    return start(context, dir.resolve("server.log"), dir.resolve("data"), devArgs, javaOpts, env);
  }

  /**
   * As {@link #start(BenchContext, Path, List, String, java.util.Map)}, with the output going to
   * {@code log} and the data directory {@code data}, which replicas of one database share.
   */
  static ControlPlaneProcess start(
      BenchContext context, Path log, Path data, List<String> devArgs, String javaOpts, java.util.Map<String, String> env)
      throws IOException, InterruptedException {
    Files.createDirectories(log.getParent());
    List<String> command = new ArrayList<>();
    command.add(context.root().resolve("hodei").toString());
    command.add("dev");
    command.addAll(List.of("--data-dir", data.toString(), "--port", "0"));
    command.addAll(devArgs);
    ProcessBuilder builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().put("HODEI_JAVA_OPTS", javaOpts);
    builder.environment().putAll(env);
    Process process = builder.start();
    Instant deadline = Instant.now().plus(Duration.ofMinutes(3));
    while (Instant.now().isBefore(deadline)) {
      if (!process.isAlive()) {
        throw new BenchFailure("hodei dev exited with " + process.exitValue() + "; its output:\n" + tail(log));
      }
      Matcher ready = READY.matcher(Files.exists(log) ? Files.readString(log) : "");
      if (ready.find()) {
        Path tokenFile = data.resolve("admin.token");
        var adminToken =
            Files.exists(tokenFile)
                ? java.util.Optional.of(Files.readString(tokenFile).strip())
                : java.util.Optional.<String>empty();
        return new ControlPlaneProcess(process, log, ready.group(1), adminToken);
      }
      Thread.sleep(50);
    }
    process.destroyForcibly();
    throw new BenchFailure("hodei dev did not get ready within 3 minutes; its output:\n" + tail(log));
  }

  /**
   * {@code hodei dev} with {@code workers} warm local workers of {@code slots} job slots each,
   * returned once all of them are attached and idle.
   */
  static ControlPlaneProcess startWarmPool(BenchContext context, int workers, int slots)
      throws IOException, InterruptedException {
    return awaitWarm(start(context, context.workDir().resolve("plane"), warmPoolArgs(workers, slots), ""), workers);
  }

  /** The {@code hodei dev} flags of a pool of {@code workers} warm workers of {@code slots} job slots each. */
  static List<String> warmPoolArgs(int workers, int slots) {
    return warmPoolArgs(workers, workers, slots);
  }

  /**
   * The {@code hodei dev} flags of a pool of at most {@code maxWorkers} workers, of which this
   * control plane keeps {@code warm} idle, of {@code slots} job slots each.
   */
  static List<String> warmPoolArgs(int maxWorkers, int warm, int slots) {
    return List.of(
        "--max-workers", Integer.toString(maxWorkers),
        "--min-idle", Integer.toString(warm),
        "--jobs-per-worker", Integer.toString(slots),
        "--idle-timeout", "30m");
  }

  /** Returns {@code server} once {@code workers} of its workers are attached and idle; closes it if they are not. */
  static ControlPlaneProcess awaitWarm(ControlPlaneProcess server, int workers) throws InterruptedException {
    try {
      server.awaitIdleWorkers(workers, Duration.ofMinutes(2));
      return server;
    } catch (RuntimeException | InterruptedException e) {
      server.close();
      throw e;
    }
  }

  ManagedChannel channel() {
    return channel;
  }

  String address() {
    return address;
  }

  long pid() {
    return process.pid();
  }

  Path log() {
    return log;
  }

  JobExecutionServiceGrpc.JobExecutionServiceBlockingStub jobs() {
    return JobExecutionServiceGrpc.newBlockingStub(channel);
  }

  SchedulerServiceGrpc.SchedulerServiceBlockingStub scheduler() {
    return SchedulerServiceGrpc.newBlockingStub(channel);
  }

  /** Waits until {@code count} workers are connected and idle (a warm pool). */
  void awaitIdleWorkers(int count, Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    long idle = 0;
    while (Instant.now().isBefore(deadline)) {
      idle =
          scheduler().listWorkers(ListWorkersRequest.getDefaultInstance()).getWorkersList().stream()
              .filter(w -> w.getStatus() == WorkerStatus.WORKER_STATUS_READY)
              .count();
      if (idle >= count) {
        awaitNoTraining(Duration.ofMinutes(2));
        return;
      }
      Thread.sleep(100);
    }
    throw new BenchFailure(count + " idle workers expected, " + idle + " after " + timeout);
  }

  /** The pids of the worker processes this control plane started. */
  List<Long> workerPids() {
    return process.toHandle().descendants()
        .filter(p -> p.info().arguments().map(ControlPlaneProcess::isWorker).orElse(false))
        .map(ProcessHandle::pid)
        .toList();
  }

  /** A worker agent's command line: {@code hodei worker}, or its main class started directly. */
  private static boolean isWorker(String[] args) {
    return !isTraining(args) && (List.of(args).contains("worker") || List.of(args).contains("io.hodei.worker.WorkerMain"));
  }

  /** The one-time run that writes the workers' AOT cache (see WorkerAotCache). */
  private static boolean isTraining(String[] args) {
    return List.of(args).stream().anyMatch(a -> a.startsWith("-XX:AOTCacheOutput="));
  }

  /**
   * Waits until the one-time training of the workers' AOT cache, which {@code hodei dev} starts
   * in the background, has ended: it would take CPU from what is measured.
   */
  void awaitNoTraining(Duration timeout) throws InterruptedException {
    Instant deadline = Instant.now().plus(timeout);
    while (Instant.now().isBefore(deadline)
        && process.toHandle().descendants().anyMatch(p -> p.info().arguments().map(ControlPlaneProcess::isTraining).orElse(false))) {
      Thread.sleep(100);
    }
  }

  /** Peak resident memory of the server process so far, in bytes. */
  long peakRss() {
    return Proc.peakRss(process.pid()).orElse(0);
  }

  /** Stops the server (SIGTERM, as Ctrl-C would) and its workers. */
  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }

  static String tail(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(no output: " + e.getMessage() + ")";
    }
  }
}
