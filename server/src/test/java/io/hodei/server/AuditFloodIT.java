package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.ListAuditEventsRequest;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user who makes the same forbidden call in a loop writes one audit row that counts them, not
 * one row per call: the audit log (and the server log) cannot be flooded by an ordinary user.
 */
class AuditFloodIT {
  @TempDir Path dir;

  @Test
  void fiveHundredIdenticalDenialsAreOneRowWithTheirCount() {
    try (var plane =
        new TestControlPlane(dir, Clock.systemUTC(), PoolPolicy.DEFAULT, ServerConfig.defaults().withPort(0), List.of("/nonexistent/hodei-worker"))) {
      var tokens = new TokenService(plane.stores.tokens(), Clock.systemUTC());
      Channel eve = AccessTableIT.bearer(plane.channel, tokens.issue("eve", Role.USER, Optional.empty()).token());
      var stub = AdminServiceGrpc.newBlockingStub(eve).withDeadlineAfter(30, TimeUnit.SECONDS);

      for (int i = 0; i < 500; i++) {
        var denied = catchThrowableOfType(StatusRuntimeException.class, () -> stub.listAuditEvents(ListAuditEventsRequest.getDefaultInstance()));
        assertThat(denied.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
      }

      await("the counts reach the store").untilAsserted(() -> {
        var rows = plane.stores.audit().list(Instant.EPOCH, Optional.of(AuditEvent.Kind.PERMISSION_DENIED), 1000);
        assertThat(rows).hasSize(1);
        assertThat(rows.getFirst().actor()).isEqualTo("eve");
        assertThat(rows.getFirst().repeats()).isEqualTo(500);
        assertThat(rows.getFirst().lastAt()).isAfterOrEqualTo(rows.getFirst().at());
      });
    }
  }
}
