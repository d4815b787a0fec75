package io.hodei.server.auth;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.hodei.core.auth.AuditEvent;
import io.hodei.core.auth.Principal;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.core.error.AuthenticationException;
import io.hodei.core.error.PermissionDeniedException;
import io.hodei.server.api.GrpcErrors;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Resolves who makes each call and lets it run only if {@link AccessPolicy} allows that role.
 *
 * <p>The caller is, in this order: the principal named by the TLS peer certificate (see {@link
 * CertificatePrincipals}); else the API token of an {@code authorization: Bearer <token>} header;
 * else anonymous. An anonymous caller from a loopback address gets the configured {@code
 * anonymousRole} ({@code hodei dev}'s zero-config mode makes it ADMIN), any other anonymous caller
 * gets {@link Role#NONE}.
 *
 * <p>A presented but bad credential (unknown, revoked or expired token, certificate outside the
 * contract) ends the call UNAUTHENTICATED; a call the role may not make ends PERMISSION_DENIED, or
 * UNAUTHENTICATED for an anonymous caller. Each refusal is audited. The principal and the remote
 * address go into the call's {@link Context} for {@link Callers}.
 *
 * <p>Thread-safe: holds no per-call state.
 */
public final class AuthInterceptor implements ServerInterceptor {
  static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
  private static final String BEARER = "Bearer ";

  private final TokenService tokens;
  private final SecurityAudit audit;
  private final Role anonymousRole;

  public AuthInterceptor(TokenService tokens, SecurityAudit audit, Role anonymousRole) {
    this.tokens = tokens;
    this.audit = audit;
    this.anonymousRole = anonymousRole;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    SocketAddress address = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    String remote = describe(address);
    Principal principal;
    try {
      principal =
          resolve(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION), headers, address);
    } catch (AuthenticationException e) {
      audit.record(
          AuditEvent.Kind.AUTHENTICATION_FAILED, "anonymous", method, e.getMessage(), remote);
      return refuse(call, e);
    } catch (io.hodei.core.error.UnavailableException e) {
      // The store cannot check the credential now. What anyone may call (readiness) is still
      // answered, as anonymous: telling that the store is away is its point. The rest is
      // UNAVAILABLE with the cause, for the caller to retry.
      if (!AccessPolicy.allows(method, Role.NONE)) {
        return refuse(call, e);
      }
      principal = Principal.ANONYMOUS;
    }
    if (!AccessPolicy.allows(method, principal.role())) {
      audit.record(
          AuditEvent.Kind.PERMISSION_DENIED,
          principal.name(),
          method,
          "role " + principal.role().word() + " may not call it",
          remote);
      return refuse(
          call,
          principal.role() == Role.NONE
              ? new AuthenticationException(
                  method + " needs credentials: an API token (--token) or a client certificate")
              : new PermissionDeniedException(
                  principal.role().word() + " " + principal.name() + " may not call " + method));
    }
    Context context =
        Context.current().withValue(Callers.PRINCIPAL, principal).withValue(Callers.REMOTE, remote);
    return Contexts.interceptCall(context, call, headers, next);
  }

  private Principal resolve(SSLSession tls, Metadata headers, SocketAddress address) {
    Optional<X509Certificate> certificate = peerCertificate(tls);
    if (certificate.isPresent()) {
      return CertificatePrincipals.of(certificate.get())
          .orElseThrow(
              () ->
                  new AuthenticationException(
                      "client certificate subject "
                          + certificate.get().getSubjectX500Principal().getName()
                          + " names no Hodei principal"));
    }
    String authorization = headers.get(AUTHORIZATION);
    if (authorization != null) {
      if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
        throw new AuthenticationException("authorization header is not a bearer token");
      }
      return tokens.authenticate(authorization.substring(BEARER.length()).trim());
    }
    return isLocal(address)
        ? new Principal(Principal.ANONYMOUS.name(), anonymousRole)
        : Principal.ANONYMOUS;
  }

  private static Optional<X509Certificate> peerCertificate(SSLSession tls) {
    if (tls == null) {
      return Optional.empty();
    }
    try {
      Certificate[] chain = tls.getPeerCertificates();
      return chain.length > 0 && chain[0] instanceof X509Certificate x
          ? Optional.of(x)
          : Optional.empty();
    } catch (SSLPeerUnverifiedException e) {
      return Optional.empty(); // server-only TLS: the client may still bring a token
    }
  }

  /** Loopback, or a transport without network addresses (in-process). */
  private static boolean isLocal(SocketAddress address) {
    if (address instanceof InetSocketAddress inet) {
      return inet.getAddress() != null && inet.getAddress().isLoopbackAddress();
    }
    return true;
  }

  static String describe(SocketAddress address) {
    if (address instanceof InetSocketAddress inet && inet.getAddress() != null) {
      String host = inet.getAddress().getHostAddress();
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + inet.getPort();
    }
    return address == null ? "" : address.toString();
  }

  private static <Q, R> ServerCall.Listener<Q> refuse(ServerCall<Q, R> call, RuntimeException why) {
    var status = GrpcErrors.toStatus(why);
    call.close(
        status.getStatus(), status.getTrailers() == null ? new Metadata() : status.getTrailers());
    return new ServerCall.Listener<>() {};
  }
}
