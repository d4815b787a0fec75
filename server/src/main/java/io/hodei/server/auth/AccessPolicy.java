package io.hodei.server.auth;

import static io.hodei.core.auth.Role.ADMIN;
import static io.hodei.core.auth.Role.USER;
import static io.hodei.core.auth.Role.WORKER;

import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.LogStreamServiceGrpc;
import io.hodei.api.v1.MetricsServiceGrpc;
import io.hodei.api.v1.ProviderServiceGrpc;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerJobServiceGrpc;
import io.hodei.core.auth.Role;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * Which roles may make each RPC: the one table of authorization. A method missing from it is denied
 * to everyone (fail closed), so a new RPC is unreachable until it is given a row here.
 *
 * <p>The role check is the first gate only. Calls on jobs then check ownership (a user acts only on
 * its own jobs), and worker calls check that the execution is assigned to the calling worker.
 *
 * <p>{@code Register}, {@code WorkerStream} and {@code Unregister} are open to every role,
 * anonymous included: their credential travels in the message (the registration OTP, then the
 * worker id with its session id), checked by the handler, so a plaintext worker without a
 * certificate or token still reaches them. So is the gRPC health service's {@code Check}
 * (readiness).
 */
public final class AccessPolicy {
  private static final Set<Role> EVERYONE = EnumSet.allOf(Role.class);
  private static final Set<Role> USERS = EnumSet.of(USER, ADMIN);
  private static final Set<Role> ADMINS = EnumSet.of(ADMIN);
  private static final Set<Role> WORKERS = EnumSet.of(WORKER, ADMIN);

  private static final Map<String, Set<Role>> TABLE =
      Map.ofEntries(
          // Jobs: users on their own, admins on all.
          row(JobExecutionServiceGrpc.getQueueJobMethod().getFullMethodName(), USERS),
          row(JobExecutionServiceGrpc.getGetJobMethod().getFullMethodName(), USERS),
          row(JobExecutionServiceGrpc.getListJobsMethod().getFullMethodName(), USERS),
          row(JobExecutionServiceGrpc.getCancelJobMethod().getFullMethodName(), USERS),
          row(JobExecutionServiceGrpc.getRetryJobMethod().getFullMethodName(), USERS),
          row(JobExecutionServiceGrpc.getWatchJobMethod().getFullMethodName(), USERS),
          row(LogStreamServiceGrpc.getStreamLogsMethod().getFullMethodName(), USERS),
          row(SchedulerServiceGrpc.getScheduleJobMethod().getFullMethodName(), USERS),
          // The unary worker calls: a worker on the executions assigned to it.
          // Admin only: no worker picks its own jobs; the dispatcher assigns them.
          row(WorkerJobServiceGrpc.getAssignJobMethod().getFullMethodName(), ADMINS),
          row(WorkerJobServiceGrpc.getStartJobMethod().getFullMethodName(), WORKERS),
          row(WorkerJobServiceGrpc.getUpdateProgressMethod().getFullMethodName(), WORKERS),
          row(WorkerJobServiceGrpc.getCompleteJobMethod().getFullMethodName(), WORKERS),
          row(WorkerJobServiceGrpc.getFailJobMethod().getFullMethodName(), WORKERS),
          // Over mTLS only; the handler also checks that the certificate names the worker.
          row(WorkerAgentServiceGrpc.getRenewCertificateMethod().getFullMethodName(), WORKERS),
          // Credential in the message (see the class comment).
          row(WorkerAgentServiceGrpc.getRegisterMethod().getFullMethodName(), EVERYONE),
          row(WorkerAgentServiceGrpc.getWorkerStreamMethod().getFullMethodName(), EVERYONE),
          row(WorkerAgentServiceGrpc.getUnregisterMethod().getFullMethodName(), EVERYONE),
          // Operating the platform.
          row(SchedulerServiceGrpc.getGetQueueStatusMethod().getFullMethodName(), ADMINS),
          row(SchedulerServiceGrpc.getListWorkersMethod().getFullMethodName(), ADMINS),
          row(SchedulerServiceGrpc.getDrainWorkerMethod().getFullMethodName(), ADMINS),
          row(SchedulerServiceGrpc.getDeregisterWorkerMethod().getFullMethodName(), ADMINS),
          row(ProviderServiceGrpc.getListProvidersMethod().getFullMethodName(), ADMINS),
          row(ProviderServiceGrpc.getGetProviderHealthMethod().getFullMethodName(), ADMINS),
          row(MetricsServiceGrpc.getStreamMetricsMethod().getFullMethodName(), ADMINS),
          row(MetricsServiceGrpc.getGetAggregatedMetricsMethod().getFullMethodName(), ADMINS),
          row(AdminServiceGrpc.getCreateTokenMethod().getFullMethodName(), ADMINS),
          row(AdminServiceGrpc.getListTokensMethod().getFullMethodName(), ADMINS),
          row(AdminServiceGrpc.getRevokeTokenMethod().getFullMethodName(), ADMINS),
          row(AdminServiceGrpc.getListAuditEventsMethod().getFullMethodName(), ADMINS),
          // Readiness, for probes that carry no credential: one bit (serving or not), unary only
          // (Watch would hold a stream open for anyone).
          row(io.grpc.health.v1.HealthGrpc.getCheckMethod().getFullMethodName(), EVERYONE),
          row(io.grpc.health.v1.HealthGrpc.getWatchMethod().getFullMethodName(), Set.of()));

  private AccessPolicy() {}

  /** Whether {@code role} may make the RPC {@code fullMethodName}; false for unknown methods. */
  public static boolean allows(String fullMethodName, Role role) {
    return TABLE.getOrDefault(fullMethodName, Set.of()).contains(role);
  }

  /** The roles allowed to make the RPC; empty for a method missing from the table. */
  public static Set<Role> rolesFor(String fullMethodName) {
    return TABLE.getOrDefault(fullMethodName, Set.of());
  }

  private static Map.Entry<String, Set<Role>> row(String method, Set<Role> roles) {
    return Map.entry(method, Set.copyOf(roles));
  }
}
