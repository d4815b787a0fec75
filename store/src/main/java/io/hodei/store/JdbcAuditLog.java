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
  public String record(AuditEvent event) {
    String id = UUID.randomUUID().toString();
    try {
      jdbc.write(
          "record an audit event",
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement(
                    "INSERT INTO audit_events (id, at, kind, actor, target, detail, remote, repeats, last_at)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
              ps.setString(1, id);
              ps.setLong(2, Jdbc.millis(event.at()));
              ps.setString(3, event.kind().name());
              ps.setString(4, clip(event.actor(), 255));
              ps.setString(5, clip(event.target(), 255));
              ps.setString(6, clip(event.detail(), MAX_TEXT));
              ps.setString(7, clip(event.remote(), 255));
              ps.setInt(8, event.repeats());
              ps.setLong(9, Jdbc.millis(event.lastAt()));
              return ps.executeUpdate();
            }
          });
    } catch (RuntimeException e) {
      log.error("could not record audit event {}", event, e);
    }
    return id;
  }

  @Override
  public void addRepeats(String id, int more, Instant lastAt) {
    try {
      jdbc.write(
          "count repeats of an audit event",
          c -> {
            try (PreparedStatement ps =
                c.prepareStatement("UPDATE audit_events SET repeats = repeats + ?, last_at = ? WHERE id = ?")) {
              ps.setInt(1, more);
              ps.setLong(2, Jdbc.millis(lastAt));
              ps.setString(3, id);
              return ps.executeUpdate();
            }
          });
    } catch (RuntimeException e) {
      log.error("could not count {} repeats of audit event {}", more, id, e);
    }
  }

  @Override
  public long prune(Instant before, long keep) {
    return jdbc.write(
        "prune the audit log",
        c -> {
          long deleted;
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM audit_events WHERE at < ?")) {
            ps.setLong(1, Jdbc.millis(before));
            deleted = ps.executeUpdate();
          }
          long rows;
          try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM audit_events");
              ResultSet rs = ps.executeQuery()) {
            rs.next();
            rows = rs.getLong(1);
          }
          if (rows > keep) {
            long cutoff;
            try (PreparedStatement ps =
                c.prepareStatement("SELECT at FROM audit_events ORDER BY at DESC, id DESC LIMIT 1 OFFSET ?")) {
              ps.setLong(1, keep);
              try (ResultSet rs = ps.executeQuery()) {
                cutoff = rs.next() ? rs.getLong(1) : Long.MIN_VALUE;
              }
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM audit_events WHERE at <= ?")) {
              ps.setLong(1, cutoff);
              deleted += ps.executeUpdate();
            }
          }
          return deleted;
        });
  }

  @Override
  public List<AuditEvent> list(Instant since, Optional<AuditEvent.Kind> kind, int limit) {
    return jdbc.read(
        "list audit events",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT at, kind, actor, target, detail, remote, repeats, last_at FROM audit_events WHERE at >= ?"
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
                        rs.getString("remote"),
                        rs.getInt("repeats"),
                        rs.getLong("last_at") == 0 ? Jdbc.instant(rs, "at") : Jdbc.instant(rs, "last_at")));
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
