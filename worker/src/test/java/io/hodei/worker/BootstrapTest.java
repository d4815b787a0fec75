package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.provider.WorkerBootstrap;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapTest {
  @TempDir Path dir;

  private static InputStream text(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void theDocumentAProviderWritesIsTheBootstrapTheWorkerReads() {
    var tls = new WorkerBootstrap.Tls("-----BEGIN CERTIFICATE-----\nca\n", "cert\npem\n", "-----BEGIN PRIVATE KEY-----\nk\n");
    byte[] document = new WorkerBootstrap("otp-1", Optional.of(tls)).document();

    Bootstrap read = Bootstrap.read(Map.of(), new ByteArrayInputStream(document), false);

    assertThat(read.token()).isEqualTo("otp-1");
    assertThat(read.tls()).contains(new WorkerTls.Pem(tls.caPem(), tls.certificatePem(), tls.keyPem()));
    assertThat(read.toString()).doesNotContain("otp-1", "PRIVATE");
    assertThat(new WorkerBootstrap("otp-1", Optional.of(tls)).toString()).doesNotContain("otp-1", "PRIVATE");
  }

  @Test
  void readingStopsAtTheEndLineWithoutWaitingForEndOfFile() {
    var in = new java.io.SequenceInputStream(text("hodei-bootstrap 1\ntoken t\nend\n"), new InputStream() {
      @Override
      public int read() {
        throw new AssertionError("read past the end line");
      }
    });

    assertThat(Bootstrap.read(Map.of(), in, false).token()).isEqualTo("t");
  }

  @Test
  void aBareTokenOnStdinIsEnoughForAWorkerStartedByHand() {
    assertThat(Bootstrap.read(Map.of(), text("otp-by-hand\n"), false)).isEqualTo(Bootstrap.ofToken("otp-by-hand"));
  }

  @Test
  void aTruncatedDocumentOrAnEmptyStdinIsRefused() {
    assertThatThrownBy(() -> Bootstrap.read(Map.of(), text("hodei-bootstrap 1\ntoken t\n"), false))
        .hasMessageContaining("ends before 'end'");
    assertThatThrownBy(() -> Bootstrap.read(Map.of(), text(""), false)).hasMessageContaining("no one-time token");
    assertThatThrownBy(() -> Bootstrap.read(Map.of(), text("otp"), true)).hasMessageContaining("HODEI_TOKEN_FILE");
  }

  @Test
  void credentialVariablesInTheEnvironmentAreRefused() {
    for (String name : new String[] {"HODEI_TOKEN", "HODEI_TLS_KEY", "HODEI_TLS_CERT", "HODEI_TLS_CA"}) {
      assertThatThrownBy(() -> Bootstrap.read(Map.of(name, "secret"), text("t\n"), false))
          .as(name)
          .hasMessageStartingWith(name + " is not read any more")
          .hasMessageNotContaining("secret ");
    }
  }

  @Test
  void aBootstrapFileIsDeletedWithItsDirectoryOnceRead() throws Exception {
    Path own = Files.createDirectory(dir.resolve("hodei-bootstrap"));
    Path file = own.resolve("bootstrap");
    Files.write(file, WorkerBootstrap.plaintext("otp-f").document());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));

    Bootstrap read = Bootstrap.read(Map.of(Bootstrap.ENV_BOOTSTRAP_FILE, file.toString()), text(""), true);

    assertThat(read.token()).isEqualTo("otp-f");
    assertThat(file).doesNotExist();
    assertThat(own).doesNotExist();
  }

  /**
   * As a Kubernetes Secret volume hands it over: owner-only, on a read-only mount (a read-only
   * bind mount of a directory here; needs root, as CI has).
   */
  @Test
  void aBootstrapFileOnAReadOnlyMountIsReadAndLeft() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        "root".equals(System.getProperty("user.name")), "mounting takes root");
    Path source = Files.createDirectory(dir.resolve("secret"));
    Path file = source.resolve("bootstrap");
    Files.write(file, WorkerBootstrap.plaintext("otp-ro").document());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--------"));
    Path mounted = Files.createDirectory(dir.resolve("mounted"));
    run("mount", "--bind", source.toString(), mounted.toString());
    try {
      run("mount", "-o", "remount,ro,bind", mounted.toString());
      Path seen = mounted.resolve("bootstrap");
      assertThat(Bootstrap.onReadOnlyMount(seen)).isTrue();

      Bootstrap read = Bootstrap.read(Map.of(Bootstrap.ENV_BOOTSTRAP_FILE, seen.toString()), text(""), true);

      assertThat(read.token()).isEqualTo("otp-ro");
      assertThat(seen).exists();
      assertThat(Bootstrap.onReadOnlyMount(file)).isFalse();
    } finally {
      run("umount", mounted.toString());
    }
  }

  private static void run(String... command) throws Exception {
    var process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as(String.join(" ", command) + ": " + output).isZero();
  }

  @Test
  void aBootstrapFileOthersCanReadIsRefusedAndStillDeleted() throws Exception {
    Path file = dir.resolve("bootstrap");
    Files.write(file, WorkerBootstrap.plaintext("otp-f").document());
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));

    assertThatThrownBy(() -> Bootstrap.read(Map.of(Bootstrap.ENV_BOOTSTRAP_FILE, file.toString()), text(""), true))
        .hasMessageContaining("readable or writable by others");
    assertThat(file).doesNotExist();
    assertThat(dir).exists(); // not a bootstrap directory: left alone
  }

  @Test
  void theWorkerCanTellWhetherItIsDumpable() {
    org.junit.jupiter.api.Assumptions.assumeTrue(System.getProperty("os.name").equals("Linux"));
    // This test JVM never called PR_SET_DUMPABLE: it is dumpable, and prctl can say so.
    assertThat(NonDumpable.dumpable()).contains(true);
  }
}
