package io.hodei.security;

import java.time.Duration;

/**
 * What a certificate is for, written as its subject's {@code OU}. A subject is always {@code
 * CN=<name>,OU=<kind>,O=Hodei}; for a worker, CN is its worker id. The authorization layer maps a
 * TLS peer to a principal from exactly that, so this shape is a contract.
 */
public enum CertificateKind {
  /** Operators: full control. 90 days. */
  ADMIN("admin", Duration.ofDays(90)),
  /** People and programs submitting jobs. 90 days. */
  USER("user", Duration.ofDays(90)),
  /** A worker agent; issued at provisioning and renewed by the worker itself. 24 hours. */
  WORKER("worker", Duration.ofHours(24)),
  /** The control plane's serving certificate. 1 year. */
  SERVER("server", Duration.ofDays(365));

  private final String unit;
  private final Duration lifetime;

  CertificateKind(String unit, Duration lifetime) {
    this.unit = unit;
    this.lifetime = lifetime;
  }

  /** The subject's OU. */
  public String unit() {
    return unit;
  }

  /** How long a certificate of this kind is valid unless asked otherwise. */
  public Duration defaultLifetime() {
    return lifetime;
  }

  /** The kind named {@code unit} ({@code admin}, {@code user}, {@code worker}, {@code server}). */
  public static CertificateKind of(String unit) {
    for (CertificateKind kind : values()) {
      if (kind.unit.equalsIgnoreCase(unit)) {
        return kind;
      }
    }
    throw new IllegalArgumentException(
        "unknown certificate kind " + unit + "; use admin, user or worker");
  }
}
