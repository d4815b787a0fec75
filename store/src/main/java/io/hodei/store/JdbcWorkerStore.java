package io.hodei.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import io.hodei.core.worker.WorkerId;
import io.hodei.core.worker.WorkerInfo;
import io.hodei.core.worker.WorkerRegistration;
import io.hodei.core.worker.WorkerStore;
import io.hodei.wire.WireMapping;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.Optional;

/**
 * {@link WorkerStore} on the {@code workers} table. The {@link WorkerInfo} is kept whole as the v1
 * API's JSON in {@code info}; its scalar fields are also copied into columns for operators.
 *
 * <p>Thread-safe; each method is a single atomic statement. {@link #save} is an upsert on the
 * worker id ({@code INSERT ... ON CONFLICT (id) DO UPDATE}, which SQLite and PostgreSQL spell
 * alike), so concurrent saves of one worker never fail: the last one wins. Timestamps are kept to
 * the millisecond.
 */
public final class JdbcWorkerStore implements WorkerStore {
  private static final JsonFormat.Printer JSON =
      JsonFormat.printer().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser JSON_PARSER = JsonFormat.parser().ignoringUnknownFields();

  private static final String UPSERT =
      """
      INSERT INTO workers (id, name, provider, hostname, ip_address, version, info, session_hash,
                           registered_at, active, handle_ref)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET
        name = excluded.name, provider = excluded.provider, hostname = excluded.hostname,
        ip_address = excluded.ip_address, version = excluded.version, info = excluded.info,
        session_hash = excluded.session_hash, registered_at = excluded.registered_at,
        active = excluded.active, handle_ref = excluded.handle_ref\
      """;

  private final Jdbc jdbc;

  public JdbcWorkerStore(Database database) {
    this.jdbc = new Jdbc(database);
  }

  @Override
  public void save(WorkerRegistration registration) {
    WorkerInfo info = registration.info();
    String json = toJson(info);
    jdbc.write(
        "save worker " + info.id(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement(UPSERT)) {
            ps.setString(1, info.id().value());
            ps.setString(2, info.name());
            ps.setString(3, registration.provider());
            ps.setString(4, info.hostname());
            ps.setString(5, info.ipAddress());
            ps.setString(6, info.version());
            ps.setString(7, json);
            ps.setString(8, registration.sessionHash());
            ps.setLong(9, Jdbc.millis(registration.registeredAt()));
            ps.setInt(10, registration.active() ? 1 : 0);
            ps.setString(11, registration.handleReference());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public Optional<WorkerRegistration> find(WorkerId id) {
    return jdbc.read(
        "read worker " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT info, provider, handle_ref, session_hash, registered_at, active"
                      + " FROM workers WHERE id = ?")) {
            ps.setString(1, id.value());
            try (ResultSet rs = ps.executeQuery()) {
              if (!rs.next()) {
                return Optional.empty();
              }
              return Optional.of(
                  new WorkerRegistration(
                      fromJson(rs.getString("info")),
                      rs.getString("provider"),
                      rs.getString("handle_ref"),
                      rs.getString("session_hash"),
                      Jdbc.instant(rs, "registered_at"),
                      rs.getInt("active") != 0));
            }
          }
        });
  }

  /** Unknown workers are ignored: there is nothing to deactivate. */
  @Override
  public void deactivate(WorkerId id) {
    jdbc.write(
        "deactivate worker " + id,
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("UPDATE workers SET active = 0 WHERE id = ?")) {
            ps.setString(1, id.value());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public void attach(WorkerId id, String replicaId) {
    jdbc.write(
        "record the replica of worker " + id,
        c -> {
          try (PreparedStatement ps = c.prepareStatement("UPDATE workers SET replica_id = ? WHERE id = ?")) {
            ps.setString(1, replicaId);
            ps.setString(2, id.value());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public java.util.Map<WorkerId, String> attachments() {
    return jdbc.read(
        "read where workers are attached",
        c -> {
          try (PreparedStatement ps = c.prepareStatement("SELECT id, replica_id FROM workers WHERE active = 1");
              ResultSet rs = ps.executeQuery()) {
            var out = new java.util.HashMap<WorkerId, String>();
            while (rs.next()) {
              out.put(new WorkerId(rs.getString(1)), rs.getString(2));
            }
            return java.util.Map.copyOf(out);
          }
        });
  }

  @Override
  public void saveSample(WorkerId id, String replicaId, java.time.Instant at, byte[] sample) {
    jdbc.write(
        "keep the newest sample of worker " + id,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "INSERT INTO worker_samples (worker_id, replica_id, sampled_at, sample) VALUES (?, ?, ?, ?)"
                  + " ON CONFLICT (worker_id) DO UPDATE SET replica_id = excluded.replica_id,"
                  + " sampled_at = excluded.sampled_at, sample = excluded.sample")) {
            ps.setString(1, id.value());
            ps.setString(2, replicaId);
            ps.setLong(3, Jdbc.millis(at));
            ps.setBytes(4, sample);
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public java.util.List<byte[]> samplesSince(java.time.Instant since, String replicaId) {
    return jdbc.read(
        "read the workers' newest samples",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(
              "SELECT sample FROM worker_samples WHERE sampled_at >= ? AND replica_id <> ? ORDER BY sampled_at")) {
            ps.setLong(1, Jdbc.millis(since));
            ps.setString(2, replicaId);
            var out = new java.util.ArrayList<byte[]>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                out.add(rs.getBytes(1));
              }
            }
            return java.util.List.copyOf(out);
          }
        });
  }

  private static String toJson(WorkerInfo info) {
    try {
      return JSON.print(WireMapping.toWire(info));
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("a WorkerInfo always prints", e);
    }
  }

  private static WorkerInfo fromJson(String json) {
    var builder = io.hodei.api.v1.WorkerInfo.newBuilder();
    try {
      JSON_PARSER.merge(json, builder);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("stored worker info is not valid JSON: " + e.getMessage(), e);
    }
    return WireMapping.toDomain(builder.build());
  }
}
