package io.hodei.server.auth;

import io.hodei.core.auth.Principal;
import io.hodei.core.auth.Role;
import java.security.cert.X509Certificate;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * The principal a client certificate names, by the contract with the PKI: subject {@code
 * CN=<name>,OU=<kind>,O=Hodei}, kind {@code admin}, {@code user} or {@code worker} (a worker's CN
 * is its worker id). The chain was verified by the TLS handshake; this only reads the subject.
 */
public final class CertificatePrincipals {
  private CertificatePrincipals() {}

  /** Empty when the subject does not follow the contract: such a peer is not trusted as anyone. */
  public static Optional<Principal> of(X509Certificate certificate) {
    return ofSubject(certificate.getSubjectX500Principal().getName());
  }

  static Optional<Principal> ofSubject(String rfc2253) {
    Map<String, String> parts = new HashMap<>();
    try {
      for (Rdn rdn : new LdapName(rfc2253).getRdns()) {
        // A multi-valued part (CN=zed+CN=alice) or a repeated attribute is ambiguous: refuse
        // rather than pick one.
        if (rdn.size() != 1) {
          return Optional.empty();
        }
        if (parts.put(rdn.getType().toUpperCase(java.util.Locale.ROOT), rdn.getValue().toString())
            != null) {
          return Optional.empty();
        }
      }
    } catch (InvalidNameException e) {
      return Optional.empty();
    }
    String cn = parts.get("CN");
    if (cn == null
        || cn.isBlank()
        || cn.equals(Principal.ANONYMOUS.name())
        || !"Hodei".equals(parts.get("O"))
        || parts.size() != 3) {
      return Optional.empty();
    }
    return Optional.ofNullable(parts.get("OU"))
        .flatMap(Role::named)
        .filter(role -> role != Role.NONE)
        .map(role -> new Principal(cn, role));
  }
}
