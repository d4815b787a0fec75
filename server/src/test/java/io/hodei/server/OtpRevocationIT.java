package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A provisioned worker destroyed before it registered takes its OTP with it. The "worker" here is
 * a shell that writes down its id, OTP and pid and then waits without registering, so the test
 * holds the OTP a real worker would have had.
 */
class OtpRevocationIT {
  private static final Duration REGISTRATION_TIMEOUT = Duration.ofSeconds(30);

  @TempDir Path dir;
  final HandClock clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
  TestControlPlane plane;
  Path launched;

  @BeforeEach
  void start() {
    launched = dir.resolve("launched");
    plane =
        new TestControlPlane(
            dir,
            clock,
            new PoolPolicy(1, Duration.ofMinutes(2), REGISTRATION_TIMEOUT),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0),
            List.of(
                "sh",
                "-c",
                // The token comes as the local provider hands it over: in the bootstrap on stdin.
                "token=$(sed -n 's/^token //p'); echo \"$HODEI_WORKER_ID $token $$\" >> '" + launched + "'; exec sleep 300"));
  }

  @AfterEach
  void stop() throws Exception {
    plane.close();
    if (Files.exists(launched)) {
      for (String line : Files.readAllLines(launched)) {
        ProcessHandle.of(Long.parseLong(line.split(" ")[2])).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  @Test
  void theOtpOfAWorkerDestroyedBeforeItRegisteredIsRefused() throws Exception {
    plane.queue(TestControlPlane.shell("true"));
    await().atMost(Duration.ofSeconds(30)).until(() -> Files.exists(launched) && !Files.readAllLines(launched).isEmpty());
    String[] first = Files.readAllLines(launched).getFirst().split(" ");
    String workerId = first[0];
    String otp = first[1];
    ProcessHandle process = ProcessHandle.of(Long.parseLong(first[2])).orElseThrow();

    // Past the registration timeout, well within the OTP's own 5 minutes: the reaper destroys it.
    clock.advance(REGISTRATION_TIMEOUT.plusSeconds(1));
    await().atMost(Duration.ofSeconds(30)).until(() -> !process.isAlive());

    var refused =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
                    .register(
                        RegisterRequest.newBuilder()
                            .setAuthToken(otp)
                            .setWorkerInfo(
                                WorkerInfo.newBuilder().setWorkerId(workerId).setName(workerId))
                            .build()));
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refused.getStatus().getDescription()).contains("unknown or revoked");
  }
}
