package io.hodei.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PkiTest {
  @TempDir Path tmp;

  @Test
  void initWritesOwnerOnlyFilesInAnOwnerOnlyDirectory() throws Exception {
    Path dir = tmp.resolve("tls");
    Pki.init(dir, List.of(), false);

    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
        .isEqualTo("rwx------");
    for (String file :
        List.of("ca.crt", "ca.key", "server.crt", "server.key", "admin.crt", "admin.key")) {
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(file))))
          .as(file)
          .isEqualTo("rw-------");
    }
    assertThat(Files.readString(dir.resolve("ca.key"))).startsWith("-----BEGIN PRIVATE KEY-----");
  }

  @Test
  void initIssuesAServerCertificateForLocalhostByDefaultAndForTheGivenNames() throws Exception {
    Pki.init(tmp.resolve("a"), List.of(), false);
    Pki.init(tmp.resolve("b"), List.of("hodei.example.com", "10.0.0.7"), false);

    assertThat(sans(TlsFiles.loadCertificate(tmp.resolve("a/server.crt"))))
        .containsExactly("localhost", "127.0.0.1");
    assertThat(sans(TlsFiles.loadCertificate(tmp.resolve("b/server.crt"))))
        .containsExactly("hodei.example.com", "10.0.0.7");
  }

  @Test
  void everyCertificateChainsToTheCaWithTheAgreedSubjectsAndLifetimes() {
    Path dir = tmp.resolve("tls");
    Pki.init(dir, List.of(), false);

    X509Certificate ca = TlsFiles.loadCertificate(dir.resolve("ca.crt"));
    X509Certificate admin = TlsFiles.Identity.in(dir, "admin").validate();
    X509Certificate server = TlsFiles.Identity.in(dir, "server").validate();

    assertThat(admin.getSubjectX500Principal().getName()).isEqualTo("CN=admin,OU=admin,O=Hodei");
    assertThat(admin.getIssuerX500Principal()).isEqualTo(ca.getSubjectX500Principal());
    assertThat(ca.getBasicConstraints()).isGreaterThanOrEqualTo(0);
    assertThat(admin.getSigAlgName()).isEqualTo("SHA256withECDSA");
    assertThat(lifetime(ca)).isGreaterThan(Duration.ofDays(3650 - 1));
    assertThat(lifetime(server)).isBetween(Duration.ofDays(365), Duration.ofDays(366));
    assertThat(lifetime(admin)).isBetween(Duration.ofDays(90), Duration.ofDays(91));
  }

  @Test
  void initRefusesToReplaceACaUnlessForced() throws Exception {
    Path dir = tmp.resolve("tls");
    Pki.init(dir, List.of(), false);
    String before = Files.readString(dir.resolve("ca.crt"));

    assertThatThrownBy(() -> Pki.init(dir, List.of(), false))
        .isInstanceOf(PkiException.class)
        .hasMessageContaining("ca.key already exists")
        .hasMessageContaining("--force");
    assertThat(Files.readString(dir.resolve("ca.crt"))).isEqualTo(before);

    Pki.init(dir, List.of(), true);
    assertThat(Files.readString(dir.resolve("ca.crt"))).isNotEqualTo(before);
  }

  @Test
  void issueWritesAWorkerCertificateNamedAfterTheWorker() throws Exception {
    Path dir = tmp.resolve("tls");
    Pki.init(dir, List.of(), false);

    Pki.load(dir)
        .issueInto(dir, CertificateKind.WORKER, "w-42", CertificateKind.WORKER.defaultLifetime());

    X509Certificate cert = TlsFiles.Identity.in(dir, "w-42").validate();
    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=w-42,OU=worker,O=Hodei");
    assertThat(lifetime(cert)).isBetween(Duration.ofHours(24), Duration.ofHours(25));
    assertThat(
            PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("w-42.key"))))
        .isEqualTo("rw-------");
  }

  @Test
  void loadingExplainsAMissingCa() {
    assertThatThrownBy(() -> Pki.load(tmp))
        .hasMessage("no ca.key in " + tmp + ": run hodei pki init --dir " + tmp);
  }

  @Test
  void validationNamesAnExpiredCertificateAndItsDate() {
    Path dir = tmp.resolve("tls");
    var pki = Pki.init(dir, List.of(), false);
    Instant notAfter = Instant.parse("2026-01-01T00:00:00Z");
    Pki.write(
        dir,
        "old",
        pki.issue(
            CertificateKind.USER, "old", notAfter.minus(Duration.ofDays(1)), notAfter, List.of()));

    assertThatThrownBy(() -> TlsFiles.Identity.in(dir, "old").validate())
        .hasMessage("old.crt expired on 2026-01-01");
  }

  @Test
  void validationNamesACertificateFromAnotherCa() {
    Path dir = tmp.resolve("tls");
    Pki.init(dir, List.of(), false);
    var other = Pki.init(tmp.resolve("other"), List.of(), false);
    Pki.write(dir, "admin", other.issue(CertificateKind.ADMIN, "admin", Duration.ofDays(1)));

    assertThatThrownBy(() -> TlsFiles.Identity.in(dir, "admin").validate())
        .hasMessage("admin.crt is not signed by ca.crt");
  }

  private static Duration lifetime(X509Certificate cert) {
    return Duration.between(cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant());
  }

  private static List<String> sans(X509Certificate cert) throws Exception {
    return cert.getSubjectAlternativeNames().stream().map(n -> n.get(1).toString()).toList();
  }
}
