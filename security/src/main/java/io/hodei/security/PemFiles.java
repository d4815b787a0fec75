package io.hodei.security;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import io.hodei.core.error.UnavailableException;
import io.hodei.core.files.FileModes;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * Reading and writing PEM. Keys are PKCS#8; every file written is owner-only (0600) and every
 * directory created is 0700. Files are written to a temporary sibling and moved into place, so a
 * reader that reloads them never sees half a file.
 */
public final class PemFiles {
  private PemFiles() {}

  static String toPem(X509Certificate certificate) {
    return write(certificate);
  }

  /** {@code certificate} as PEM text. */
  public static String toPemText(X509Certificate certificate) {
    return write(certificate);
  }

  static String toPem(PrivateKey key) {
    try {
      return write(new JcaPKCS8Generator(key, null).generate());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String write(Object object) {
    var text = new StringWriter();
    try (var pem = new JcaPEMWriter(text)) {
      pem.writeObject(object);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return text.toString();
  }

  /** Creates {@code dir} (0700) if it does not exist, else makes it at most 0700 ({@link FileModes}). */
  public static void createPrivateDirectory(Path dir) {
    try {
      FileModes.privateDirectory(dir);
    } catch (UnavailableException e) {
      throw new PkiException(e.getMessage(), e);
    }
  }

  /** Writes {@code text} to {@code file} with mode 0600, replacing it atomically. */
  public static void writePrivate(Path file, String text) {
    try {
      FileModes.writePrivate(file, text.getBytes(StandardCharsets.US_ASCII));
    } catch (UnavailableException e) {
      throw new PkiException(e.getMessage(), e);
    }
  }

  /**
   * Makes every private key ({@code *.key}) in {@code dir} at most 0600, with a warning for each
   * that was wider: checked at every start of a server that serves from {@code dir}.
   */
  public static void restrictKeys(Path dir) {
    try (var files = Files.list(dir)) {
      for (Path key : files.filter(f -> f.getFileName().toString().endsWith(".key")).toList()) {
        FileModes.restrictFile(key);
      }
    } catch (java.io.IOException e) {
      throw new PkiException("cannot list " + dir + ": " + e.getMessage(), e);
    } catch (UnavailableException e) {
      throw new PkiException(e.getMessage(), e);
    }
  }

  /** The first certificate in {@code pem}; {@code source} names it in errors. */
  public static X509Certificate certificate(String pem, String source) {
    try {
      var chain =
          io.grpc.util.CertificateUtils.getX509Certificates(
              new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
      if (chain.length == 0) {
        throw new PkiException(source + " holds no certificate");
      }
      return chain[0];
    } catch (GeneralSecurityException e) {
      throw new PkiException(source + " is not a PEM certificate: " + e.getMessage(), e);
    }
  }

  /** The PKCS#8 private key in {@code pem}; {@code source} names it in errors. */
  public static PrivateKey privateKey(String pem, String source) {
    try {
      return io.grpc.util.CertificateUtils.getPrivateKey(
          new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      throw new PkiException(source + " is not a PEM (PKCS#8) private key: " + e.getMessage(), e);
    }
  }

  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new PkiException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
