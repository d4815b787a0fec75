package io.hodei.core.worker;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Hashing of bearer credentials (OTPs, session ids) before they are stored or compared. */
public final class Secrets {
  private Secrets() {}

  public static String sha256Hex(String credential) {
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(credential.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
