package io.hodei.security;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;

/** A certificate and its private key, freshly issued or loaded. */
public record IssuedCertificate(X509Certificate certificate, PrivateKey key) {
  public String certificatePem() {
    return PemFiles.toPem(certificate);
  }

  /** The key as PKCS#8 PEM. */
  public String keyPem() {
    return PemFiles.toPem(key);
  }
}
