package io.hodei.server;

import static io.hodei.core.auth.Role.ADMIN;
import static io.hodei.core.auth.Role.NONE;
import static io.hodei.core.auth.Role.USER;
import static io.hodei.core.auth.Role.WORKER;
import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptors;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.stub.MetadataUtils;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.MetricsServiceGrpc;
import io.hodei.api.v1.ProviderServiceGrpc;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerJobServiceGrpc;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.server.auth.AccessPolicy;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every RPC of every service, as each role, against a real server over a socket with the default
 * (anonymous = NONE) configuration. Users and admins present API tokens; the worker role is a
 * worker API token named after a worker id (what a worker certificate's CN gives once mTLS is on).
 * The calls carry empty requests: an allowed call reaches its handler, which may refuse the request
 * itself (INVALID_ARGUMENT, NOT_FOUND, its own credential check), and only a refusal by the access
 * policy counts as denied.
 *
 * <p>The list of RPCs comes from the generated service descriptors, and the expectations below are
 * written out independently of {@link AccessPolicy}: an RPC added to a proto without an entry here
 * fails {@link #everyRpcHasAnExpectation()}, and one without a row in the policy fails {@link
 * #everyRpcHasARowInTheAccessPolicy()}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class AccessTableIT {
  private static final Set<Role> USERS = EnumSet.of(USER, ADMIN);
  private static final Set<Role> ADMINS = EnumSet.of(ADMIN);
  private static final Set<Role> WORKERS = EnumSet.of(WORKER, ADMIN);
  private static final Set<Role> EVERYONE = EnumSet.allOf(Role.class);

  private static final Map<String, Set<Role>> EXPECTED =
      Map.ofEntries(
          Map.entry("hodei.v1.JobExecutionService/QueueJob", USERS),
          Map.entry("hodei.v1.JobExecutionService/GetJob", USERS),
          Map.entry("hodei.v1.JobExecutionService/ListJobs", USERS),
          Map.entry("hodei.v1.JobExecutionService/CancelJob", USERS),
          Map.entry("hodei.v1.JobExecutionService/RetryJob", USERS),
          Map.entry("hodei.v1.JobExecutionService/WatchJob", USERS),
          Map.entry("hodei.v1.WorkerJobService/AssignJob", ADMINS),
          Map.entry("hodei.v1.WorkerJobService/StartJob", WORKERS),
          Map.entry("hodei.v1.WorkerJobService/UpdateProgress", WORKERS),
          Map.entry("hodei.v1.WorkerJobService/CompleteJob", WORKERS),
          Map.entry("hodei.v1.WorkerJobService/FailJob", WORKERS),
          Map.entry("hodei.v1.WorkerAgentService/RenewCertificate", WORKERS),
          Map.entry("hodei.v1.LogStreamService/StreamLogs", USERS),
          Map.entry("hodei.v1.SchedulerService/ScheduleJob", USERS),
          Map.entry("hodei.v1.SchedulerService/GetQueueStatus", ADMINS),
          Map.entry("hodei.v1.SchedulerService/ListWorkers", ADMINS),
          Map.entry("hodei.v1.SchedulerService/DrainWorker", ADMINS),
          Map.entry("hodei.v1.SchedulerService/DeregisterWorker", ADMINS),
          Map.entry("hodei.v1.ProviderService/ListProviders", ADMINS),
          Map.entry("hodei.v1.ProviderService/GetProviderHealth", ADMINS),
          Map.entry("hodei.v1.MetricsService/StreamMetrics", ADMINS),
          Map.entry("hodei.v1.MetricsService/GetAggregatedMetrics", ADMINS),
          Map.entry("hodei.v1.AdminService/CreateToken", ADMINS),
          Map.entry("hodei.v1.AdminService/ListTokens", ADMINS),
          Map.entry("hodei.v1.AdminService/RevokeToken", ADMINS),
          Map.entry("hodei.v1.AdminService/ListAuditEvents", ADMINS),
          // The credential is in the message (OTP, then worker id and session id).
          Map.entry("hodei.v1.WorkerAgentService/Register", EVERYONE),
          Map.entry("hodei.v1.WorkerAgentService/WorkerStream", EVERYONE),
          Map.entry("hodei.v1.WorkerAgentService/Unregister", EVERYONE),
          // Readiness for probes without credentials; Watch would hold a stream open for anyone.
          Map.entry("grpc.health.v1.Health/Check", EVERYONE),
          Map.entry("grpc.health.v1.Health/Watch", Set.of()));

  private static final List<ServiceDescriptor> SERVICES =
      List.of(
          JobExecutionServiceGrpc.getServiceDescriptor(),
          LogStreamServiceGrpc.getServiceDescriptor(),
          WorkerAgentServiceGrpc.getServiceDescriptor(),
          WorkerJobServiceGrpc.getServiceDescriptor(),
          SchedulerServiceGrpc.getServiceDescriptor(),
          ProviderServiceGrpc.getServiceDescriptor(),
          MetricsServiceGrpc.getServiceDescriptor(),
          AdminServiceGrpc.getServiceDescriptor(),
          io.grpc.health.v1.HealthGrpc.getServiceDescriptor());

  @TempDir static Path dir;
  TestControlPlane plane;
  final Map<Role, Channel> channels = new EnumMap<>(Role.class);

  @BeforeAll
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            PoolPolicy.DEFAULT,
            ServerConfig.defaults().withPort(0),
            List.of("/nonexistent/hodei-worker"));
    var tokens = new TokenService(plane.stores.tokens(), Clock.systemUTC());
    channels.put(NONE, plane.channel);
    channels.put(USER, withToken(tokens.issue("alice", USER, Optional.empty()).token()));
    channels.put(ADMIN, withToken(tokens.issue("root", ADMIN, Optional.empty()).token()));
    channels.put(WORKER, withToken(tokens.issue("w-1", WORKER, Optional.empty()).token()));
  }

  @AfterAll
  void stop() {
    plane.close();
  }

  private Channel withToken(String token) {
    return bearer(plane.channel, token);
  }

  static Channel bearer(Channel channel, String token) {
    var headers = new Metadata();
    headers.put(
        Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    return ClientInterceptors.intercept(
        channel, MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  static List<MethodDescriptor<?, ?>> rpcs() {
    List<MethodDescriptor<?, ?>> all = new ArrayList<>();
    SERVICES.forEach(s -> all.addAll(s.getMethods()));
    return all;
  }

  @Test
  void everyRpcHasAnExpectation() {
    assertThat(rpcs())
        .extracting(MethodDescriptor::getFullMethodName)
        .allMatch(EXPECTED::containsKey);
  }

  @Test
  void everyRpcHasARowInTheAccessPolicy() {
    for (var m : rpcs()) {
      assertThat(AccessPolicy.rolesFor(m.getFullMethodName()))
          .as(m.getFullMethodName())
          .isEqualTo(EXPECTED.get(m.getFullMethodName()));
    }
  }

  @Test
  void aMethodMissingFromThePolicyIsDeniedToEveryone() {
    for (Role role : Role.values()) {
      assertThat(AccessPolicy.allows("hodei.v1.JobExecutionService/Unheard", role)).isFalse();
    }
  }

  @TestFactory
  List<DynamicTest> eachRoleReachesExactlyTheRpcsItsRowAllows() {
    List<DynamicTest> tests = new ArrayList<>();
    for (var method : rpcs()) {
      for (Role role : Role.values()) {
        boolean allowed =
            EXPECTED.getOrDefault(method.getFullMethodName(), Set.of()).contains(role);
        tests.add(
            DynamicTest.dynamicTest(
                method.getFullMethodName()
                    + " as "
                    + role
                    + (allowed ? " is allowed" : " is denied"),
                () -> {
                  Outcome outcome = call(channels.get(role), method);
                  if (allowed) {
                    assertThat(outcome.refusedByPolicy()).as(outcome.toString()).isFalse();
                  } else {
                    assertThat(outcome.refusedByPolicy()).as(outcome.toString()).isTrue();
                    assertThat(outcome.status().getCode())
                        .isEqualTo(
                            role == NONE
                                ? Status.Code.UNAUTHENTICATED
                                : Status.Code.PERMISSION_DENIED);
                  }
                }));
      }
    }
    return tests;
  }

  /**
   * How a call with an empty request went. The access policy refuses before the handler runs, with
   * a trailers-only response whose description says so; anything else (headers, a message, any
   * other status) means the handler ran.
   */
  record Outcome(Status status, boolean reachedHandler) {
    boolean refusedByPolicy() {
      if (reachedHandler) {
        return false;
      }
      String d = status.getDescription() == null ? "" : status.getDescription();
      return (status.getCode() == Status.Code.PERMISSION_DENIED && d.contains(" may not call "))
          || (status.getCode() == Status.Code.UNAUTHENTICATED && d.contains(" needs credentials"));
    }
  }

  @SuppressWarnings("unchecked")
  static <Q, R> Outcome call(Channel channel, MethodDescriptor<Q, R> method) throws Exception {
    Q request =
        (Q)
            ((MethodDescriptor.PrototypeMarshaller<Q>) method.getRequestMarshaller())
                .getMessagePrototype();
    var result = new CompletableFuture<Outcome>();
    ClientCall<Q, R> call =
        channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS));
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onHeaders(Metadata headers) {
            result.complete(new Outcome(Status.OK, true));
          }

          @Override
          public void onMessage(R message) {
            result.complete(new Outcome(Status.OK, true));
          }

          @Override
          public void onClose(Status status, Metadata trailers) {
            result.complete(new Outcome(status, false));
          }
        },
        new Metadata());
    call.request(1);
    call.sendMessage(request);
    if (method.getType().clientSendsOneMessage()) {
      call.halfClose();
    }
    try {
      return result.get(15, TimeUnit.SECONDS);
    } finally {
      call.cancel("done", null);
    }
  }
}
