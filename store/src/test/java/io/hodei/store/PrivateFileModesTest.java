package io.hodei.store;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.hodei.core.files.FileModes;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** The data directory, the database and the secret key are owner-only, on real files. */
class PrivateFileModesTest {
  @TempDir Path dir;
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  final Logger logger = (Logger) LoggerFactory.getLogger(FileModes.class);

  @BeforeEach
  void capture() {
    logged.start();
    logger.addAppender(logged);
  }

  @AfterEach
  void release() {
    logger.detachAppender(logged);
  }

  private static String mode(Path path) throws Exception {
    return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
  }

  private java.util.List<String> warnings() {
    return logged.list.stream()
        .filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .map(ILoggingEvent::getFormattedMessage)
        .toList();
  }

  @Test
  void aNewDataDirectoryIs0700AndItsDatabaseFiles0600() throws Exception {
    Path data = dir.resolve("data");
    try (var db = Database.sqlite(data)) {
      Stores.open(db).audit(); // opened and migrated: the WAL files exist now
      assertThat(mode(data)).isEqualTo("rwx------");
      assertThat(mode(data.resolve("hodei.db"))).isEqualTo("rw-------");
      assertThat(mode(data.resolve("hodei.db-wal"))).isEqualTo("rw-------");
      assertThat(mode(data.resolve("hodei.db-shm"))).isEqualTo("rw-------");
    }
    assertThat(warnings()).isEmpty();
  }

  @Test
  void anExistingWorldReadableDataDirectoryAndDatabaseAreTightenedWithAWarningNamingEach()
      throws Exception {
    Path data = dir.resolve("data");
    Database.sqlite(data).close();
    Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwxr-xr-x"));
    Path file = data.resolve("hodei.db");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    Database.sqlite(data).close();

    assertThat(mode(data)).isEqualTo("rwx------");
    assertThat(mode(file)).isEqualTo("rw-------");
    assertThat(warnings())
        .anySatisfy(w -> assertThat(w).contains(data.toString()).contains("was mode 0755"))
        .anySatisfy(w -> assertThat(w).contains(file.toString()).contains("was mode 0644"));
  }

  @Test
  void theSecretKeyFileIsCreated0600AndAnExistingWiderOneIsTightened() throws Exception {
    Path key = dir.resolve("secret.key");
    var first = SecretCipher.fromKeyFile(key);
    assertThat(mode(key)).isEqualTo("rw-------");

    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-rw-r--"));
    var again = SecretCipher.fromKeyFile(key);

    assertThat(again.keyId()).isEqualTo(first.keyId());
    assertThat(mode(key)).isEqualTo("rw-------");
    assertThat(warnings()).singleElement().asString().contains(key.toString()).contains("0664");
  }

  @Test
  void bitsAreOnlyEverRemovedSoATighterModeStays() throws Exception {
    Path key = dir.resolve("read-only.key");
    Files.writeString(key, "x");
    Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("r--r-----"));

    FileModes.restrictFile(key);

    assertThat(mode(key)).isEqualTo("r--------");
    FileModes.restrictFile(key);
    assertThat(warnings()).hasSize(1);
  }

  @Test
  void aPrivateWriteNeverLeavesTheContentReadableByOthers() throws Exception {
    Path token = dir.resolve("admin.token");
    Files.writeString(token, "old");
    Files.setPosixFilePermissions(token, PosixFilePermissions.fromString("rw-r--r--"));

    FileModes.writePrivate(token, "new".getBytes(java.nio.charset.StandardCharsets.US_ASCII));

    assertThat(Files.readString(token)).isEqualTo("new");
    assertThat(mode(token)).isEqualTo("rw-------");
  }
}
