package io.hodei.worker;

import static io.hodei.worker.FakeControlPlane.GOOD_TOKEN;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.api.v1.JobOutcome;
import io.hodei.api.v1.JobResult;
import io.hodei.api.v1.WorkerMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The worker as its own JVM, started by {@code WorkerMain.main} from the environment. */
@Timeout(value = 40, unit = TimeUnit.SECONDS)
class WorkerProcessTest {
  @TempDir Path dir;
  private FakeControlPlane server = FakeControlPlane.start();

  @AfterEach
  void stopServer() {
    server.close();
  }

  @Test
  void sigtermMakesAWorkerProcessCancelItsJobsUnregisterAndExit() throws Exception {
    Process worker = startWorkerProcess(Map.of(WorkerConfig.ENV_DRAIN_TIMEOUT, "0s"));
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      server.runJob(Jobs.shell("e-sigterm", "sleep", "33"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.starts("e-sigterm").isEmpty());
      List<ProcessHandle> jobProcesses =
          await().until(
              () -> worker.descendants().filter(p -> WorkerAgentTest.hasArguments(p, "33")).toList(),
              found -> !found.isEmpty());
      assertThat(jobProcesses).hasSize(1);

      worker.destroy(); // SIGTERM

      assertThat(worker.waitFor(20, TimeUnit.SECONDS)).as(log()).isTrue();
      assertThat(worker.exitValue()).isEqualTo(143); // 128 + SIGTERM: the JVM's exit on a signal
      JobResult result = server.results("e-sigterm").getFirst();
      assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_CANCELLED);
      assertThat(result.getErrorMessage()).isEqualTo("worker shutting down");
      assertThat(server.unregistrations)
          .singleElement()
          .satisfies(u -> assertThat(u.getWorkerId()).isEqualTo("worker-proc"));
      assertThat(jobProcesses).noneMatch(ProcessHandle::isAlive);
    } finally {
      worker.destroyForcibly();
    }
  }

  @Test
  void sigtermLetsARunningJobFinishWithinTheDrainTimeout() throws Exception {
    Process worker = startWorkerProcess(Map.of(WorkerConfig.ENV_DRAIN_TIMEOUT, "20s"));
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      server.runJob(Jobs.shell("e-drain", "sh", "-c", "sleep 1.5; echo finished"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.starts("e-drain").isEmpty());

      worker.destroy(); // SIGTERM

      assertThat(worker.waitFor(25, TimeUnit.SECONDS)).as(log()).isTrue();
      JobResult result = server.results("e-drain").getFirst();
      assertThat(result.getOutcome()).isEqualTo(JobOutcome.JOB_OUTCOME_EXITED);
      assertThat(result.getExitCode()).isZero();
      assertThat(server.stdout("e-drain")).containsExactly("finished");
      assertThat(server.unregistrations).hasSize(1);
    } finally {
      worker.destroyForcibly();
    }
  }

  /**
   * Two million lines through a server that reads slowly (a small flow-control window), into a
   * worker JVM with a 48 MiB heap: held in memory, the lines alone would need several times that.
   * They must all arrive, in order, once each.
   */
  @Test
  @Timeout(value = 180, unit = TimeUnit.SECONDS)
  void twoMillionLinesThroughASlowServerArriveCompleteInOrderInBoundedMemory() throws Exception {
    server.close();
    server = FakeControlPlane.startWithFlowControlWindow(16 * 1024);
    int total = 2_000_000;
    Process worker = startWorkerProcess(Map.of(), "-Xmx48m");
    try {
      await()
          .atMost(Duration.ofSeconds(20))
          .until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      long start = System.nanoTime();
      server.runJob(Jobs.shell("e-flood", "seq", "1", Integer.toString(total)));

      await().atMost(Duration.ofSeconds(150)).until(() -> !server.results("e-flood").isEmpty());
      long millis = (System.nanoTime() - start) / 1_000_000;
      JobResult result = server.results("e-flood").getFirst();
      assertThat(result.getExitCode()).as(log()).isZero();
      assertThat(result.getLogLines()).isEqualTo(total);
      assertThat(worker.isAlive()).as("the worker did not run out of memory: %s", log()).isTrue();
      var lines = server.uniqueLines("e-flood");
      assertThat(lines).hasSize(total);
      for (int i = 0; i < total; i++) {
        var line = lines.get(i);
        if (line.getSequence() != i || !line.getData().toStringUtf8().equals(Integer.toString(i + 1))) {
          throw new AssertionError("line " + i + " is " + line.getSequence() + ": " + line.getData().toStringUtf8());
        }
      }
      long batches = server.logBatchCount("e-flood");
      System.out.printf(
          "BENCH log flood: %d lines in %d ms (%.0f lines/s), %d log_batch messages = %.2f messages per 1,000 lines%n",
          total, millis, total * 1000.0 / millis, batches, batches * 1000.0 / total);
    } finally {
      worker.destroyForcibly();
    }
  }

  @Test
  void aWorkerProcessWithoutABootstrapOnStdinExitsWithAnError() throws Exception {
    ProcessBuilder builder = javaCommand();
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process worker = builder.start();

    assertThat(worker.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(worker.exitValue()).isEqualTo(WorkerExit.FAILED.code());
    assertThat(log()).contains("no one-time token", Bootstrap.ENV_TOKEN_FILE);
  }

  @Test
  void aWorkerProcessGivenItsTokenInTheEnvironmentRefusesToStart() throws Exception {
    ProcessBuilder builder = javaCommand();
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    builder.environment().put(WorkerConfig.ENV_TOKEN, GOOD_TOKEN);
    Process worker = builder.start();
    writeBootstrap(worker, Bootstrap.HEADER + "\ntoken " + GOOD_TOKEN + "\nend\n");

    assertThat(worker.waitFor(20, TimeUnit.SECONDS)).isTrue();
    assertThat(worker.exitValue()).isEqualTo(WorkerExit.FAILED.code());
    assertThat(log()).contains("HODEI_TOKEN is not read any more").doesNotContain(GOOD_TOKEN);
    assertThat(server.registrations).isEmpty();
  }

  @Test
  void aWorkerProcessStartedByHandReadsItsTokenFromATokenFile() throws Exception {
    Path tokenFile = dir.resolve("token");
    Files.writeString(tokenFile, GOOD_TOKEN + "\n");
    Files.setPosixFilePermissions(tokenFile, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
    ProcessBuilder builder = javaCommand();
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    builder.environment().put(Bootstrap.ENV_TOKEN_FILE, tokenFile.toString());
    builder.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process worker = builder.start();
    try {
      await().atMost(Duration.ofSeconds(20)).until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      assertThat(tokenFile).exists(); // a human's file is left alone
    } finally {
      worker.destroyForcibly();
    }
  }

  /**
   * What a job could read of its worker: with the bootstrap on stdin, the token is in neither the
   * worker's environment nor its command line, and the process is not dumpable, so a process of
   * the same (non-root) uid cannot open its {@code /proc/PID/environ} at all. Root reads anything,
   * so the worker and the readers run as nobody (65534); a plain process of that uid, whose
   * environ that reader can open, shows the check would fail without {@code PR_SET_DUMPABLE}.
   */
  @Test
  void aWorkerProcessKeepsItsTokenOutOfEnvironAndCmdlineAndIsNotDumpable() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        new ProcessBuilder("id", "-u").start().inputReader().readLine().equals("0")
            && Files.isExecutable(Path.of("/usr/bin/setpriv")),
        "needs root and setpriv to run the worker as another uid");
    Path shared = Files.createTempDirectory("hodei-nobody-");
    Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxrwx"));
    ProcessBuilder builder = javaCommand(List.of(AS_NOBODY), readableClassPath(shared), shared);
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    builder.environment().put("HODEI_CANARY", "canary-in-env");
    Process worker = builder.start();
    Process plain = null;
    try {
      writeBootstrap(worker, Bootstrap.HEADER + "\ntoken " + GOOD_TOKEN + "\nend\n");
      await().atMost(Duration.ofSeconds(30)).until(() -> server.messages().stream().anyMatch(WorkerMessage::hasAttach));
      long pid = worker.pid();

      // As root: what is there holds no token.
      String environ = Files.readString(Path.of("/proc", Long.toString(pid), "environ"));
      String cmdline = Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"));
      assertThat(environ).contains("HODEI_CANARY=canary-in-env").doesNotContain(GOOD_TOKEN);
      assertThat(cmdline).contains("--worker-id=worker-proc").doesNotContain(GOOD_TOKEN);
      // The process runs as nobody, yet the kernel gave its /proc files to root: not dumpable.
      assertThat(Files.readString(Path.of("/proc", Long.toString(pid), "status"))).containsPattern("Uid:\\s+65534\\s");
      assertThat(Files.getAttribute(Path.of("/proc", Long.toString(pid), "environ"), "unix:uid")).isEqualTo(0);

      // As nobody, as a job of that uid would be: cmdline yes, environ no.
      assertThat(runAsNobody("cat", "/proc/" + pid + "/cmdline").exit()).isZero();
      var denied = runAsNobody("cat", "/proc/" + pid + "/environ");
      assertThat(denied.exit()).as(denied.output()).isNotZero();
      assertThat(denied.output()).contains("Permission denied").doesNotContain("canary-in-env");

      // The same reader opens the environ of a dumpable process of the same uid.
      var plainBuilder = new ProcessBuilder(concat(AS_NOBODY, "sleep", "30"));
      plainBuilder.environment().put("HODEI_CANARY", "canary-in-env");
      plain = plainBuilder.start();
      long plainPid = plain.pid();
      await().atMost(Duration.ofSeconds(5))
          .until(() -> Files.readString(Path.of("/proc", Long.toString(plainPid), "cmdline")).startsWith("sleep"));
      var allowed = runAsNobody("cat", "/proc/" + plainPid + "/environ");
      assertThat(allowed.exit()).as(allowed.output()).isZero();
      assertThat(allowed.output()).contains("canary-in-env");

      // And a job of the worker, of the worker's uid, cannot read its parent's environ either.
      server.runJob(Jobs.shell("e-peek", "sh", "-c", "cat /proc/$PPID/environ || echo unreadable"));
      await().atMost(Duration.ofSeconds(10)).until(() -> !server.results("e-peek").isEmpty());
      assertThat(server.stdout("e-peek")).containsExactly("unreadable");
    } finally {
      worker.destroyForcibly();
      if (plain != null) {
        plain.destroyForcibly();
      }
    }
  }

  private static final String[] AS_NOBODY = {"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups"};

  private record Run(int exit, String output) {}

  private static Run runAsNobody(String... command) throws Exception {
    Process p = new ProcessBuilder(concat(AS_NOBODY, command)).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    return new Run(p.exitValue(), output);
  }

  private static List<String> concat(String[] prefix, String... rest) {
    var all = new java.util.ArrayList<>(List.of(prefix));
    all.addAll(List.of(rest));
    return all;
  }

  /** This test's class path, with every entry nobody could not read copied into {@code shared}. */
  private static String readableClassPath(Path shared) throws IOException {
    var entries = new java.util.ArrayList<String>();
    int n = 0;
    for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
      Path path = Path.of(entry);
      if (entry.isBlank() || !Files.exists(path)) {
        continue;
      }
      if (Files.isRegularFile(path) && !path.startsWith("/work")) {
        Path copy = shared.resolve((n++) + "-" + path.getFileName());
        Files.copy(path, copy);
        Files.setPosixFilePermissions(copy, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        entries.add(copy.toString());
      } else {
        entries.add(path.toAbsolutePath().toString());
      }
    }
    return String.join(java.io.File.pathSeparator, entries);
  }

  private static void writeBootstrap(Process worker, String document) throws IOException {
    try (var stdin = worker.getOutputStream()) {
      stdin.write(document.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
  }

  private Process startWorkerProcess(Map<String, String> env, String... jvmOptions) throws IOException {
    ProcessBuilder builder = javaCommand(jvmOptions);
    builder.environment().putAll(env);
    builder.environment().put(WorkerConfig.ENV_SERVER_ADDRESS, server.address());
    Process worker = builder.start();
    writeBootstrap(worker, Bootstrap.HEADER + "\ntoken " + GOOD_TOKEN + "\nend\n");
    return worker;
  }

  private ProcessBuilder javaCommand(String... jvmOptions) {
    return javaCommand(List.of(), System.getProperty("java.class.path"), dir, jvmOptions);
  }

  /** The worker's JVM, as a provider starts it: a worker id in argv, the bootstrap to come on stdin. */
  private ProcessBuilder javaCommand(List<String> prefix, String classPath, Path tmp, String... jvmOptions) {
    List<String> command = new java.util.ArrayList<>(prefix);
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:+UseSerialGC");
    command.add("-Xshare:auto");
    command.add("--enable-native-access=ALL-UNNAMED");
    command.addAll(List.of(jvmOptions));
    command.add("-Djava.io.tmpdir=" + tmp);
    command.add("-cp");
    command.add(classPath);
    command.add(WorkerMain.class.getName());
    command.add("worker");
    command.add(WorkerMain.WORKER_ID_ARGUMENT + "worker-proc");
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put(WorkerConfig.ENV_WORKER_ID, "worker-proc");
    builder.redirectErrorStream(true);
    builder.redirectOutput(dir.resolve("worker.log").toFile());
    return builder;
  }

  private String log() throws IOException {
    return Files.readString(dir.resolve("worker.log"));
  }
}
