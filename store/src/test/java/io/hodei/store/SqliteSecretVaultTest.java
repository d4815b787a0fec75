package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.job.JobId;
import io.hodei.core.secret.SecretDelivery;
import io.hodei.core.worker.WorkerId;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The secret vault on a real SQLite file: encrypted at rest, bound to its job, gone when discarded. */
class SqliteSecretVaultTest {
  @TempDir Path dataDir;
  private Database database;
  private final SecretCipher cipher = SecretCipher.ephemeral();
  private JdbcSecretVault vault;

  private static final JobId JOB = new JobId("job-1");
  private static final String VALUE = "hunter2-but-longer-" + "ü€";

  @BeforeEach
  void open() {
    database = Database.sqlite(dataDir);
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
  void noFileOfTheDatabaseHoldsAValueInClear() throws Exception {
    vault.keep(JOB, Map.of("TOKEN", VALUE));
    byte[] needle = VALUE.getBytes(StandardCharsets.UTF_8);

    try (Stream<Path> files = Files.list(dataDir)) {
      for (Path file : files.toList()) {
        String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        assertThat(content).as(file.toString()).doesNotContain(new String(needle, StandardCharsets.ISO_8859_1));
      }
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

  @Test
  void aKeyFileIsCreatedOwnerOnlyAndReadBackTheSame() throws Exception {
    Path file = dataDir.resolve("keys").resolve("secret.key");
    var first = SecretCipher.fromKeyFile(file);
    var again = SecretCipher.fromKeyFile(file);

    assertThat(again.keyId()).isEqualTo(first.keyId());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThatThrownBy(() -> SecretCipher.fromBase64("c2hvcnQ=")).hasMessageContaining("32 bytes");
  }
}
