package io.hodei.server;

import java.time.Duration;
import java.util.Optional;

/**
 * How the control plane runs. Everything has a default; everything is settable from code.
 *
 * @param bindHost interface the gRPC port listens on
 * @param port gRPC port; 0 picks a free one
 * @param advertisedAddress host:port that workers use to reach this server; defaults to the bound
 *     address
 * @param heartbeatInterval how often workers send heartbeats
 * @param heartbeatTimeout a worker silent this long is lost: its jobs are retried or failed
 * @param timeoutMargin how far past its timeout a job of a silent worker may run before the server
 *     declares it timed out itself
 * @param logCapBytes most bytes of output kept per job; later output is replaced by a marker
 * @param dispatchTick longest pause of the scheduling loop when nothing wakes it
 * @param housekeepingInterval how often workers and running jobs are checked
 * @param strategy how a worker is chosen among those that fit, unless a job names its own
 * @param tls mTLS on every connection; empty serves plaintext
 * @param anonymousRole the role of a caller from a loopback address with neither a client
 *     certificate nor an API token: NONE (the default) for a server, ADMIN for {@code hodei dev}
 *     without TLS, its zero-config developer mode. Callers from other addresses are never given it.
 * @param limits what a job's definition may hold; the transport's message limit follows from it
 * @param quotas what one user may hold of what all users share
 * @param auditRetention how long and how much of the audit log is kept
 * @param logRetention how long a finished job's log is kept; zero keeps logs for ever
 * @param replica this control plane's id among the replicas sharing its database, and their lease
 */
public record ServerConfig(
    String bindHost,
    int port,
    Optional<String> advertisedAddress,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration timeoutMargin,
    long logCapBytes,
    Duration dispatchTick,
    Duration housekeepingInterval,
    io.hodei.core.scheduling.Strategy strategy,
    Optional<ServerTls> tls,
    io.hodei.core.auth.Role anonymousRole,
    io.hodei.core.job.SpecLimits limits,
    io.hodei.server.auth.UserQuotas quotas,
    io.hodei.server.auth.AuditRetention auditRetention,
    Duration logRetention,
    ReplicaSettings replica) {

  public static final int DEFAULT_PORT = 50051;
  public static final long DEFAULT_LOG_CAP = 100L * 1024 * 1024;
  public static final Duration DEFAULT_LOG_RETENTION = Duration.ofDays(30);

  public ServerConfig {
    if (!heartbeatInterval.isPositive()) {
      throw new IllegalArgumentException(
          "heartbeat interval must be positive, got " + io.hodei.core.DurationText.format(heartbeatInterval));
    }
    if (!heartbeatTimeout.minus(heartbeatInterval).isPositive()) {
      throw new IllegalArgumentException(
          "heartbeat timeout (" + io.hodei.core.DurationText.format(heartbeatTimeout) + ") must exceed the interval ("
              + io.hodei.core.DurationText.format(heartbeatInterval) + ")");
    }
    if (logRetention.isNegative()) {
      throw new IllegalArgumentException(
          "log retention must not be negative (0 keeps logs for ever), got " + io.hodei.core.DurationText.format(logRetention));
    }
    if (logCapBytes < 1024) {
      throw new IllegalArgumentException("log cap must be at least 1 KiB, got " + logCapBytes);
    }
  }

  public static ServerConfig defaults() {
    return new ServerConfig(
        "127.0.0.1",
        DEFAULT_PORT,
        Optional.empty(),
        Duration.ofSeconds(5),
        Duration.ofSeconds(15),
        Duration.ofSeconds(30),
        DEFAULT_LOG_CAP,
        Duration.ofSeconds(1),
        Duration.ofSeconds(1),
        io.hodei.core.scheduling.Strategy.LEAST_CONNECTIONS,
        Optional.empty(),
        io.hodei.core.auth.Role.NONE,
        io.hodei.core.job.SpecLimits.DEFAULTS,
        io.hodei.server.auth.UserQuotas.DEFAULTS,
        io.hodei.server.auth.AuditRetention.DEFAULTS,
        DEFAULT_LOG_RETENTION,
        ReplicaSettings.SINGLE);
  }

  public ServerConfig withPort(int newPort) {
    return new ServerConfig(
        bindHost, newPort, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Heartbeat every {@code interval}; a worker silent for {@code timeout} is lost. */
  public ServerConfig withHeartbeats(Duration interval, Duration timeout) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, interval, timeout, timeoutMargin, logCapBytes,
        dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  public ServerConfig withLogCap(long bytes) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        bytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  public ServerConfig withTimeoutMargin(Duration margin) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, margin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  public ServerConfig withStrategy(io.hodei.core.scheduling.Strategy newStrategy) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, newStrategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Serves mTLS per {@code newTls}. */
  public ServerConfig withTls(ServerTls newTls) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, Optional.of(newTls), anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Tells workers and other replicas to reach this server at {@code hostAndPort}, not at the bound address. */
  public ServerConfig withAdvertisedAddress(Optional<String> hostAndPort) {
    return new ServerConfig(
        bindHost, port, hostAndPort, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Listens on {@code host}. */
  public ServerConfig withBindHost(String host) {
    return new ServerConfig(
        host, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Gives anonymous loopback callers {@code role}; see {@link #anonymousRole()}. */
  public ServerConfig withAnonymousRole(io.hodei.core.auth.Role role) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, role, limits, quotas, auditRetention, logRetention, replica);
  }

  /** Holds job definitions to {@code newLimits}. */
  public ServerConfig withLimits(io.hodei.core.job.SpecLimits newLimits) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, newLimits, quotas, auditRetention, logRetention, replica);
  }

  /** Holds each user to {@code newQuotas}. */
  public ServerConfig withQuotas(io.hodei.server.auth.UserQuotas newQuotas) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, newQuotas, auditRetention, logRetention, replica);
  }

  /** Keeps the audit log to {@code retention}. */
  public ServerConfig withAuditRetention(io.hodei.server.auth.AuditRetention retention) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, retention, logRetention, replica);
  }

  /** Deletes finished jobs' logs {@code retention} after their end; zero keeps them for ever. */
  public ServerConfig withLogRetention(Duration retention) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, retention, replica);
  }

  /** Runs as replica {@code settings.id()} among those sharing the database. */
  public ServerConfig withReplica(ReplicaSettings settings) {
    return new ServerConfig(
        bindHost, port, advertisedAddress, heartbeatInterval, heartbeatTimeout, timeoutMargin,
        logCapBytes, dispatchTick, housekeepingInterval, strategy, tls, anonymousRole, limits, quotas, auditRetention, logRetention, settings);
  }
}
