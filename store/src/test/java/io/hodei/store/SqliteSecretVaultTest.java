package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vault on a real SQLite file, which is also the key file's home: no file holds a value in clear. */
class SqliteSecretVaultTest extends SecretVaultContract {
  @TempDir Path dataDir;

  @Override
  protected Database openEmptyDatabase() {
    return Database.sqlite(dataDir);
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
  void aKeyFileIsCreatedOwnerOnlyAndReadBackTheSame() throws Exception {
    Path file = dataDir.resolve("keys").resolve("secret.key");
    var first = SecretCipher.fromKeyFile(file);
    var again = SecretCipher.fromKeyFile(file);

    assertThat(again.keyId()).isEqualTo(first.keyId());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
    assertThatThrownBy(() -> SecretCipher.fromBase64("c2hvcnQ=")).hasMessageContaining("32 bytes");
  }
}
