package io.hodei.security;

import io.hodei.core.provider.WorkerBootstrap;
import io.hodei.core.provider.WorkerCredentials;
import io.hodei.core.worker.WorkerId;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * Issues worker certificates ({@code CN=<worker id>,OU=worker,O=Hodei}) from the CA in the server's
 * TLS directory. Only the worker's own key, its certificate and the CA certificate leave this
 * class; the CA key never does. Thread-safe: {@link Pki} is immutable.
 */
public final class WorkerCertificateIssuer implements WorkerCredentials {
  private final Pki pki;
  private final Duration lifetime;

  public WorkerCertificateIssuer(Pki pki, Duration lifetime) {
    this.pki = pki;
    this.lifetime = lifetime;
  }

  /** Issues from the CA in {@code tlsDir}, with the default worker lifetime. */
  public static WorkerCertificateIssuer fromDirectory(Path tlsDir) {
    return new WorkerCertificateIssuer(Pki.load(tlsDir), CertificateKind.WORKER.defaultLifetime());
  }

  /** A fresh certificate and key for {@code worker}. */
  public IssuedCertificate issue(WorkerId worker) {
    return pki.issue(CertificateKind.WORKER, worker.value(), lifetime);
  }

  @Override
  public Optional<WorkerBootstrap.Tls> issueFor(WorkerId worker) {
    var issued = issue(worker);
    return Optional.of(
        new WorkerBootstrap.Tls(PemFiles.toPem(pki.caCertificate()), issued.certificatePem(), issued.keyPem()));
  }

  /** The CA certificate as PEM. */
  public String caPem() {
    return PemFiles.toPem(pki.caCertificate());
  }
}
