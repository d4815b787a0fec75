package io.hodei.core.provider;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * The secrets a worker starts with: its one-time registration token and, with mTLS, its own key,
 * certificate and the CA it trusts. Never environment, never argv: a provider hands them over
 * through a channel the worker's jobs cannot read (a pipe on the worker's stdin, a file only the
 * worker's uid may read that the worker deletes at once) as one {@link #document()}.
 *
 * <p>Invariants: {@code otp} is non-blank; {@link #toString()} never prints a secret.
 *
 * @param otp the single-use token the worker trades for a session
 * @param tls the worker's mTLS identity; empty for plaintext
 */
public record WorkerBootstrap(String otp, Optional<Tls> tls) {

  /** First line of a {@link #document()}: format and version. */
  public static final String HEADER = "hodei-bootstrap 1";

  /** Last line of a {@link #document()}: a reader stops there, without waiting for end of file. */
  public static final String END = "end";

  public WorkerBootstrap {
    if (otp == null || otp.isBlank() || otp.chars().anyMatch(Character::isWhitespace)) {
      throw new IllegalArgumentException("a worker's one-time token must be non-blank, without whitespace");
    }
    Objects.requireNonNull(tls, "tls");
  }

  /** A bootstrap with no TLS material. */
  public static WorkerBootstrap plaintext(String otp) {
    return new WorkerBootstrap(otp, Optional.empty());
  }

  /** The same token with {@code identity}. */
  public WorkerBootstrap withTls(Tls identity) {
    return new WorkerBootstrap(otp, Optional.of(identity));
  }

  /**
   * The worker's mTLS material as PEM text. {@link #toString()} never prints it.
   *
   * @param caPem the CA certificate the worker trusts
   * @param certificatePem the worker's own certificate ({@code CN=<worker id>,OU=worker})
   * @param keyPem the worker's private key
   */
  public record Tls(String caPem, String certificatePem, String keyPem) {
    public Tls {
      for (String pem : new String[] {caPem, certificatePem, keyPem}) {
        if (pem == null || pem.isBlank()) {
          throw new IllegalArgumentException("a worker's TLS material needs a CA, a certificate and a key");
        }
      }
    }

    @Override
    public String toString() {
      return "Tls[<redacted>]";
    }
  }

  /**
   * The bootstrap as the worker reads it: UTF-8 lines, {@value #HEADER}, {@code token <otp>}, with
   * TLS {@code tls-ca}, {@code tls-cert} and {@code tls-key} each followed by the base64 of its
   * PEM text, and {@value #END}.
   */
  public byte[] document() {
    var text = new StringBuilder(HEADER).append('\n').append("token ").append(otp).append('\n');
    tls.ifPresent(
        t ->
            text.append("tls-ca ").append(base64(t.caPem())).append('\n')
                .append("tls-cert ").append(base64(t.certificatePem())).append('\n')
                .append("tls-key ").append(base64(t.keyPem())).append('\n'));
    return text.append(END).append('\n').toString().getBytes(StandardCharsets.UTF_8);
  }

  private static String base64(String pem) {
    return Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public String toString() {
    return "WorkerBootstrap[otp=<redacted>, tls=" + (tls.isPresent() ? "<redacted>" : "none") + "]";
  }
}
