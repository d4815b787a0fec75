package io.hodei.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code hodei dev --replicas N}: N control planes on one PostgreSQL, each a {@code hodei dev}
 * process of its own (so that one can be killed) on consecutive ports, replica ids {@code r1} to
 * {@code rN}, sharing the data directory (its secret key, admin token and workers' logs; each
 * replica locks its own {@code DATA/lock-rI}). Without a database URL the database is an embedded
 * PostgreSQL in {@code DATA/postgres} ({@link DevPostgres}).
 *
 * <p>The replicas start one after another, each once the one before is ready, so that the first
 * issues the admin token and the others find it. Their output is shown prefixed with their id. A
 * replica that dies is reported, and the others go on; stopping this command stops them all.
 */
final class DevReplicas {
  private static final long READY_TIMEOUT_SECONDS = 120;

  private final Path data;
  private final int firstPort;
  private final List<String> passThrough;
  private final PrintStream out;
  private final List<Process> replicas = new ArrayList<>();
  private volatile boolean stopping;

  DevReplicas(Path data, int firstPort, List<String> passThrough, PrintStream out) {
    this.data = data;
    this.firstPort = firstPort;
    this.passThrough = List.copyOf(passThrough);
    this.out = out;
  }

  /**
   * The user's arguments without those this command sets per replica: {@code --replicas}, {@code
   * --port}, {@code --replica-id} and {@code --data-dir}, in either {@code --flag value} or {@code
   * --flag=value} form.
   */
  static List<String> passThrough(List<String> args) {
    var owned = java.util.Set.of("--replicas", "--port", "--replica-id", "--data-dir");
    List<String> kept = new ArrayList<>();
    for (int i = 0; i < args.size(); i++) {
      String arg = args.get(i);
      String name = arg.contains("=") ? arg.substring(0, arg.indexOf('=')) : arg;
      if (owned.contains(name)) {
        if (!arg.contains("=")) {
          i++; // its value
        }
        continue;
      }
      kept.add(arg);
    }
    return kept;
  }

  /**
   * Starts the database (when {@code databaseUrl} is empty) and the replicas, then waits until
   * they have all exited or this process is stopped.
   *
   * @return the exit code: 0 after a stop, else that of a replica that could not start
   */
  int run(int count, Optional<String> databaseUrl) throws InterruptedException {
    DevPostgres postgres = null;
    List<String> database = List.of();
    if (databaseUrl.isEmpty()) {
      out.println("hodei dev: starting the embedded PostgreSQL in " + data.resolve(DevPostgres.DIRECTORY));
      try {
        postgres = DevPostgres.start(data);
      } catch (RuntimeException e) {
        throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_UNAVAILABLE);
      }
      database = List.of("--database-url", postgres.url(), "--database-password-file", postgres.passwordFile().toString());
    }
    var stopped = new CountDownLatch(1);
    DevPostgres db = postgres;
    Thread hook = new Thread(() -> {
      stopAll();
      if (db != null) {
        db.close();
      }
      stopped.countDown();
    }, "hodei-dev-replicas-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    List<String> ready = new ArrayList<>();
    for (int i = 1; i <= count; i++) {
      String id = "r" + i;
      int port = firstPort + i - 1;
      List<String> command = new ArrayList<>(javaCommand());
      command.addAll(List.of("dev", "--port", Integer.toString(port), "--replica-id", id, "--data-dir", data.toString()));
      command.addAll(database);
      command.addAll(passThrough);
      Process process;
      try {
        process = new ProcessBuilder(command).redirectErrorStream(true).start();
      } catch (IOException e) {
        stopAll();
        throw new HodeiCli.UserError("cannot start replica " + id + ": " + e.getMessage(), HodeiCli.EX_UNAVAILABLE);
      }
      replicas.add(process);
      var isReady = new CountDownLatch(1);
      Thread.ofVirtual().name("output-of-" + id).start(() -> relay(id, process, isReady));
      boolean up = false;
      while (!up && process.isAlive()) {
        up = isReady.await(1, TimeUnit.SECONDS);
      }
      if (!up && !isReady.await(0, TimeUnit.SECONDS)) {
        int code = process.isAlive() ? HodeiCli.EX_UNAVAILABLE : process.waitFor();
        out.println("hodei dev: replica " + id + " did not start (exit " + code + "); stopping the others");
        Runtime.getRuntime().removeShutdownHook(hook);
        hook.run();
        return code == 0 ? HodeiCli.EX_UNAVAILABLE : code;
      }
      ready.add(id + " on 127.0.0.1:" + port + " (pid " + process.pid() + ")");
    }
    out.println("hodei dev: " + count + " replicas ready: " + String.join(", ", ready)
        + ". Kill one (kill -9 PID) and its workers attach to another; its jobs go on.");
    for (int i = 0; i < replicas.size(); i++) {
      String id = "r" + (i + 1);
      Process process = replicas.get(i);
      process.onExit().thenAccept(p -> {
        if (!stopping) {
          out.println("hodei dev: replica " + id + " (pid " + p.pid() + ") exited with " + p.exitValue() + "; the others go on");
        }
      });
    }
    stopped.await();
    return 0;
  }

  /** Shows the replica's output prefixed with its id, and counts the latch down at its ready line. */
  private void relay(String id, Process process, CountDownLatch ready) {
    try (var reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = reader.readLine()) != null) {
        out.println("[" + id + "] " + line);
        if (line.contains(": ready on ")) {
          ready.countDown();
        }
      }
    } catch (IOException e) {
      // the replica's pipe closed: it exited
    }
  }

  /** Stops every replica (SIGTERM, a clean stop), the last started first, each within 30 s. */
  private synchronized void stopAll() {
    stopping = true;
    for (Process process : replicas.reversed()) {
      process.destroy();
    }
    for (Process process : replicas.reversed()) {
      try {
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }

  /** This JVM's java and class path, running the hodei command line. */
  private static List<String> javaCommand() {
    String java =
        ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    return List.of(java, "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), HodeiCli.class.getName());
  }
}
