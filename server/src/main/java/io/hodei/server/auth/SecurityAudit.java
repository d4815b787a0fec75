package io.hodei.server.auth;

import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.AuditLog;
import io.hodei.core.auth.LogSafe;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Records security events with the current caller (from {@link Callers}) and the time, and logs
 * each at INFO, so the event is in the server log even if the store refused it.
 *
 * <p>A flood is one row: an event identical to one recorded less than {@link #WINDOW} ago (same
 * kind, actor, target, detail and caller host) is counted into that row ({@code repeats}) instead
 * of being written again, at most once a second per row, and logged again only at powers of two.
 * Every string a caller chose is cut and escaped ({@link LogSafe}) before it reaches the log or
 * the store. Thread-safe.
 */
public final class SecurityAudit {
  private static final Logger log = LoggerFactory.getLogger(SecurityAudit.class);
  static final Duration WINDOW = Duration.ofMinutes(1);
  private static final Duration FLUSH_EVERY = Duration.ofSeconds(1);
  /** Runs remembered at once; the oldest is flushed and forgotten past it. */
  private static final int MAX_RUNS = 10_000;

  private record Key(AuditEvent.Kind kind, String actor, String target, String detail, String host) {}

  private static final class Run {
    final String id;
    final Instant first;
    Instant last;
    Instant flushedAt;
    int total = 1;
    int unflushed;

    Run(String id, Instant first) {
      this.id = id;
      this.first = first;
      this.last = first;
      this.flushedAt = first;
    }
  }

  private record Flush(String id, int more, Instant last) {}

  private final AuditLog audit;
  private final Clock clock;
  private final Map<Key, Run> runs = new LinkedHashMap<>();

  public SecurityAudit(AuditLog audit, Clock clock) {
    this.audit = audit;
    this.clock = clock;
  }

  /** An event caused by the current call's caller. */
  public void record(AuditEvent.Kind kind, String target, String detail) {
    record(kind, Callers.principal().name(), target, detail, Callers.remote());
  }

  public void record(AuditEvent.Kind kind, String actor, String target, String detail, String remote) {
    String a = LogSafe.text(actor);
    String t = LogSafe.text(target);
    String d = LogSafe.text(detail, 1000);
    String r = LogSafe.text(remote);
    Instant now = clock.instant();
    Key key = new Key(kind, a, t, d, host(r));
    List<Flush> due = new ArrayList<>();
    int total;
    synchronized (runs) {
      Run run = runs.get(key);
      if (run != null && Duration.between(run.first, now).compareTo(WINDOW) < 0) {
        run.total++;
        run.unflushed++;
        run.last = now;
        total = run.total;
        if (Duration.between(run.flushedAt, now).compareTo(FLUSH_EVERY) >= 0) {
          due.add(new Flush(run.id, run.unflushed, now));
          run.unflushed = 0;
          run.flushedAt = now;
        }
      } else {
        if (run != null) {
          runs.remove(key);
          if (run.unflushed > 0) {
            due.add(new Flush(run.id, run.unflushed, run.last));
          }
        }
        total = 0;
      }
    }
    due.forEach(f -> audit.addRepeats(f.id(), f.more(), f.last()));
    if (total > 0) {
      if (Integer.bitCount(total) == 1) {
        log.info("audit {} by {} ({}) on {}: {} (the same {} times in the last minute)", kind, a, r, t, d, total);
      }
      return;
    }
    log.info("audit {} by {} ({}) on {}: {}", kind, a, r, t, d);
    String id = audit.record(new AuditEvent(now, kind, a, t, d, r));
    synchronized (runs) {
      runs.put(key, new Run(id, now));
      if (runs.size() > MAX_RUNS) {
        Iterator<Run> oldest = runs.values().iterator();
        Run evicted = oldest.next();
        oldest.remove();
        if (evicted.unflushed > 0) {
          due.add(new Flush(evicted.id, evicted.unflushed, evicted.last));
        }
      }
    }
    due.forEach(f -> audit.addRepeats(f.id(), f.more(), f.last()));
  }

  /** Writes every count not yet written and forgets runs past their window: from housekeeping, and at a stop. */
  public void flush() {
    Instant now = clock.instant();
    List<Flush> due = new ArrayList<>();
    synchronized (runs) {
      for (Iterator<Run> it = runs.values().iterator(); it.hasNext(); ) {
        Run run = it.next();
        if (run.unflushed > 0) {
          due.add(new Flush(run.id, run.unflushed, run.last));
          run.unflushed = 0;
          run.flushedAt = now;
        }
        if (Duration.between(run.first, now).compareTo(WINDOW) >= 0) {
          it.remove();
        }
      }
    }
    due.forEach(f -> audit.addRepeats(f.id(), f.more(), f.last()));
  }

  /** The caller's host without its port: one caller's connections differ only in the port. */
  private static String host(String remote) {
    int colon = remote.lastIndexOf(':');
    return colon > 0 ? remote.substring(0, colon) : remote;
  }

  public AuditLog log() {
    return audit;
  }
}
