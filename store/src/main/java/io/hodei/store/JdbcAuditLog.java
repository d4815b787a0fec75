package io.hodei.store;

import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.AuditLog;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link AuditLog} on the {@code audit_events} table. Thread-safe. A failing write is logged with
 * the event and swallowed: the call that caused the event has happened either way.
 */
public final class JdbcAuditLog implements AuditLog {
  private static final Logger log = LoggerFactory.getLogger(JdbcAuditLog.class);
  private static final int MAX_TEXT = 1000;

  private final Jdbc jdbc;

  public JdbcAuditLog(Database database) {
    this.jdbc = new Jdbc(database);
  }

  @Override
  public void record(AuditEvent event) {
    try {
      jdbc.write(
          "record an audit event",
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "INSERT INTO audit_events (id, at, kind, actor, target, detail, remote)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?)")) {
              ps.setString(1, UUID.randomUUID().toString());
              ps.setLong(2, Jdbc.millis(event.at()));
              ps.setString(3, event.kind().name());
              ps.setString(4, clip(event.actor(), 255));
              ps.setString(5, clip(event.target(), 255));
              ps.setString(6, clip(event.detail(), MAX_TEXT));
              ps.setString(7, clip(event.remote(), 255));
              return ps.executeUpdate();
            }
          });
    } catch (RuntimeException e) {
      log.error("could not record audit event {}", event, e);
    }
  }

  @Override
  public List<AuditEvent> list(Instant since, Optional<AuditEvent.Kind> kind, int limit) {
    return jdbc.read(
        "list audit events",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT at, kind, actor, target, detail, remote FROM audit_events WHERE at >= ?"
                      + (kind.isPresent() ? " AND kind = ?" : "")
                      + " ORDER BY at DESC, id DESC LIMIT ?")) {
            int i = 1;
            ps.setLong(i++, Jdbc.millis(since));
            if (kind.isPresent()) {
              ps.setString(i++, kind.get().name());
            }
            ps.setInt(i, Math.max(1, limit));
            List<AuditEvent> events = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                events.add(
                    new AuditEvent(
                        Jdbc.instant(rs, "at"),
                        AuditEvent.Kind.valueOf(rs.getString("kind")),
                        rs.getString("actor"),
                        rs.getString("target"),
                        rs.getString("detail"),
                        rs.getString("remote")));
              }
            }
            Collections.reverse(events);
            return events;
          }
        });
  }

  private static String clip(String text, int max) {
    return text.length() <= max ? text : text.substring(0, max);
  }
}
