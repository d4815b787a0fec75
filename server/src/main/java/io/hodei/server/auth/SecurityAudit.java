package io.hodei.server.auth;

import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.AuditLog;
import java.time.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records security events with the current caller (from {@link Callers}) and the time. Also logs
 * each at INFO, so the event is in the server log even if the store refused it. Thread-safe.
 */
public final class SecurityAudit {
  private static final Logger log = LoggerFactory.getLogger(SecurityAudit.class);

  private final AuditLog audit;
  private final Clock clock;

  public SecurityAudit(AuditLog audit, Clock clock) {
    this.audit = audit;
    this.clock = clock;
  }

  /** An event caused by the current call's caller. */
  public void record(AuditEvent.Kind kind, String target, String detail) {
    record(kind, Callers.principal().name(), target, detail, Callers.remote());
  }

  public void record(
      AuditEvent.Kind kind, String actor, String target, String detail, String remote) {
    log.info("audit {} by {} ({}) on {}: {}", kind, actor, remote, target, detail);
    audit.record(new AuditEvent(clock.instant(), kind, actor, target, detail, remote));
  }

  public AuditLog log() {
    return audit;
  }
}
