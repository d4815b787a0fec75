package io.hodei.server.api;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * The certificate a caller presented over mTLS, as {@code CN=<name>,OU=<kind>,O=Hodei}. Empty when
 * the server runs without TLS. {@link #capture()} puts it into the call's context; handlers read it
 * with {@link #current()} on the thread that runs the call.
 */
public record PeerCertificate(String name, String kind, X509Certificate certificate) {
  private static final Context.Key<PeerCertificate> KEY = Context.key("hodei-peer-certificate");

  /** The current call's peer certificate, if the call came over mTLS. */
  public static Optional<PeerCertificate> current() {
    return Optional.ofNullable(KEY.get());
  }

  /** Whether this peer is the worker {@code workerId}: OU=worker and CN equal to the id. */
  public boolean isWorker(String workerId) {
    return kind.equals("worker") && name.equals(workerId);
  }

  @Override
  public String toString() {
    return "CN=" + name + ",OU=" + kind;
  }

  /** Reads the TLS session's peer certificate into the call context. */
  public static ServerInterceptor capture() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        var session = call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
        if (session == null) {
          return next.startCall(call, headers);
        }
        try {
          var chain = session.getPeerCertificates();
          if (chain.length > 0 && chain[0] instanceof X509Certificate leaf) {
            return Contexts.interceptCall(
                Context.current().withValue(KEY, of(leaf)), call, headers, next);
          }
        } catch (SSLPeerUnverifiedException e) {
          // the server requires client certificates, so an unverified peer never gets this far
        }
        return next.startCall(call, headers);
      }
    };
  }

  static PeerCertificate of(X509Certificate leaf) {
    String cn = "";
    String ou = "";
    try {
      for (Rdn rdn : new LdapName(leaf.getSubjectX500Principal().getName()).getRdns()) {
        if (rdn.size() != 1) {
          // CN=w-9+CN=w-1 is ambiguous: such a certificate names nobody.
          return new PeerCertificate("", "", leaf);
        }
        switch (rdn.getType().toUpperCase(java.util.Locale.ROOT)) {
          case "CN" -> cn = rdn.getValue().toString();
          case "OU" -> ou = rdn.getValue().toString();
          default -> {}
        }
      }
    } catch (InvalidNameException e) {
      // an unparsable subject names nobody: it matches no worker and no principal
    }
    return new PeerCertificate(cn, ou, leaf);
  }
}
