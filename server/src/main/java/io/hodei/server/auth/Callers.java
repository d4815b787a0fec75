package io.hodei.server.auth;

import io.grpc.Context;
import io.hodei.core.auth.Principal;

/**
 * The caller of the current gRPC call, as {@link AuthInterceptor} resolved it. Read on the call's
 * own thread (the gRPC {@link Context} travels with it); outside a call, the caller is anonymous.
 */
public final class Callers {
  static final Context.Key<Principal> PRINCIPAL = Context.key("hodei-principal");
  static final Context.Key<String> REMOTE = Context.key("hodei-remote");

  private Callers() {}

  public static Principal principal() {
    Principal p = PRINCIPAL.get();
    return p == null ? Principal.ANONYMOUS : p;
  }

  /** The caller's address as host:port, or empty if the transport has none. */
  public static String remote() {
    String r = REMOTE.get();
    return r == null ? "" : r;
  }
}
