package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.server.auth.UserQuotas;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The per-user quota of stored log bytes (64 KiB here) and log retention, with real worker JVMs
 * over real gRPC and real tokens: a greedy user's job that writes 200 KB is cut at the quota with
 * a marker naming it and still succeeds; that user's next job is refused with RESOURCE_EXHAUSTED
 * naming the quota, while another user's job runs and logs as usual. Once retention deletes the
 * greedy user's finished log, they may queue again.
 */
class LogQuotaIT {
  private static final long QUOTA = 64 * 1024;

  @TempDir Path dir;
  TestControlPlane plane;

  @AfterEach
  void stop() {
    if (plane != null) {
      plane.close();
    }
  }

  private TestControlPlane start(Duration retention) {
    return new TestControlPlane(
        dir,
        Clock.systemUTC(),
        new PoolPolicy(2, Duration.ofMinutes(2), Duration.ofSeconds(60)),
        ServerConfig.defaults().withPort(0)
            .withQuotas(new UserQuotas(100, 10, QUOTA))
            .withLogRetention(retention),
        List.of());
  }

  private final java.util.Map<String, String> tokens = new java.util.HashMap<>();

  /** A channel of {@code user}'s, with the token it got the first time (tokens outlive a restart). */
  private Channel as(String user) {
    var service = new TokenService(plane.stores.tokens(), Clock.systemUTC());
    String token = tokens.computeIfAbsent(user, u -> service.issue(u, Role.USER, Optional.empty()).token());
    return AccessTableIT.bearer(plane.channel, token);
  }

  private static String queue(Channel as, JobDefinition definition) {
    return JobExecutionServiceGrpc.newBlockingStub(as).withDeadlineAfter(30, TimeUnit.SECONDS)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
  }

  /** 200 lines of 1,000 characters, then "done". */
  private static JobDefinition flood() {
    return TestControlPlane.shell("sh", "-c", "i=0; while [ $i -lt 200 ]; do printf '%01000d\\n' 0; i=$((i+1)); done; echo done");
  }

  @Test
  void aGreedyUsersLogIsCutAtTheQuotaAndTheirNextJobRefusedWhileAnotherUserRunsOn() {
    plane = start(Duration.ZERO);
    Channel mallory = as("mallory");
    Channel bob = as("bob");

    var greedy = TestControlPlane.follow(mallory, queue(mallory, flood()));

    assertThat(greedy.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    long stdoutBytes = greedy.text(LogStream.LOG_STREAM_STDOUT).stream().mapToLong(String::length).sum();
    assertThat(stdoutBytes).isGreaterThanOrEqualTo(QUOTA).isLessThan(QUOTA + 1000);
    assertThat(greedy.text(LogStream.LOG_STREAM_STDOUT)).doesNotContain("done");
    assertThat(greedy.lines().getLast().getData().toStringUtf8())
        .startsWith("[hodei] log truncated: quota log_bytes: the logs stored for mallory's jobs reached 65536 bytes");
    assertThat(plane.stores.logs().bytesOwnedBy("mallory")).isGreaterThanOrEqualTo(QUOTA);

    var refused = catchThrowableOfType(StatusRuntimeException.class, () -> queue(mallory, TestControlPlane.shell("true")));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getStatus().getDescription()).startsWith("quota log_bytes: the logs stored for mallory's jobs take ");

    var normal = TestControlPlane.follow(bob, queue(bob, TestControlPlane.shell("echo", "hello")));
    assertThat(normal.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(normal.text(LogStream.LOG_STREAM_STDOUT)).containsExactly("hello");
  }

  @Test
  void logRetentionDeletesFinishedLogsAndFreesTheirOwnersQuota() throws Exception {
    plane = start(Duration.ZERO);
    Channel before = as("mallory");
    String first = queue(before, flood());
    assertThat(TestControlPlane.follow(before, first).finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(catchThrowableOfType(StatusRuntimeException.class, () -> queue(before, TestControlPlane.shell("true")))
        .getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    plane.close();

    // A server with a retention of 1 s deletes the log at its first pass, at start.
    Thread.sleep(1100);
    plane = start(Duration.ofSeconds(1));
    Channel mallory = as("mallory");
    org.awaitility.Awaitility.await().until(() -> plane.stores.logs().bytesOwnedBy("mallory") == 0);

    assertThat(TestControlPlane.follow(mallory, first).lines()).isEmpty();
    var again = TestControlPlane.follow(mallory, queue(mallory, TestControlPlane.shell("echo", "back")));
    assertThat(again.text(LogStream.LOG_STREAM_STDOUT)).containsExactly("back");
  }
}
