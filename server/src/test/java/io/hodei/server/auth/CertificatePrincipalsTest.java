package io.hodei.server.auth;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.auth.Principal;
import io.hodei.core.auth.Role;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The certificate subject contract with the PKI, on certificates made here. */
class CertificatePrincipalsTest {
  static KeyPair keys;

  @BeforeAll
  static void keys() throws Exception {
    var generator = KeyPairGenerator.getInstance("EC");
    generator.initialize(256);
    keys = generator.generateKeyPair();
  }

  static X509Certificate certificate(String subject) throws Exception {
    var now = Instant.now();
    var builder =
        new JcaX509v3CertificateBuilder(
            new X500Name("CN=Hodei test CA,O=Hodei"),
            BigInteger.valueOf(now.toEpochMilli()),
            Date.from(now.minus(Duration.ofMinutes(1))),
            Date.from(now.plus(Duration.ofDays(1))),
            new X500Name(subject),
            keys.getPublic());
    var signer = new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate());
    return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
  }

  @Test
  void eachKindOfTheContractNamesItsRole() throws Exception {
    assertThat(CertificatePrincipals.of(certificate("CN=root,OU=admin,O=Hodei")))
        .contains(new Principal("root", Role.ADMIN));
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=user,O=Hodei")))
        .contains(new Principal("alice", Role.USER));
    assertThat(CertificatePrincipals.of(certificate("CN=w-7f3a,OU=worker,O=Hodei")))
        .contains(new Principal("w-7f3a", Role.WORKER));
  }

  @Test
  void theOrderOfTheAttributesDoesNotMatter() throws Exception {
    assertThat(CertificatePrincipals.of(certificate("O=Hodei,OU=user,CN=bob")))
        .contains(new Principal("bob", Role.USER));
  }

  @Test
  void aSubjectOutsideTheContractNamesNoOne() throws Exception {
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=user,O=Other"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=root,O=Hodei"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=none,O=Hodei"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=alice,O=Hodei"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("OU=admin,O=Hodei"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=user,OU=admin,O=Hodei")))
        .isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=alice,OU=user,O=Hodei,C=ES"))).isEmpty();
    assertThat(CertificatePrincipals.of(certificate("CN=anonymous,OU=user,O=Hodei"))).isEmpty();
  }

  @org.junit.jupiter.api.Test
  void aSubjectSmugglingASecondNameIntoOnePartNamesNobody() {
    org.assertj.core.api.Assertions.assertThat(CertificatePrincipals.ofSubject("CN=zed+CN=alice,OU=user,O=Hodei")).isEmpty();
    org.assertj.core.api.Assertions.assertThat(CertificatePrincipals.ofSubject("CN=alice,OU=user,O=Hodei")).isPresent();
  }
}
