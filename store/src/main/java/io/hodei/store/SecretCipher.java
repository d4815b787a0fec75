package io.hodei.store;

import io.hodei.core.error.UnavailableException;
import io.hodei.core.files.FileModes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * AES-256-GCM with a random 96-bit nonce per message and the job id as associated data, so a
 * ciphertext moved to another job's row fails to decrypt instead of revealing its secrets there.
 *
 * <p>Thread-safe: a {@link Cipher} is made per call.
 */
public final class SecretCipher {
  /** Environment variable holding the key as base64 (32 bytes), for the control plane. */
  public static final String ENV_KEY = "HODEI_SECRET_KEY";

  private static final int KEY_BYTES = 32;
  private static final int NONCE_BYTES = 12;
  private static final int TAG_BITS = 128;
  private static final SecureRandom RANDOM = new SecureRandom();

  private final SecretKeySpec key;
  private final String keyId;

  private SecretCipher(byte[] key) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException(
          "a secret key is " + KEY_BYTES + " bytes (base64 of 32 random bytes, e.g. `openssl rand -base64 32`), not " + key.length);
    }
    this.key = new SecretKeySpec(key.clone(), "AES");
    this.keyId = keyIdOf(key);
  }

  /** A cipher over the given key: 32 bytes, as base64. */
  public static SecretCipher fromBase64(String base64) {
    byte[] key;
    try {
      key = Base64.getDecoder().decode(base64.strip());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(ENV_KEY + " is not base64: " + e.getMessage(), e);
    }
    return new SecretCipher(key);
  }

  /** A fresh random key that lives only in memory: secrets kept with it do not survive a restart. */
  public static SecretCipher ephemeral() {
    byte[] key = new byte[KEY_BYTES];
    RANDOM.nextBytes(key);
    return new SecretCipher(key);
  }

  /**
   * The key in {@code file}, created (mode 0600, 32 random bytes as base64) when missing: what an
   * embedded control plane uses when no key is configured.
   */
  public static SecretCipher fromKeyFile(Path file) {
    try {
      if (!Files.exists(file)) {
        byte[] key = new byte[KEY_BYTES];
        RANDOM.nextBytes(key);
        Files.createDirectories(file.toAbsolutePath().getParent());
        FileModes.writePrivate(
            file,
            (Base64.getEncoder().encodeToString(key) + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      } else {
        FileModes.restrictFile(file);
      }
      return fromBase64(Files.readString(file));
    } catch (IOException e) {
      throw new UnavailableException("cannot read or create the secret key file " + file + ": " + e.getMessage(), e);
    }
  }

  /** Identifies the key without revealing it. */
  public String keyId() {
    return keyId;
  }

  /** A fresh nonce and the ciphertext (with its tag) of {@code plain}, bound to {@code context}. */
  public Sealed seal(byte[] plain, String context) {
    byte[] nonce = new byte[NONCE_BYTES];
    RANDOM.nextBytes(nonce);
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, nonce));
      cipher.updateAAD(context.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return new Sealed(keyId, nonce, cipher.doFinal(plain));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has AES-GCM", e);
    }
  }

  /**
   * The plain bytes of {@code sealed}.
   *
   * @throws io.hodei.core.error.IllegalTransitionException if it was sealed with another key or for
   *     another context, or was altered: waiting will not change that
   */
  public byte[] open(Sealed sealed, String context) {
    if (!sealed.keyId().equals(keyId)) {
      throw new io.hodei.core.error.IllegalTransitionException(
          "secrets of " + context + " were encrypted with key " + sealed.keyId() + ", but the control plane has key "
              + keyId + "; start it with the key it had when the job was queued (" + ENV_KEY + ")");
    }
    try {
      Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, sealed.nonce()));
      cipher.updateAAD(context.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      return cipher.doFinal(sealed.ciphertext());
    } catch (javax.crypto.AEADBadTagException e) {
      throw new io.hodei.core.error.IllegalTransitionException("secrets of " + context + " fail their integrity check: altered or misplaced");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has AES-GCM", e);
    }
  }

  /** What is stored: never the plain text. */
  public record Sealed(String keyId, byte[] nonce, byte[] ciphertext) {}

  private static String keyIdOf(byte[] key) {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
      return HexFormat.of().formatHex(Arrays.copyOf(digest, 8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}
