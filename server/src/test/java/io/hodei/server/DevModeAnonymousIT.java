package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.CreateTokenRequest;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.ListTokensRequest;
import io.hodei.api.v1.Role;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.TokenService;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server as {@code hodei dev} configures it: anonymous callers from loopback are users (as a
 * job on a local worker is), never admins. Admin calls need an admin credential.
 */
class DevModeAnonymousIT {
  @TempDir Path dir;
  TestControlPlane plane;

  @BeforeEach
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            PoolPolicy.DEFAULT,
            ServerConfig.defaults().withPort(0).withAnonymousRole(io.hodei.core.auth.Role.USER),
            List.of("/nonexistent/hodei-worker"));
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  @Test
  void anAnonymousLoopbackCallerIsRefusedAnAdminTokenWithPermissionDenied() {
    var anonymous = AdminServiceGrpc.newBlockingStub(plane.channel).withDeadlineAfter(10, TimeUnit.SECONDS);

    var refused =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () ->
                anonymous.createToken(
                    CreateTokenRequest.newBuilder().setName("mine").setRole(Role.ROLE_ADMIN).build()));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(plane.stores.tokens().list()).isEmpty();
    assertThat(plane.stores.audit().list(Instant.EPOCH, Optional.of(AuditEvent.Kind.PERMISSION_DENIED), 10))
        .singleElement()
        .satisfies(e -> assertThat(e.actor()).isEqualTo("anonymous"));
  }

  @Test
  void anAnonymousLoopbackCallerIsAUserThatQueuesAndReadsItsOwnJobs() {
    String job = plane.queue(TestControlPlane.shell("true"));

    var read = plane.jobs().getJob(GetJobRequest.newBuilder().setJobId(job).build()).getJob();

    assertThat(read.getOwner()).isEqualTo("anonymous");
  }

  @Test
  void anAdminTokenStillMakesAdminCallsFromLoopback() {
    String token =
        new TokenService(plane.stores.tokens(), Clock.systemUTC())
            .issue("dev-admin-test", io.hodei.core.auth.Role.ADMIN, Optional.empty())
            .token();
    var admin =
        AdminServiceGrpc.newBlockingStub(AccessTableIT.bearer(plane.channel, token))
            .withDeadlineAfter(10, TimeUnit.SECONDS);

    admin.createToken(CreateTokenRequest.newBuilder().setName("ops").setRole(Role.ROLE_ADMIN).build());

    assertThat(admin.listTokens(ListTokensRequest.getDefaultInstance()).getTokensList())
        .extracting(t -> t.getName())
        .contains("dev-admin-test", "ops");
  }
}
