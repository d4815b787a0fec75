package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.JobId;
import io.hodei.core.secret.SecretDelivery;
import io.hodei.core.worker.WorkerId;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What the secret vault must do on every database: encrypted at rest, bound to its job, gone when
 * discarded. Subclasses supply an empty, migrated database per test.
 */
abstract class SecretVaultContract {
  protected Database database;
  protected final SecretCipher cipher = SecretCipher.ephemeral();
  protected JdbcSecretVault vault;

  protected static final JobId JOB = new JobId("job-1");
  protected static final String VALUE = "hunter2-but-longer-" + "ü€";

  /** A migrated database with nothing in it; closed after the test. */
  protected abstract Database openEmptyDatabase();

  @BeforeEach
  void open() {
    database = openEmptyDatabase();
    vault = new JdbcSecretVault(database, cipher, Clock.systemUTC());
  }

  @AfterEach
  void close() {
    database.close();
  }

  @Test
  void whatIsKeptIsRevealedUntilDiscarded() {
    vault.keep(JOB, Map.of("TOKEN", VALUE, "MULTI", "line one\nline two\n"));

    assertThat(vault.reveal(JOB)).isEqualTo(Map.of("TOKEN", VALUE, "MULTI", "line one\nline two\n"));
    assertThat(vault.reveal(new JobId("job-2"))).isEmpty();

    vault.discard(JOB);
    vault.discard(JOB);
    assertThat(vault.reveal(JOB)).isEmpty();
  }

  @Test
  void noColumnOfTheStoredRowHoldsAValueInClear() throws Exception {
    vault.keep(JOB, Map.of("TOKEN", VALUE));
    byte[] needle = VALUE.getBytes(StandardCharsets.UTF_8);

    try (var c = database.dataSource().getConnection();
        var s = c.createStatement();
        var rs = s.executeQuery("SELECT job_id, key_id, nonce, ciphertext FROM job_secrets")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString("job_id")).isEqualTo(JOB.value());
      for (String column : new String[] {"key_id", "nonce", "ciphertext"}) {
        String stored = new String(rs.getBytes(column), StandardCharsets.ISO_8859_1);
        assertThat(stored).as(column).isNotEmpty().doesNotContain(new String(needle, StandardCharsets.ISO_8859_1));
      }
      assertThat(rs.next()).isFalse();
    }
  }

  @Test
  void anotherKeyOrAnotherJobsRowCannotOpenThem() throws Exception {
    vault.keep(JOB, Map.of("TOKEN", VALUE));

    var otherKey = new JdbcSecretVault(database, SecretCipher.ephemeral(), Clock.systemUTC());
    assertThatThrownBy(() -> otherKey.reveal(JOB))
        .isInstanceOf(io.hodei.core.error.IllegalTransitionException.class)
        .hasMessageContaining("encrypted with key " + cipher.keyId())
        .hasMessageNotContaining(VALUE);

    try (var c = database.dataSource().getConnection(); var s = c.createStatement()) {
      s.executeUpdate("UPDATE job_secrets SET job_id = 'job-9' WHERE job_id = 'job-1'");
    }
    assertThatThrownBy(() -> vault.reveal(new JobId("job-9")))
        .isInstanceOf(io.hodei.core.error.IllegalTransitionException.class)
        .hasMessageContaining("integrity");
  }

  @Test
  void deliveriesKeepNamesOnlyAndOutliveTheValues() {
    vault.keep(JOB, Map.of("TOKEN", VALUE, "DB_PASSWORD", "correct horse"));
    var at = Instant.parse("2026-11-27T10:00:00Z");
    vault.recordDelivery(new SecretDelivery(JOB, 1, "exec-1", new WorkerId("w-1"), new TreeSet<>(Map.of("TOKEN", 1, "DB_PASSWORD", 1).keySet()), at));
    vault.recordDelivery(new SecretDelivery(JOB, 1, "exec-1", new WorkerId("w-1"), new TreeSet<>(java.util.Set.of("TOKEN", "DB_PASSWORD")), at));
    vault.discard(JOB);

    assertThat(vault.deliveries(JOB))
        .singleElement()
        .satisfies(
            d -> {
              assertThat(d.names()).containsExactly("DB_PASSWORD", "TOKEN");
              assertThat(d.worker()).isEqualTo(new WorkerId("w-1"));
              assertThat(d.attempt()).isEqualTo(1);
              assertThat(d.at()).isEqualTo(at);
            });
  }
}
