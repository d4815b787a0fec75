package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OTP registration over a real socket and a real store, with the server's clock under control. */
class RegistrationIT {
  @TempDir Path dir;
  final HandClock clock = new HandClock(Instant.parse("2026-01-01T00:00:00Z"));
  ControlPlane plane;
  OtpService otps;

  @BeforeEach
  void start() {
    plane = new ControlPlane(dir, clock, PoolPolicy.DEFAULT);
    otps = new OtpService(plane.stores.otps(), clock, OtpService.DEFAULT_TTL);
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  private RegisterResponse register(String token, String workerId) {
    return WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
        .register(
            RegisterRequest.newBuilder()
                .setAuthToken(token)
                .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(workerId).setName(workerId))
                .build());
  }

  private Status.Code refusal(String token, String workerId) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> register(token, workerId))
        .getStatus()
        .getCode();
  }

  @Test
  void aValidOtpGivesASession() {
    var otp = otps.issue(new WorkerId("w-1"));

    var response = register(otp.token(), "w-1");

    assertThat(response.getWorkerId()).isEqualTo("w-1");
    assertThat(response.getSessionId()).isNotBlank();
    assertThat(response.getHeartbeatInterval().getSeconds()).isPositive();
  }

  @Test
  void anExpiredOtpIsUnauthenticated() {
    var otp = otps.issue(new WorkerId("w-1"));
    clock.advance(Duration.ofMinutes(5).plusSeconds(1));

    assertThat(refusal(otp.token(), "w-1")).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void aReusedOtpIsUnauthenticated() {
    var otp = otps.issue(new WorkerId("w-1"));
    register(otp.token(), "w-1");

    assertThat(refusal(otp.token(), "w-1")).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void anOtpIssuedForAnotherWorkerIsUnauthenticated() {
    var otp = otps.issue(new WorkerId("w-1"));

    assertThat(refusal(otp.token(), "w-2")).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  @Test
  void anInventedOtpIsUnauthenticated() {
    assertThat(refusal(java.util.UUID.randomUUID().toString(), "w-1"))
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refusal("", "w-1")).isEqualTo(Status.Code.UNAUTHENTICATED);
  }
}
