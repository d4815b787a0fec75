package io.hodei.security;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Hodei's certificate authority: a directory holding {@code ca.crt}/{@code ca.key} and the
 * certificates it signed, each as {@code NAME.crt}/{@code NAME.key}.
 *
 * <p>Keys are EC P-256, signatures SHA256withECDSA. Lifetimes: the CA {@value #CA_YEARS} years; the
 * others per {@link CertificateKind#defaultLifetime()} (server 1 year, admin and user 90 days,
 * worker 24 hours). Subjects are {@code CN=<name>,OU=<kind>,O=Hodei}.
 *
 * <p>Instances are immutable and thread-safe: the provisioner and the renewal call issue from one
 * at once.
 */
public final class Pki {
  public static final int CA_YEARS = 10;
  public static final String CA_CERT = "ca.crt";
  public static final String CA_KEY = "ca.key";
  public static final String SERVER = "server";
  public static final String ADMIN = "admin";

  /** Subject alternative names of the server certificate unless told otherwise. */
  public static final List<String> DEFAULT_SANS = List.of("localhost", "127.0.0.1");

  private static final String SIGNATURE = "SHA256withECDSA";
  private static final SecureRandom RANDOM = new SecureRandom();
  // A little slack for clocks that disagree by a few seconds.
  private static final Duration BACKDATE = Duration.ofMinutes(5);

  private final IssuedCertificate ca;

  private Pki(IssuedCertificate ca) {
    this.ca = ca;
  }

  /** The CA certificate. */
  public X509Certificate caCertificate() {
    return ca.certificate();
  }

  /**
   * Creates a CA, a server certificate for {@code sans} and an admin certificate in {@code dir}.
   *
   * @throws PkiException if {@code dir} already has a CA and {@code force} is false
   */
  public static Pki init(Path dir, List<String> sans, boolean force) {
    if (Files.exists(dir.resolve(CA_KEY)) && !force) {
      throw new PkiException(
          dir.resolve(CA_KEY)
              + " already exists; pass --force to replace the CA (every certificate it signed stops"
              + " working)");
    }
    PemFiles.createPrivateDirectory(dir);
    Instant now = Instant.now();
    KeyPair keys = newKeyPair();
    X500Name subject = subject("Hodei CA", "ca");
    X509Certificate caCert =
        sign(
            subject,
            keys.getPublic(),
            subject,
            keys.getPrivate(),
            keys.getPublic(),
            now,
            now.atZone(ZoneOffset.UTC).plusYears(CA_YEARS).toInstant(),
            true,
            List.of(),
            null);
    var pki = new Pki(new IssuedCertificate(caCert, keys.getPrivate()));
    write(dir, "ca", pki.ca);
    write(
        dir,
        SERVER,
        pki.issueServer(
            sans.isEmpty() ? DEFAULT_SANS : sans, CertificateKind.SERVER.defaultLifetime()));
    write(
        dir,
        ADMIN,
        pki.issue(CertificateKind.ADMIN, ADMIN, CertificateKind.ADMIN.defaultLifetime()));
    return pki;
  }

  /** The CA in {@code dir}, checked to be a valid, unexpired CA whose key matches. */
  public static Pki load(Path dir) {
    Path keyFile = dir.resolve(CA_KEY);
    if (!Files.exists(keyFile)) {
      throw new PkiException("no " + CA_KEY + " in " + dir + ": run hodei pki init --dir " + dir);
    }
    X509Certificate cert = TlsFiles.loadCertificate(dir.resolve(CA_CERT));
    TlsFiles.checkValid(cert, CA_CERT, Instant.now());
    PrivateKey key = PemFiles.privateKey(PemFiles.read(keyFile), CA_KEY);
    if (!TlsFiles.matches(cert.getPublicKey(), key)) {
      throw new PkiException(CA_KEY + " does not belong to " + CA_CERT);
    }
    return new Pki(new IssuedCertificate(cert, key));
  }

  /**
   * Issues a certificate of {@code kind} named {@code name}, valid from now for {@code lifetime}.
   */
  public IssuedCertificate issue(CertificateKind kind, String name, Duration lifetime) {
    Instant now = Instant.now();
    return issue(kind, name, now.minus(BACKDATE), now.plus(lifetime), List.of());
  }

  /** Issues a server certificate for {@code sans} (DNS names or IP addresses). */
  public IssuedCertificate issueServer(List<String> sans, Duration lifetime) {
    Instant now = Instant.now();
    return issue(
        CertificateKind.SERVER, "hodei-server", now.minus(BACKDATE), now.plus(lifetime), sans);
  }

  /**
   * Issues a certificate valid exactly from {@code notBefore} to {@code notAfter}; tests use it.
   */
  public IssuedCertificate issue(
      CertificateKind kind, String name, Instant notBefore, Instant notAfter, List<String> sans) {
    // Plain names only: '+', '=', ';' or '\' would let a name smuggle a second CN into the subject.
    if (!SAFE_NAME.matcher(name).matches()) {
      throw new PkiException(
          "invalid certificate name '" + name + "': use letters, digits, '.', '_' and '-', starting with a letter or digit");
    }
    KeyPair keys = newKeyPair();
    X509Certificate cert =
        sign(
            subject(name, kind.unit()),
            keys.getPublic(),
            issuerName(),
            ca.key(),
            ca.certificate().getPublicKey(),
            notBefore,
            notAfter,
            false,
            sans,
            kind);
    return new IssuedCertificate(cert, keys.getPrivate());
  }

  private static final java.util.regex.Pattern SAFE_NAME =
      java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

  /**
   * Issues {@code name} and writes it to {@code dir} as {@code name.crt}/{@code name.key}. The
   * names {@code ca} and {@code server} are the PKI's own and are refused.
   */
  public IssuedCertificate issueInto(
      Path dir, CertificateKind kind, String name, Duration lifetime) {
    if (name.equals("ca") || name.equals("server")) {
      throw new PkiException("'" + name + "' is the PKI's own certificate; choose another name");
    }
    var issued = issue(kind, name, lifetime);
    write(dir, name, issued);
    return issued;
  }

  /** Writes {@code name.crt} and {@code name.key} (0600) into {@code dir}. */
  public static void write(Path dir, String name, IssuedCertificate issued) {
    PemFiles.createPrivateDirectory(dir);
    // Key first: a reloader that sees the new certificate then finds the key that matches it.
    PemFiles.writePrivate(dir.resolve(name + ".key"), issued.keyPem());
    PemFiles.writePrivate(dir.resolve(name + ".crt"), issued.certificatePem());
  }

  private X500Name issuerName() {
    return X500Name.getInstance(ca.certificate().getSubjectX500Principal().getEncoded());
  }

  /** {@code CN=<name>,OU=<unit>,O=Hodei}. */
  static X500Name subject(String name, String unit) {
    return X500Name.getInstance(
        new X500Principal("CN=" + name + ",OU=" + unit + ",O=Hodei").getEncoded());
  }

  private static X509Certificate sign(
      X500Name subject,
      PublicKey subjectKey,
      X500Name issuer,
      PrivateKey issuerKey,
      PublicKey issuerPublicKey,
      Instant notBefore,
      Instant notAfter,
      boolean isCa,
      List<String> sans,
      CertificateKind kind) {
    try {
      var ext = new JcaX509ExtensionUtils();
      var builder =
          new JcaX509v3CertificateBuilder(
              issuer,
              new BigInteger(127, RANDOM).add(BigInteger.ONE),
              Date.from(notBefore),
              Date.from(notAfter),
              subject,
              subjectKey);
      builder.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
      builder.addExtension(
          Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(subjectKey));
      builder.addExtension(
          Extension.authorityKeyIdentifier,
          false,
          ext.createAuthorityKeyIdentifier(issuerPublicKey));
      if (isCa) {
        builder.addExtension(
            Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      } else {
        builder.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
        builder.addExtension(
            Extension.extendedKeyUsage,
            false,
            kind == CertificateKind.SERVER
                ? new ExtendedKeyUsage(
                    new KeyPurposeId[] {
                      KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
                    })
                : new ExtendedKeyUsage(KeyPurposeId.id_kp_clientAuth));
      }
      if (!sans.isEmpty()) {
        builder.addExtension(Extension.subjectAlternativeName, false, generalNames(sans));
      }
      var signer = new JcaContentSignerBuilder(SIGNATURE).build(issuerKey);
      return new JcaX509CertificateConverter().getCertificate(builder.build(signer));
    } catch (CertIOException | OperatorCreationException | GeneralSecurityException e) {
      throw new PkiException("cannot sign a certificate for " + subject + ": " + e.getMessage(), e);
    }
  }

  private static GeneralNames generalNames(List<String> sans) {
    List<GeneralName> names = new ArrayList<>();
    for (String san : sans) {
      names.add(
          isIpAddress(san)
              ? new GeneralName(GeneralName.iPAddress, san)
              : new GeneralName(GeneralName.dNSName, san));
    }
    return new GeneralNames(names.toArray(GeneralName[]::new));
  }

  private static boolean isIpAddress(String san) {
    if (!san.matches("[0-9.]+") && !san.contains(":")) {
      return false;
    }
    try {
      InetAddress.ofLiteral(san);
      return true;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static KeyPair newKeyPair() {
    try {
      var generator = KeyPairGenerator.getInstance("EC");
      generator.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return generator.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new PkiException("cannot generate an EC P-256 key: " + e.getMessage(), e);
    }
  }
}
