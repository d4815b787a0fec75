package io.hodei.worker;

import io.grpc.ChannelCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import io.grpc.util.CertificateUtils;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker's mTLS identity: its certificate and key in a key manager that can be swapped while
 * the channel is in use (new connections present the new certificate), and the CA it trusts.
 *
 * <p>From {@link WorkerTls.Pem} the identity lives in memory and is replaced by {@link
 * #replace(String, String)} after a renewal; from {@link WorkerTls.Files} the files are re-read
 * every {@code reloadEvery} when they changed.
 *
 * <p>Thread-safety: the key manager swaps atomically (grpc's guarantee); {@link #current} is
 * volatile and written only after the key manager holds the same certificate.
 */
final class WorkerIdentity implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(WorkerIdentity.class);
  static final Duration RELOAD_EVERY = Duration.ofSeconds(10);

  private final WorkerTls source;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager trust;
  private final ScheduledExecutorService reloader;
  private volatile X509Certificate current;

  private WorkerIdentity(WorkerTls source, Duration reloadEvery) {
    this.source = source;
    try {
      trust =
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(
                  AdvancedTlsX509TrustManager.Verification.CERTIFICATE_AND_HOST_NAME_VERIFICATION)
              .build();
      switch (source) {
        case WorkerTls.Pem pem -> {
          reloader = null;
          trust.updateTrustCredentials(certificates(pem.ca(), "the CA certificate (tls-ca)"));
          replace(pem.certificate(), pem.key());
        }
        case WorkerTls.Files files -> {
          reloader =
              Executors.newSingleThreadScheduledExecutor(
                  Thread.ofPlatform().name("tls-reload").daemon().factory());
          long millis = reloadEvery.toMillis();
          reloadFrom(files);
          reloader.scheduleWithFixedDelay(
              () -> reloadIfChanged(files), millis, millis, TimeUnit.MILLISECONDS);
        }
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "cannot load the worker's TLS material: " + e.getMessage(), e);
    }
  }

  private volatile java.util.List<Long> loadedStamp = java.util.List.of();

  private void reloadIfChanged(WorkerTls.Files files) {
    if (stamp(files).equals(loadedStamp)) {
      return;
    }
    try {
      reloadFrom(files);
      log.info(
          "reloaded {} (serial {})", files.certificate(), current.getSerialNumber().toString(16));
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      // a pair caught half written is retried on the next tick; the old one stays in use
      log.warn("not reloading {}: {}", files.certificate(), e.getMessage());
    }
  }

  private void reloadFrom(WorkerTls.Files files) throws IOException, GeneralSecurityException {
    var stamp = stamp(files);
    trust.updateTrustCredentials(certificates(Files.readString(files.ca()), files.ca().toString()));
    replace(Files.readString(files.certificate()), Files.readString(files.key()));
    loadedStamp = stamp;
  }

  private static java.util.List<Long> stamp(WorkerTls.Files files) {
    return java.util.List.of(
        files.ca().toFile().lastModified(),
        files.certificate().toFile().lastModified(),
        files.key().toFile().lastModified());
  }

  static WorkerIdentity load(WorkerTls source) {
    return load(source, RELOAD_EVERY);
  }

  /** With files, checks them for changes every {@code reloadEvery}. */
  static WorkerIdentity load(WorkerTls source, Duration reloadEvery) {
    return new WorkerIdentity(source, reloadEvery);
  }

  ChannelCredentials channelCredentials() {
    return TlsChannelCredentials.newBuilder().keyManager(keys).trustManager(trust).build();
  }

  /** Whether this identity is renewed over the channel (it came in memory, not from files). */
  boolean renewable() {
    return source instanceof WorkerTls.Pem;
  }

  /** Swaps in a new certificate and key; connections made from now on present them. */
  void replace(String certificatePem, String keyPem) {
    X509Certificate[] chain = certificates(certificatePem, "the worker certificate (tls-cert)");
    PrivateKey key;
    try (InputStream in = stream(keyPem)) {
      key = CertificateUtils.getPrivateKey(in);
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          "the worker key (tls-key) is not a PEM (PKCS#8) private key: " + e.getMessage(), e);
    }
    if (!chain[0].getPublicKey().getAlgorithm().equals(key.getAlgorithm())) {
      throw new IllegalArgumentException("the worker's key does not fit its certificate");
    }
    keys.updateIdentityCredentials(chain, key);
    current = chain[0];
  }

  /** The certificate presented now; for files, as last read from disk. */
  X509Certificate current() {
    if (source instanceof WorkerTls.Files files) {
      try {
        current = certificatesIn(files).getFirst();
      } catch (IOException | GeneralSecurityException e) {
        log.warn("cannot read {}: {}", files.certificate(), e.getMessage());
      }
    }
    return current;
  }

  /** Whole days the current certificate has left, for metrics; negative once expired. */
  long daysLeft() {
    return Duration.between(Instant.now(), current().getNotAfter().toInstant()).toDays();
  }

  /** When to renew: two thirds into the current certificate's lifetime. */
  Instant renewAt() {
    X509Certificate cert = current();
    Instant from = cert.getNotBefore().toInstant();
    Duration lifetime = Duration.between(from, cert.getNotAfter().toInstant());
    return from.plus(lifetime.multipliedBy(2).dividedBy(3));
  }

  /** Logs a warning when less than a third of the certificate's lifetime is left. */
  void warnIfExpiringSoon(Instant now) {
    X509Certificate cert = current();
    Instant from = cert.getNotBefore().toInstant();
    Instant until = cert.getNotAfter().toInstant();
    Duration third = Duration.between(from, until).dividedBy(3);
    if (now.plus(third).isAfter(until)) {
      log.warn(
          "worker certificate (serial {}) expires at {}; renewal has not replaced it yet",
          cert.getSerialNumber().toString(16),
          until);
    }
  }

  private static X509Certificate[] certificates(String pem, String source) {
    try (InputStream in = stream(pem)) {
      var chain = CertificateUtils.getX509Certificates(in);
      if (chain.length == 0) {
        throw new IllegalArgumentException(source + " holds no certificate");
      }
      return chain;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(
          source + " is not a PEM certificate: " + e.getMessage(), e);
    }
  }

  private static java.util.List<X509Certificate> certificatesIn(WorkerTls.Files files)
      throws IOException, GeneralSecurityException {
    try (InputStream in = Files.newInputStream(files.certificate())) {
      return java.util.List.of(CertificateUtils.getX509Certificates(in));
    }
  }

  private static InputStream stream(String pem) {
    return new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII));
  }

  @Override
  public void close() {
    if (reloader != null) {
      reloader.shutdownNow();
    }
  }
}
