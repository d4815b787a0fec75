package io.hodei.security;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * Loading certificate files with checks that fail in one line naming the file: "server.crt expired
 * on 2026-01-01", "admin.crt is not signed by ca.crt".
 */
public final class TlsFiles {
  private TlsFiles() {}

  /**
   * The CA, certificate and key files of one party, checked together: each readable, the
   * certificate signed by the CA, both unexpired, and the key matching the certificate.
   */
  public record Identity(Path ca, Path certificate, Path key) {
    /** {@code dir/ca.crt}, {@code dir/NAME.crt}, {@code dir/NAME.key}. */
    public static Identity in(Path dir, String name) {
      return new Identity(
          dir.resolve(Pki.CA_CERT), dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
    }

    /** Loads and checks all three files; returns the certificate. */
    public X509Certificate validate() {
      Instant now = Instant.now();
      X509Certificate caCert = loadCertificate(ca);
      checkValid(caCert, name(ca), now);
      X509Certificate cert = loadCertificate(certificate);
      checkValid(cert, name(certificate), now);
      checkSignedBy(cert, name(certificate), caCert, name(ca));
      if (!Files.exists(key)) {
        throw new PkiException("no " + name(key) + " beside " + certificate);
      }
      PrivateKey privateKey = PemFiles.privateKey(PemFiles.read(key), name(key));
      if (!matches(cert.getPublicKey(), privateKey)) {
        throw new PkiException(name(key) + " does not belong to " + name(certificate));
      }
      return cert;
    }
  }

  /** The certificate in {@code file}, or a one-line error naming it. */
  public static X509Certificate loadCertificate(Path file) {
    if (!Files.exists(file)) {
      Path dir = file.toAbsolutePath().getParent();
      throw new PkiException(
          "no "
              + name(file)
              + " in "
              + dir
              + (name(file).equals(Pki.CA_CERT) ? ": run hodei pki init --dir " + dir : ""));
    }
    return PemFiles.certificate(PemFiles.read(file), name(file));
  }

  /** Fails if {@code cert} is expired or not yet valid at {@code now}. */
  public static void checkValid(X509Certificate cert, String name, Instant now) {
    Instant notAfter = cert.getNotAfter().toInstant();
    if (now.isAfter(notAfter)) {
      throw new PkiException(name + " expired on " + notAfter.atZone(ZoneOffset.UTC).toLocalDate());
    }
    Instant notBefore = cert.getNotBefore().toInstant();
    if (now.isBefore(notBefore)) {
      throw new PkiException(name + " is not valid before " + notBefore);
    }
  }

  /** Fails unless {@code cert} carries a signature by {@code ca}. */
  public static void checkSignedBy(
      X509Certificate cert, String name, X509Certificate ca, String caName) {
    try {
      cert.verify(ca.getPublicKey());
    } catch (GeneralSecurityException e) {
      throw new PkiException(name + " is not signed by " + caName);
    }
  }

  /** Whether {@code key} is the private half of {@code publicKey}. */
  static boolean matches(PublicKey publicKey, PrivateKey key) {
    try {
      byte[] probe = "hodei".getBytes(StandardCharsets.US_ASCII);
      Signature signer = Signature.getInstance("SHA256withECDSA");
      signer.initSign(key);
      signer.update(probe);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance("SHA256withECDSA");
      verifier.initVerify(publicKey);
      verifier.update(probe);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  /** Days from {@code now} until {@code cert} expires, negative once it has. */
  public static long daysLeft(X509Certificate cert, Instant now) {
    return java.time.Duration.between(now, cert.getNotAfter().toInstant()).toDays();
  }

  private static String name(Path file) {
    return file.getFileName().toString();
  }
}
