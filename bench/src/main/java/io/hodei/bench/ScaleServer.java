package io.hodei.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * {@link ScaleServerMain} as a process of its own, and the benchmark's end of its stdin/stdout
 * protocol: launches go to a {@link SimFleet}, memory readings come back on request. Its log goes
 * to {@code server.log} in its directory.
 *
 * <p>Not thread-safe, except that the output is read on a thread of its own.
 */
final class ScaleServer implements AutoCloseable {
  /** Heap limit of the server JVM: fixed so that runs compare. */
  static final String HEAP = "-Xmx1g";

  private final Process process;
  private final Path log;
  private final Writer stdin;
  private final CompletableFuture<String> ready = new CompletableFuture<>();
  private final BlockingQueue<Long> memory = new LinkedBlockingQueue<>();
  private SimFleet fleet; // guarded by this
  /** Launches printed before the fleet was connected (the server may launch before READY). */
  private final List<String[]> early = new ArrayList<>(); // guarded by this
  private ManagedChannel channel;

  private ScaleServer(Process process, Path log) {
    this.process = process;
    this.log = log;
    this.stdin = new java.io.OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
    Thread.ofPlatform().daemon().name("scale-server-out").start(this::readOutput);
  }

  /**
   * Starts a server whose pool may run {@code maxWorkers} and keeps {@code minIdle} of them warm;
   * every worker it launches is connected to {@code fleet} (which must be set before any launch:
   * with {@code minIdle} 0 none is launched).
   */
  static ScaleServer start(Path dir, int maxWorkers, int minIdle, int heartbeatSeconds)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    Path log = dir.resolve("server.log");
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command = new ArrayList<>(List.of(java, HEAP));
    // For profiling a run: SCALE_SERVER_JAVA_OPTS="-XX:StartFlightRecording=filename=x.jfr".
    String extra = System.getenv().getOrDefault("SCALE_SERVER_JAVA_OPTS", "").strip();
    if (!extra.isEmpty()) {
      command.addAll(List.of(extra.split("\\s+")));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path")));
    command.addAll(
        List.of(
            ScaleServerMain.class.getName(),
            dir.resolve("data").toString(),
            Integer.toString(maxWorkers),
            Integer.toString(minIdle),
            Integer.toString(heartbeatSeconds)));
    Process process = new ProcessBuilder(command).redirectError(log.toFile()).start();
    var server = new ScaleServer(process, log);
    try {
      String address = server.ready.get(3, TimeUnit.MINUTES);
      server.channel = NettyChannelBuilder.forTarget(address).usePlaintext().build();
      return server;
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      process.destroyForcibly();
      throw new BenchFailure("the scale server did not start: " + e + "\n" + ControlPlaneProcess.tail(log));
    }
  }

  /** Where launched workers go, those already launched included. */
  void connect(SimFleet fleet) throws InterruptedException {
    List<String[]> backlog;
    synchronized (this) {
      this.fleet = fleet;
      backlog = List.copyOf(early);
      early.clear();
    }
    for (String[] launch : backlog) {
      fleet.launch(launch[1], launch[2]);
    }
  }

  String address() {
    return ready.join();
  }

  ManagedChannel channel() {
    return channel;
  }

  long pid() {
    return process.pid();
  }

  /** Heap in use after a full collection in the server, in bytes. */
  long heapAfterGc() throws IOException, InterruptedException {
    stdin.write("MEM\n");
    stdin.flush();
    Long used = memory.poll(2, TimeUnit.MINUTES);
    if (used == null) {
      throw new BenchFailure("the scale server did not report its memory\n" + ControlPlaneProcess.tail(log));
    }
    return used;
  }

  /** Resident memory of the server process now, in bytes. */
  long rss() {
    return Proc.rss(process.pid()).orElse(0);
  }

  long peakRss() {
    return Proc.peakRss(process.pid()).orElse(0);
  }

  /** Fails if the server died. */
  void check() {
    if (!process.isAlive()) {
      throw new BenchFailure("the scale server exited with " + process.exitValue() + "\n" + ControlPlaneProcess.tail(log));
    }
  }

  private void readOutput() {
    try (var in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        String[] parts = line.split(" ");
        switch (parts[0]) {
          case "READY" -> ready.complete(parts[1]);
          case "MEM" -> memory.add(Long.parseLong(parts[1]));
          case "LAUNCH" -> {
            SimFleet f;
            synchronized (this) {
              f = fleet;
              if (f == null) {
                early.add(parts);
              }
            }
            if (f != null) {
              f.launch(parts[1], parts[2]);
            }
          }
          case "DESTROY" -> {} // simulated workers stop when the fleet closes
          default -> {}
        }
      }
    } catch (IOException e) {
      // the process ended; check() says so
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ready.completeExceptionally(new IllegalStateException("the server's output ended"));
    }
  }

  @Override
  public void close() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
    }
    try {
      stdin.close(); // end of input: the server stops
    } catch (IOException e) {
      // already gone
    }
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
