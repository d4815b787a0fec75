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
import io.hodei.server.auth.RegistrationThrottle;
import io.hodei.server.provisioning.PoolPolicy;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
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
  TestControlPlane plane;
  OtpService otps;

  @BeforeEach
  void start() {
    plane = new TestControlPlane(dir, clock, PoolPolicy.DEFAULT);
    otps = new OtpService(plane.stores.otps(), clock, OtpService.DEFAULT_TTL);
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  private RegisterResponse register(String token, String workerId) {
    return register(plane.channel, token, workerId);
  }

  private static RegisterResponse register(io.grpc.Channel channel, String token, String workerId) {
    return WorkerAgentServiceGrpc.newBlockingStub(channel)
        .register(
            RegisterRequest.newBuilder()
                .setAuthToken(token)
                .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(workerId).setName(workerId))
                .build());
  }

  /** Calls the server over a connection from the local address {@code host} (in 127.0.0.0/8). */
  private <T> T fromAddress(String host, java.util.function.Function<io.grpc.Channel, T> call) {
    ManagedChannel channel =
        NettyChannelBuilder.forTarget(plane.server.address())
            .usePlaintext()
            .localSocketPicker(
                new NettyChannelBuilder.LocalSocketPicker() {
                  @Override
                  public SocketAddress createSocketAddress(
                      SocketAddress remote, io.grpc.Attributes attrs) {
                    return new InetSocketAddress(host, 0);
                  }
                })
            .build();
    try {
      return call.apply(channel);
    } finally {
      channel.shutdownNow();
    }
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
  void anOtpPresentedForTheWrongWorkerIdIsNotBurntAndStillRegistersItsOwnWorker() {
    var otp = otps.issue(new WorkerId("w-1"));
    assertThat(refusal(otp.token(), "w-2")).isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refusal(otp.token(), "w-3")).isEqualTo(Status.Code.UNAUTHENTICATED);

    assertThat(register(otp.token(), "w-1").getWorkerId()).isEqualTo("w-1");
  }

  @Test
  void wrongTokensForAWorkerLeaveItsRealOtpValid() {
    var otp = otps.issue(new WorkerId("w-1"));
    for (int i = 0; i < 3; i++) {
      assertThat(refusal(java.util.UUID.randomUUID().toString(), "w-1"))
          .isEqualTo(Status.Code.UNAUTHENTICATED);
    }

    assertThat(register(otp.token(), "w-1").getWorkerId()).isEqualTo("w-1");
  }

  @Test
  void aWorkerIdWithFiveFailuresInAMinuteIsThrottledUntilTheyAge() {
    var otp = otps.issue(new WorkerId("w-1"));
    for (int i = 0; i < 5; i++) {
      refusal(java.util.UUID.randomUUID().toString(), "w-1");
    }

    assertThat(refusal(otp.token(), "w-1")).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    clock.advance(Duration.ofMinutes(1));
    assertThat(register(otp.token(), "w-1").getWorkerId()).isEqualTo("w-1");
  }

  /**
   * One job spraying bad registrations for other ids, from addresses all over 127.0.0.0/8 (and
   * from 127.0.0.1, where real local workers come from), neither escapes the global ceiling nor
   * keeps a worker with its OTP from registering.
   */
  @Test
  void aFloodOfBadRegistrationsFromLoopbackAddressesForOtherIdsDoesNotStopARealWorker() {
    var real = otps.issue(new WorkerId("w-real"));
    int attempts = 120;
    int refusedUnchecked = 0;
    for (int i = 0; i < attempts; i++) {
      String from = "127.0.0." + (1 + i % 40);
      String sprayed = "w-sprayed-" + i;
      Status.Code code =
          fromAddress(
              from,
              channel ->
                  catchThrowableOfType(
                          StatusRuntimeException.class,
                          () ->
                              register(
                                  channel, java.util.UUID.randomUUID().toString(), sprayed))
                      .getStatus()
                      .getCode());
      assertThat(code).isIn(Status.Code.UNAUTHENTICATED, Status.Code.RESOURCE_EXHAUSTED);
      refusedUnchecked += code == Status.Code.RESOURCE_EXHAUSTED ? 1 : 0;
    }
    var failures =
        plane.stores.audit().list(Instant.EPOCH, java.util.Optional.of(io.hodei.core.auth.AuditEvent.Kind.REGISTRATION_FAILED), 1_000);

    assertThat(failures).hasSize(RegistrationThrottle.DEFAULT_MAX_FAILURES_OVERALL);
    assertThat(failures.stream().map(e -> hostOf(e.remote())).distinct().count())
        .as("the flood came from many loopback addresses")
        .isGreaterThan(10);
    assertThat(refusedUnchecked).isEqualTo(attempts - RegistrationThrottle.DEFAULT_MAX_FAILURES_OVERALL);
    String registered =
        fromAddress("127.0.0.1", channel -> register(channel, real.token(), "w-real").getWorkerId());
    assertThat(registered).isEqualTo("w-real");
  }

  @Test
  void anInventedOtpIsUnauthenticated() {
    assertThat(refusal(java.util.UUID.randomUUID().toString(), "w-1"))
        .isEqualTo(Status.Code.UNAUTHENTICATED);
    assertThat(refusal("", "w-1")).isEqualTo(Status.Code.UNAUTHENTICATED);
  }

  /** {@code 127.0.0.7:5123} without its port. */
  private static String hostOf(String remote) {
    return remote.substring(0, remote.lastIndexOf(':'));
  }
}
