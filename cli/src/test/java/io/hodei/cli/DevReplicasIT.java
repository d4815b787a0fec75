package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ShellCommand;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hodei dev --replicas 2} as a user runs it: one command, an embedded PostgreSQL in the data
 * directory, two replicas; one is killed and jobs go on through the other; a stop ends it all.
 */
class DevReplicasIT {
  @TempDir Path dir;
  private Process dev;
  private final List<String> output = new CopyOnWriteArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (dev != null && dev.isAlive()) {
      dev.destroyForcibly();
    }
  }

  private static int freePortPair() throws Exception {
    for (int attempt = 0; attempt < 20; attempt++) {
      int port;
      try (var socket = new ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      try (var next = new ServerSocket(port + 1)) {
        return port;
      } catch (java.io.IOException taken) {
        // try another pair
      }
    }
    throw new IllegalStateException("no two consecutive free ports");
  }

  private ManagedChannel channel(int port) throws Exception {
    String token = Files.readString(dir.resolve("data").resolve("admin.token")).strip();
    var headers = new io.grpc.Metadata();
    headers.put(io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    var channel = NettyChannelBuilder.forTarget("127.0.0.1:" + port).usePlaintext()
        .intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers)).build();
    channels.add(channel);
    return channel;
  }

  private static JobState runToTheEnd(ManagedChannel channel, String script) {
    var jobs = JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    String id = jobs.queueJob(QueueJobRequest.newBuilder().setDefinition(JobDefinition.newBuilder().setName("t")
        .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("sh").addArgs("-c").addArgs(script))))
        .build()).getJobId();
    await().atMost(Duration.ofSeconds(90)).until(() -> {
      var state = JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState();
      return state != JobState.JOB_STATE_PENDING && state != JobState.JOB_STATE_SCHEDULED && state != JobState.JOB_STATE_RUNNING;
    });
    return JobExecutionServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
        .getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getState();
  }

  @Test
  void twoReplicasOnTheEmbeddedDatabaseOneKilledTheOtherGoesOnAndAStopEndsItAll() throws Exception {
    int port = freePortPair();
    Path data = dir.resolve("data");
    dev = new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
            "-cp", System.getProperty("java.class.path"), HodeiCli.class.getName(),
            "dev", "--replicas", "2", "--port", Integer.toString(port), "--data-dir", data.toString(), "--max-workers", "2")
        .redirectErrorStream(true).start();
    Thread.ofVirtual().start(() -> {
      try (var reader = new BufferedReader(new InputStreamReader(dev.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          output.add(line);
        }
      } catch (java.io.IOException e) {
        // exited
      }
    });
    await().atMost(Duration.ofMinutes(3)).until(() -> output.stream().anyMatch(l -> l.contains("2 replicas ready")));
    String ready = output.stream().filter(l -> l.contains("2 replicas ready")).findFirst().orElseThrow();
    var pids = Pattern.compile("r(\\d) on 127\\.0\\.0\\.1:(\\d+) \\(pid (\\d+)\\)").matcher(ready);
    List<Long> replicaPids = new ArrayList<>();
    while (pids.find()) {
      assertThat(Integer.parseInt(pids.group(2))).isEqualTo(port + Integer.parseInt(pids.group(1)) - 1);
      replicaPids.add(Long.parseLong(pids.group(3)));
    }
    assertThat(replicaPids).hasSize(2);
    assertThat(output).anyMatch(l -> l.startsWith("[r1] ") && l.contains("replica: r1"));
    assertThat(output).anyMatch(l -> l.startsWith("[r2] ") && l.contains("replica: r2"));
    // The embedded database asks for the password kept owner-only in the data directory.
    assertThat(java.nio.file.Files.getPosixFilePermissions(data.resolve(DevPostgres.PASSWORD_FILE)))
        .containsExactlyInAnyOrder(java.nio.file.attribute.PosixFilePermission.OWNER_READ, java.nio.file.attribute.PosixFilePermission.OWNER_WRITE);

    assertThat(runToTheEnd(channel(port), "echo through r1")).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

    ProcessHandle.of(replicaPids.getFirst()).orElseThrow().destroyForcibly();
    await().atMost(Duration.ofSeconds(30)).until(() -> output.stream().anyMatch(l -> l.contains("replica r1 (pid") && l.contains("the others go on")));
    assertThat(runToTheEnd(channel(port + 1), "echo through r2")).isEqualTo(JobState.JOB_STATE_SUCCEEDED);

    dev.destroy(); // SIGTERM, as Ctrl-C
    assertThat(dev.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(ProcessHandle.of(replicaPids.get(1)).map(ProcessHandle::isAlive).orElse(false)).isFalse();
    // The database stopped with it: its pid file is gone.
    assertThat(data.resolve(DevPostgres.DIRECTORY).resolve("postmaster.pid")).doesNotExist();
  }
}
