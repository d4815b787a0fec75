package io.hodei.cli;

import static io.hodei.cli.HodeiRunIT.hodei;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.CancelJobRequest;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import io.hodei.server.ControlPlane;
import io.hodei.server.PoolSpec;
import io.hodei.server.ServerConfig;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hodei workers top} against an embedded control plane with one warm worker, started as
 * {@code hodei dev} starts them, that samples its usage every second.
 */
class WorkersTopIT {
  @TempDir static Path dir;
  static ControlPlane plane;
  static ManagedChannel channel;
  static String sleeper;

  @BeforeAll
  static void start() {
    plane =
        ControlPlane.start(
            ControlPlane.Settings.of(
                    dir.resolve("data"),
                    ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN)
                        .withPort(0)
                        .withHeartbeats(Duration.ofMillis(300), Duration.ofSeconds(5)))
                .withPools(
                    List.of(
                        new PoolSpec.Local(
                            "local",
                            new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)).withMinIdle(1),
                            Map.of())))
                .withWorkerEnv(Map.of("HODEI_METRICS_TTL", "1s"))
                .withLocalWorkerCommand(WorkerLauncher::command));
    channel = NettyChannelBuilder.forTarget(plane.address()).usePlaintext().build();
    sleeper =
        JobExecutionServiceGrpc.newBlockingStub(channel)
            .queueJob(
                QueueJobRequest.newBuilder()
                    .setDefinition(
                        JobDefinition.newBuilder()
                            .setName("top-sleeper")
                            .setCommand(
                                CommandSpec.newBuilder()
                                    .setShell(
                                        ShellCommand.newBuilder().setCmd("sleep").addArgs("120"))))
                    .build())
            .getJobId();
    // The worker is up and reporting once a table shows it running the job.
    await()
        .atMost(Duration.ofSeconds(60))
        .pollInterval(Duration.ofMillis(300))
        .until(
            () ->
                hodei("workers", "top", "--once", "--server", plane.address())
                    .stdout()
                    .contains(sleeper));
  }

  @AfterAll
  static void stop() {
    try {
      JobExecutionServiceGrpc.newBlockingStub(channel)
          .cancelJob(CancelJobRequest.newBuilder().setJobId(sleeper).build());
    } finally {
      channel.shutdownNow();
      plane.close();
    }
  }

  /** The worker rows of a table: the lines after the WORKER header, up to a blank line. */
  static List<String> rows(String output) {
    return lines(output).stream().filter(l -> !l.startsWith(" ")).toList();
  }

  /** The job lines of a table, under their workers. */
  static List<String> jobLines(String output) {
    return lines(output).stream().filter(l -> l.startsWith("  job ")).toList();
  }

  private static List<String> lines(String output) {
    var lines = output.lines().toList();
    int header =
        lines.indexOf(lines.stream().filter(l -> l.startsWith("WORKER")).findFirst().orElseThrow());
    return lines.subList(header + 1, lines.size()).stream().takeWhile(l -> !l.isBlank()).toList();
  }

  @Test
  void topOncePrintsEachConnectedWorkersFiguresAndTheClustersInOneTable() {
    var result = hodei("workers", "top", "--once", "--server", plane.address());

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout().lines().findFirst().orElseThrow())
        .startsWith("WORKER")
        .contains("CPU", "MEM", "PIDS", "IO READ/WRITE", "HOST CPU", "HOST MEM", "JOBS");
    var row = rows(result.stdout()).getFirst().split("\\s+");
    assertThat(rows(result.stdout())).hasSize(1);
    assertThat(Double.parseDouble(row[1])).isNotNegative(); // cores
    assertThat(row[2]).matches("\\d+(\\.\\d)?[BKMGTPE]").isNotEqualTo("0B"); // memory
    assertThat(Integer.parseInt(row[3])).isPositive(); // pids
    assertThat(row[row.length - 1]).isEqualTo(sleeper);
    assertThat(result.stdout()).contains("1 worker(s) connected").contains("job(s) queued");
  }

  @Test
  void eachRunningJobHasALineWithItsOwnFiguresUnderItsWorker() {
    var result =
        await()
            .atMost(Duration.ofSeconds(30))
            .pollInterval(Duration.ofMillis(300))
            .until(
                () -> hodei("workers", "top", "--once", "--server", plane.address()),
                r -> !jobLines(r.stdout()).isEmpty());

    var job = jobLines(result.stdout()).getFirst().strip().split("\\s+");
    assertThat(job[0]).isEqualTo("job");
    assertThat(Double.parseDouble(job[1])).isNotNegative();
    assertThat(job[2]).isNotEqualTo("0B"); // sleep's resident memory
    assertThat(job[3]).isEqualTo("1");
    assertThat(job[4]).isEqualTo(sleeper);
  }

  @Test
  void topOnceAsJsonIsTheAggregatedFiguresForScripts() {
    var result = hodei("workers", "top", "--once", "-o", "json", "--server", plane.address());

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout())
        .contains("\"workersConnected\": \"1\"")
        .contains("\"workers\": [")
        .contains("\"runningJobIds\": [\"" + sleeper + "\"]")
        .contains("\"memoryBytes\"");
  }

  @Test
  void liveTopDrawsTablesFromTheStream() {
    var result = hodei("workers", "top", "-n", "2", "-d", "500ms", "--server", plane.address());

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout().lines().filter(l -> l.startsWith("hodei workers top - ")))
        .hasSize(2);
    assertThat(result.stdout()).contains("1 worker(s)");
    assertThat(rows(result.stdout())).singleElement().asString().endsWith(sleeper);
  }

  @Test
  void liveTopAsJsonPrintsOneSampleALine() {
    var result = hodei("workers", "top", "-o", "json", "-n", "3", "--server", plane.address());

    assertThat(result.exitCode()).isZero();
    assertThat(result.stdout().lines().toList())
        .hasSize(3)
        .allSatisfy(line -> assertThat(line).startsWith("{\"workerId\":").contains("\"usage\":"));
  }

  @Test
  void anUnknownWorkerIsNotFound() {
    var result = hodei("workers", "top", "-w", "no-such-worker", "--server", plane.address());

    assertThat(result.exitCode()).isEqualTo(HodeiCli.EX_NOINPUT);
    assertThat(result.stderr()).contains("no-such-worker").contains("not found");
  }
}
