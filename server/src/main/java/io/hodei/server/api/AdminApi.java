package io.hodei.server.api;

import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.ApiTokenInfo;
import io.hodei.api.v1.AuditEventInfo;
import io.hodei.api.v1.CreateTokenRequest;
import io.hodei.api.v1.CreateTokenResponse;
import io.hodei.api.v1.ListAuditEventsRequest;
import io.hodei.api.v1.ListAuditEventsResponse;
import io.hodei.api.v1.ListTokensRequest;
import io.hodei.api.v1.ListTokensResponse;
import io.hodei.api.v1.RevokeTokenRequest;
import io.hodei.api.v1.RevokeTokenResponse;
import io.hodei.core.auth.ApiToken;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.core.error.InvalidSpecException;
import io.hodei.server.auth.SecurityAudit;
import io.hodei.wire.WireMapping;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

/** API tokens and the audit log; {@code AccessPolicy} lets only admins in. */
public final class AdminApi extends AdminServiceGrpc.AdminServiceImplBase {
  private static final int DEFAULT_AUDIT_LIMIT = 1000;
  private static final int MAX_AUDIT_LIMIT = 10_000;

  private final TokenService tokens;
  private final SecurityAudit audit;
  private final Clock clock;

  public AdminApi(TokenService tokens, SecurityAudit audit, Clock clock) {
    this.tokens = tokens;
    this.audit = audit;
    this.clock = clock;
  }

  @Override
  public void createToken(
      CreateTokenRequest request, StreamObserver<CreateTokenResponse> response) {
    Role role =
        switch (request.getRole()) {
          case ROLE_USER -> Role.USER;
          case ROLE_ADMIN -> Role.ADMIN;
          case ROLE_WORKER -> Role.WORKER;
          default -> throw new InvalidSpecException("role", "must be user, admin or worker");
        };
    Optional<Duration> lifetime =
        request.hasExpiresAt()
            ? Optional.of(
                Duration.between(clock.instant(), WireMapping.toDomain(request.getExpiresAt())))
            : Optional.empty();
    var issued = tokens.issue(request.getName(), role, lifetime);
    audit.record(
        AuditEvent.Kind.TOKEN_CREATED,
        issued.stored().name(),
        "role " + role.word() + issued.stored().expiresAt().map(t -> ", expires " + t).orElse(""));
    response.onNext(
        CreateTokenResponse.newBuilder()
            .setToken(issued.token())
            .setInfo(info(issued.stored()))
            .build());
    response.onCompleted();
  }

  @Override
  public void listTokens(ListTokensRequest request, StreamObserver<ListTokensResponse> response) {
    var b = ListTokensResponse.newBuilder();
    tokens.list().forEach(t -> b.addTokens(info(t)));
    response.onNext(b.build());
    response.onCompleted();
  }

  @Override
  public void revokeToken(
      RevokeTokenRequest request, StreamObserver<RevokeTokenResponse> response) {
    if (request.getName().isBlank()) {
      throw new InvalidSpecException("name", "must not be empty");
    }
    tokens.revoke(request.getName());
    audit.record(AuditEvent.Kind.TOKEN_REVOKED, request.getName(), "revoked");
    response.onNext(RevokeTokenResponse.getDefaultInstance());
    response.onCompleted();
  }

  @Override
  public void listAuditEvents(
      ListAuditEventsRequest request, StreamObserver<ListAuditEventsResponse> response) {
    if (request.getLimit() < 0) {
      throw new InvalidSpecException("limit", "must not be negative");
    }
    Optional<AuditEvent.Kind> kind = Optional.empty();
    if (!request.getKind().isBlank()) {
      try {
        kind =
            Optional.of(
                AuditEvent.Kind.valueOf(
                    request.getKind().trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_')));
      } catch (IllegalArgumentException e) {
        throw new InvalidSpecException(
            "kind",
            "unknown audit event kind; one of "
                + java.util.Arrays.toString(AuditEvent.Kind.values()));
      }
    }
    var since =
        request.hasSince()
            ? WireMapping.toDomain(request.getSince())
            : clock.instant().minus(Duration.ofDays(1));
    int limit =
        request.getLimit() == 0
            ? DEFAULT_AUDIT_LIMIT
            : Math.min(request.getLimit(), MAX_AUDIT_LIMIT);
    var b = ListAuditEventsResponse.newBuilder();
    for (var e : audit.log().list(since, kind, limit)) {
      b.addEvents(
          AuditEventInfo.newBuilder()
              .setAt(WireMapping.toWire(e.at()))
              .setKind(e.kind().name())
              .setActor(e.actor())
              .setTarget(e.target())
              .setDetail(e.detail())
              .setRemote(e.remote())
              .setRepeats(e.repeats())
              .setLastAt(WireMapping.toWire(e.lastAt())));
    }
    response.onNext(b.build());
    response.onCompleted();
  }

  private static ApiTokenInfo info(ApiToken token) {
    var b =
        ApiTokenInfo.newBuilder()
            .setName(token.name())
            .setRole(
                switch (token.role()) {
                  case USER -> io.hodei.api.v1.Role.ROLE_USER;
                  case ADMIN -> io.hodei.api.v1.Role.ROLE_ADMIN;
                  case WORKER -> io.hodei.api.v1.Role.ROLE_WORKER;
                  case NONE -> io.hodei.api.v1.Role.ROLE_UNSPECIFIED;
                })
            .setCreatedAt(WireMapping.toWire(token.createdAt()));
    token.expiresAt().ifPresent(t -> b.setExpiresAt(WireMapping.toWire(t)));
    token.revokedAt().ifPresent(t -> b.setRevokedAt(WireMapping.toWire(t)));
    return b.build();
  }
}
