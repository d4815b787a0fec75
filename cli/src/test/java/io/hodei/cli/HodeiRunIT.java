package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.server.provisioning.PoolPolicy;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI against a real embedded control plane whose workers are started exactly as {@code hodei
 * dev} starts them: {@code java -cp ... io.hodei.cli.HodeiCli worker}.
 */
class HodeiRunIT {
  @TempDir static Path dir;
  static EmbeddedControlPlane plane;

  @BeforeAll
  static void start() {
    plane = EmbeddedControlPlane.start(dir.resolve("data"), 0, new PoolPolicy(2, Duration.ofMinutes(1), Duration.ofSeconds(60)));
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  /** Runs the CLI in this JVM, capturing both the process streams and picocli's writers. */
  record Result(int exitCode, String stdout, String stderr) {}

  static synchronized Result hodei(String... args) {
    PrintStream realOut = System.out;
    PrintStream realErr = System.err;
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    var picoOut = new StringWriter();
    var picoErr = new StringWriter();
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      var cli = HodeiCli.commandLine();
      cli.setOut(new PrintWriter(picoOut, true));
      cli.setErr(new PrintWriter(picoErr, true));
      int code = cli.execute(args);
      return new Result(
          code,
          out.toString(StandardCharsets.UTF_8) + picoOut,
          err.toString(StandardCharsets.UTF_8) + picoErr);
    } finally {
      System.setOut(realOut);
      System.setErr(realErr);
    }
  }

  @Test
  void runPrintsTheJobsOutputAndExitsZeroOnSuccess() {
    var result = hodei("run", "--server", plane.address(), "--", "echo", "hello");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("hello\n");
  }

  @Test
  void runExitsWithTheJobsExitCodeAndSplitsItsStreams() {
    var result =
        hodei("run", "-q", "--server", plane.address(), "--", "sh", "-c", "echo out; echo err >&2; exit 7");

    assertThat(result.exitCode()).isEqualTo(7);
    assertThat(result.stdout()).isEqualTo("out\n");
    assertThat(result.stderr()).contains("err\n");
  }

  @Test
  void runExits124WhenTheJobTimesOut() {
    var result = hodei("run", "--server", plane.address(), "--timeout", "1s", "--", "sleep", "30");

    assertThat(result.exitCode()).isEqualTo(124);
    assertThat(result.stderr()).contains("timeout");
  }

  @Test
  void runRunsAScriptFileWithTheChosenInterpreter() throws Exception {
    Path script = dir.resolve("hello.sh");
    Files.writeString(script, "echo \"hi $WHO\"\n");

    var result =
        hodei("run", "--server", plane.address(), "--env", "WHO=there", "--script", script.toString(), "--interpreter", "sh");

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout()).isEqualTo("hi there\n");
  }

  @Test
  void aJobRefusedByTheServerNamesTheFieldAndExitsNonZero() {
    var result = hodei("run", "--server", plane.address(), "--timeout", "-5s", "--", "echo");

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_DATAERR);
    assertThat(result.stderr()).contains("definition.timeout");
  }

  @Test
  void anUnreachableServerGivesOneLineAndExit69() throws Exception {
    int freePort;
    try (var socket = new ServerSocket(0)) {
      freePort = socket.getLocalPort();
    }
    var result = hodei("jobs", "list", "--server", "127.0.0.1:" + freePort);

    assertThat(result.exitCode()).isEqualTo(69);
    assertThat(result.stderr().strip()).startsWith("hodei: cannot reach the Hodei server at 127.0.0.1:" + freePort);
    assertThat(result.stderr().strip().lines()).hasSize(1);
  }

  @Test
  void jobsListAndGetShowFinishedJobsAlsoAsJson() {
    hodei("run", "-q", "--server", plane.address(), "--name", "listed-job", "--", "echo", "listed");

    var table = hodei("jobs", "list", "--server", plane.address());
    var json = hodei("jobs", "list", "--server", plane.address(), "-o", "json", "--state", "succeeded", "--limit", "1");

    assertThat(table.exitCode()).isZero();
    assertThat(table.stdout()).contains("listed-job").contains("succeeded");
    assertThat(json.exitCode()).isZero();
    assertThat(json.stdout()).contains("\"name\": \"listed-job\"").contains("JOB_STATE_SUCCEEDED");
    String id = json.stdout().lines().filter(l -> l.contains("\"jobId\"")).findFirst().orElseThrow().split("\"")[3];

    var detail = hodei("jobs", "get", id, "--server", plane.address());
    var logs = hodei("logs", id, "--server", plane.address());

    assertThat(detail.stdout()).contains("Job:       " + id).contains("#1").contains("succeeded");
    assertThat(logs.exitCode()).isZero();
    assertThat(logs.stdout()).isNotEmpty();
  }
}
