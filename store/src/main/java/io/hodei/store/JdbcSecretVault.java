package io.hodei.store;

import io.hodei.core.job.JobId;
import io.hodei.core.secret.SecretDelivery;
import io.hodei.core.secret.SecretVault;
import io.hodei.core.worker.WorkerId;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * {@link SecretVault} on the {@code job_secrets} and {@code secret_deliveries} tables. A job's
 * values are one row: the map, serialized, sealed by {@link SecretCipher} with the job id as
 * associated data. Nothing here logs, and no error message carries a value.
 *
 * <p>Thread-safe; each call is one statement or one transaction.
 */
public final class JdbcSecretVault implements SecretVault {
  private final Jdbc jdbc;
  private final SecretCipher cipher;
  private final Clock clock;

  public JdbcSecretVault(Database database, SecretCipher cipher, Clock clock) {
    this.jdbc = new Jdbc(database);
    this.cipher = cipher;
    this.clock = clock;
  }

  @Override
  public void keep(JobId job, Map<String, String> secrets) {
    byte[] plain = serialize(secrets);
    SecretCipher.Sealed sealed;
    try {
      sealed = cipher.seal(plain, job.value());
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
    jdbc.write(
        "keep the secrets of job " + job.value(),
        c -> {
          try (PreparedStatement delete = c.prepareStatement("DELETE FROM job_secrets WHERE job_id = ?")) {
            delete.setString(1, job.value());
            delete.executeUpdate();
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO job_secrets (job_id, key_id, nonce, ciphertext, created_at) VALUES (?, ?, ?, ?, ?)")) {
            ps.setString(1, job.value());
            ps.setString(2, sealed.keyId());
            ps.setBytes(3, sealed.nonce());
            ps.setBytes(4, sealed.ciphertext());
            ps.setLong(5, clock.millis());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public Map<String, String> reveal(JobId job) {
    SecretCipher.Sealed sealed =
        jdbc.read(
            "read the secrets of job " + job.value(),
            c -> {
              try (PreparedStatement ps =
                  c.prepareStatement("SELECT key_id, nonce, ciphertext FROM job_secrets WHERE job_id = ?")) {
                ps.setString(1, job.value());
                try (ResultSet rs = ps.executeQuery()) {
                  return rs.next()
                      ? new SecretCipher.Sealed(rs.getString("key_id"), rs.getBytes("nonce"), rs.getBytes("ciphertext"))
                      : null;
                }
              }
            });
    if (sealed == null) {
      return Map.of();
    }
    byte[] plain = cipher.open(sealed, job.value());
    try {
      return deserialize(plain);
    } finally {
      Arrays.fill(plain, (byte) 0);
    }
  }

  @Override
  public void discard(JobId job) {
    jdbc.write(
        "discard the secrets of job " + job.value(),
        c -> {
          try (PreparedStatement ps = c.prepareStatement("DELETE FROM job_secrets WHERE job_id = ?")) {
            ps.setString(1, job.value());
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public void recordDelivery(SecretDelivery delivery) {
    jdbc.write(
        "record a secret delivery for job " + delivery.job().value(),
        c -> {
          // A command re-sent for the same execution (after a reconnect) is one delivery.
          try (PreparedStatement delete =
              c.prepareStatement("DELETE FROM secret_deliveries WHERE job_id = ? AND execution_id = ?")) {
            delete.setString(1, delivery.job().value());
            delete.setString(2, delivery.executionId());
            delete.executeUpdate();
          }
          try (PreparedStatement ps =
              c.prepareStatement(
                  "INSERT INTO secret_deliveries (job_id, attempt, execution_id, worker_id, names, delivered_at)"
                      + " VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, delivery.job().value());
            ps.setInt(2, delivery.attempt());
            ps.setString(3, delivery.executionId());
            ps.setString(4, delivery.worker().value());
            ps.setString(5, String.join(",", delivery.names()));
            ps.setLong(6, Jdbc.millis(delivery.at()));
            return ps.executeUpdate();
          }
        });
  }

  @Override
  public List<SecretDelivery> deliveries(JobId job) {
    return jdbc.read(
        "read the secret deliveries of job " + job.value(),
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement(
                  "SELECT attempt, execution_id, worker_id, names, delivered_at FROM secret_deliveries"
                      + " WHERE job_id = ? ORDER BY delivered_at, attempt")) {
            ps.setString(1, job.value());
            List<SecretDelivery> all = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
              while (rs.next()) {
                String names = rs.getString("names");
                all.add(
                    new SecretDelivery(
                        job,
                        rs.getInt("attempt"),
                        rs.getString("execution_id"),
                        new WorkerId(rs.getString("worker_id")),
                        new TreeSet<>(names.isEmpty() ? List.of() : List.of(names.split(","))),
                        Jdbc.instant(rs, "delivered_at")));
              }
            }
            return all;
          }
        });
  }

  private static byte[] serialize(Map<String, String> secrets) {
    var bytes = new ByteArrayOutputStream();
    try (var out = new DataOutputStream(bytes)) {
      out.writeInt(secrets.size());
      for (var e : secrets.entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static Map<String, String> deserialize(byte[] plain) {
    try (var in = new DataInputStream(new ByteArrayInputStream(plain))) {
      int n = in.readInt();
      Map<String, String> secrets = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        secrets.put(readString(in), readString(in));
      }
      return Map.copyOf(secrets);
    } catch (IOException e) {
      throw new UncheckedIOException("sealed secrets do not parse", e);
    }
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }
}
