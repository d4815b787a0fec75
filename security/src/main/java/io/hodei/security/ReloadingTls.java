package io.hodei.security;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import io.grpc.util.AdvancedTlsX509KeyManager;
import io.grpc.util.AdvancedTlsX509TrustManager;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS credentials over files that are re-read while in use: every {@code reloadEvery}, when any of
 * the CA, certificate or key file changed, all three are checked together and swapped into grpc's
 * {@link AdvancedTlsX509KeyManager} and {@link AdvancedTlsX509TrustManager}, so a replaced {@code
 * server.crt}/{@code server.key} serves new connections without a restart. Connections already open
 * keep the certificate they were made with.
 *
 * <p>A second task checks once per {@code checkEvery} how long the loaded certificate and the CA
 * have left and logs a warning when either expires within {@code warnWithin}; {@link #daysLeft()}
 * and {@link #caDaysLeft()} expose the values for metrics.
 *
 * <p>Thread-safety: the managers swap their material atomically (grpc's guarantee); the days-left
 * values are volatile and written only by the check task. {@link #close()} stops both tasks.
 */
public final class ReloadingTls implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ReloadingTls.class);
  public static final Duration DEFAULT_RELOAD = Duration.ofSeconds(10);
  public static final Duration DEFAULT_CHECK = Duration.ofHours(1);
  public static final Duration DEFAULT_WARN_WITHIN = Duration.ofDays(7);

  private final TlsFiles.Identity files;
  private final AdvancedTlsX509KeyManager keys = new AdvancedTlsX509KeyManager();
  private final AdvancedTlsX509TrustManager trust;
  private final ScheduledExecutorService scheduler;
  private volatile List<Long> loadedStamp = List.of();
  private final Duration warnWithin;
  private volatile long daysLeft;
  private volatile long caDaysLeft;

  private ReloadingTls(
      TlsFiles.Identity files,
      boolean verifyHostName,
      Duration reloadEvery,
      Duration checkEvery,
      Duration warnWithin) {
    files.validate();
    this.files = files;
    this.warnWithin = warnWithin;
    this.scheduler =
        Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().name("tls-reload").daemon().factory());
    try {
      this.trust =
          AdvancedTlsX509TrustManager.newBuilder()
              .setVerification(
                  verifyHostName
                      ? AdvancedTlsX509TrustManager.Verification
                          .CERTIFICATE_AND_HOST_NAME_VERIFICATION
                      : AdvancedTlsX509TrustManager.Verification.CERTIFICATE_ONLY_VERIFICATION)
              .build();
      reload();
      long millis = reloadEvery.toMillis();
      scheduler.scheduleWithFixedDelay(
          this::reloadIfChanged, millis, millis, TimeUnit.MILLISECONDS);
    } catch (PkiException e) {
      scheduler.shutdownNow();
      throw e;
    } catch (IOException | GeneralSecurityException | RuntimeException e) {
      scheduler.shutdownNow();
      throw new PkiException("cannot load " + files.certificate() + ": " + e.getMessage(), e);
    }
    checkExpiry();
    scheduler.scheduleWithFixedDelay(
        this::checkExpiry, checkEvery.toMillis(), checkEvery.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The control plane's credentials from {@code dir}: {@code server.crt}/{@code .key}, {@code
   * ca.crt}.
   */
  public static ReloadingTls forServer(Path dir, Duration reloadEvery, Duration checkEvery) {
    return new ReloadingTls(
        TlsFiles.Identity.in(dir, Pki.SERVER), false, reloadEvery, checkEvery, DEFAULT_WARN_WITHIN);
  }

  /** A client's credentials; the server's certificate must name the host dialled. */
  public static ReloadingTls forClient(TlsFiles.Identity files, Duration reloadEvery) {
    return new ReloadingTls(files, true, reloadEvery, DEFAULT_CHECK, DEFAULT_WARN_WITHIN);
  }

  /**
   * Loads the three files when any of them changed since the last load. A pair caught half written
   * (key and certificate not matching) is skipped and retried on the next tick; the previous
   * material stays in use meanwhile.
   */
  private void reloadIfChanged() {
    try {
      if (stamp().equals(loadedStamp)) {
        return;
      }
      files.validate();
      reload();
      log.info(
          "reloaded {} (serial {})",
          files.certificate(),
          TlsFiles.loadCertificate(files.certificate()).getSerialNumber().toString(16));
    } catch (RuntimeException | IOException | GeneralSecurityException e) {
      log.warn("not reloading {}: {}", files.certificate(), e.getMessage());
    }
  }

  private void reload() throws IOException, GeneralSecurityException {
    List<Long> stamp = stamp();
    X509Certificate cert = TlsFiles.loadCertificate(files.certificate());
    var key = PemFiles.privateKey(PemFiles.read(files.key()), files.key().getFileName().toString());
    trust.updateTrustCredentials(new X509Certificate[] {TlsFiles.loadCertificate(files.ca())});
    keys.updateIdentityCredentials(new X509Certificate[] {cert}, key);
    loadedStamp = stamp;
  }

  private List<Long> stamp() {
    List<Long> stamp = new ArrayList<>();
    for (Path file : List.of(files.ca(), files.certificate(), files.key())) {
      stamp.add(file.toFile().lastModified());
    }
    return stamp;
  }

  private volatile java.util.function.BiConsumer<String, String> rejectedClient = (host, why) -> {};

  /**
   * Told of each client refused in the handshake because its certificate did not verify
   * (untrusted, expired, not a client certificate): the peer's host and why. For the audit log.
   */
  public void onRejectedClient(java.util.function.BiConsumer<String, String> listener) {
    this.rejectedClient = listener;
  }

  /** Server credentials that require and verify a client certificate signed by the CA. */
  public ServerCredentials serverCredentials() {
    return TlsServerCredentials.newBuilder()
        .keyManager(keys)
        .trustManager(new ReportingTrustManager())
        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE)
        .build();
  }

  /**
   * A TLS context presenting this server's certificate (reloaded as the files change) for an
   * HTTPS endpoint; clients need not present a certificate of their own.
   */
  public javax.net.ssl.SSLContext sslContext() {
    try {
      var context = javax.net.ssl.SSLContext.getInstance("TLS");
      context.init(new javax.net.ssl.KeyManager[] {keys}, null, null);
      return context;
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("cannot make a TLS context: " + e.getMessage(), e);
    }
  }

  public ChannelCredentials channelCredentials() {
    return TlsChannelCredentials.newBuilder().keyManager(keys).trustManager(trust).build();
  }

  /** {@link #trust}, telling {@link #rejectedClient} of each client certificate it refuses. */
  private final class ReportingTrustManager extends javax.net.ssl.X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      try {
        trust.checkClientTrusted(chain, authType, socket);
      } catch (java.security.cert.CertificateException e) {
        report(socket == null || socket.getInetAddress() == null ? "" : socket.getInetAddress().getHostAddress(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      try {
        trust.checkClientTrusted(chain, authType, engine);
      } catch (java.security.cert.CertificateException e) {
        report(engine == null || engine.getPeerHost() == null ? "" : engine.getPeerHost(), chain, e);
        throw e;
      }
    }

    @Override
    public void checkClientTrusted(java.security.cert.X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      try {
        trust.checkClientTrusted(chain, authType);
      } catch (java.security.cert.CertificateException e) {
        report("", chain, e);
        throw e;
      }
    }

    private void report(String host, java.security.cert.X509Certificate[] chain, Exception e) {
      String subject = chain == null || chain.length == 0 ? "no certificate" : chain[0].getSubjectX500Principal().getName();
      try {
        rejectedClient.accept(host, subject + ": " + e.getMessage());
      } catch (RuntimeException listenerFailed) {
        // The handshake fails either way; the listener's own failure changes nothing.
      }
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, java.net.Socket socket)
        throws java.security.cert.CertificateException {
      trust.checkServerTrusted(chain, authType, socket);
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType, javax.net.ssl.SSLEngine engine)
        throws java.security.cert.CertificateException {
      trust.checkServerTrusted(chain, authType, engine);
    }

    @Override
    public void checkServerTrusted(java.security.cert.X509Certificate[] chain, String authType)
        throws java.security.cert.CertificateException {
      trust.checkServerTrusted(chain, authType);
    }

    @Override
    public java.security.cert.X509Certificate[] getAcceptedIssuers() {
      return trust.getAcceptedIssuers();
    }
  }

  /** Whole days until the certificate on disk expires; negative once it has. */
  public long daysLeft() {
    return daysLeft;
  }

  /** Whole days until the CA expires. */
  public long caDaysLeft() {
    return caDaysLeft;
  }

  private void checkExpiry() {
    try {
      Instant now = Instant.now();
      X509Certificate cert = TlsFiles.loadCertificate(files.certificate());
      X509Certificate ca = TlsFiles.loadCertificate(files.ca());
      daysLeft = TlsFiles.daysLeft(cert, now);
      caDaysLeft = TlsFiles.daysLeft(ca, now);
      warnIfClose(files.certificate(), cert, now);
      warnIfClose(files.ca(), ca, now);
    } catch (RuntimeException e) {
      log.warn("checking certificate expiry failed: {}", e.getMessage());
    }
  }

  private void warnIfClose(Path file, X509Certificate cert, Instant now) {
    Instant notAfter = cert.getNotAfter().toInstant();
    if (now.plus(warnWithin).isAfter(notAfter)) {
      log.warn(
          "certificate {} (serial {}) expires at {}: {} days left; issue a new one with hodei pki",
          file,
          cert.getSerialNumber().toString(16),
          notAfter,
          TlsFiles.daysLeft(cert, now));
    }
  }

  @Override
  public void close() {
    scheduler.shutdownNow();
  }
}
