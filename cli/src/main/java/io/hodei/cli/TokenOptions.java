package io.hodei.cli;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ClientInterceptors;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Option;

/** The API token a client command sends, as {@code authorization: Bearer <token>}, if any. */
final class TokenOptions {
  static final String ENV = "HODEI_API_TOKEN";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description =
          "API token (default: env " + ENV + "; for a server on loopback, the admin token of hodei dev in env "
              + DevAdminToken.ENV_FILE + " or .hodei/data/admin.token if readable; none: anonymous).")
  String token;

  /**
   * The token to send: {@code --token}, else {@code HODEI_API_TOKEN}, else, only for a server on
   * a loopback address, the admin token {@code hodei dev} keeps ({@link DevAdminToken}) if this
   * OS user can read it. It is never sent to another host.
   */
  Optional<String> token(String serverAddress) {
    if (token != null && !token.isBlank()) {
      return Optional.of(token.trim());
    }
    String env = System.getenv(ENV);
    if (env != null && !env.isBlank()) {
      return Optional.of(env.trim());
    }
    if (!isLoopback(serverAddress)) {
      return Optional.empty();
    }
    String file = System.getenv(DevAdminToken.ENV_FILE);
    return DevAdminToken.read(
        file != null && !file.isBlank() ? Path.of(file.strip()) : DevAdminToken.DEFAULT_FILE);
  }

  /** {@code channel}, sending the token on every call if one is given; closing it closes both. */
  ManagedChannel attachTo(ManagedChannel channel, String serverAddress) {
    return token(serverAddress).<ManagedChannel>map(t -> new BearerChannel(channel, t)).orElse(channel);
  }

  /** Whether {@code host:port} names this machine: localhost, 127.0.0.0/8 or [::1]. */
  static boolean isLoopback(String address) {
    String host = address;
    if (host.startsWith("dns:///")) {
      host = host.substring("dns:///".length());
    }
    if (host.startsWith("[")) {
      int end = host.indexOf(']');
      host = end > 0 ? host.substring(1, end) : host;
    } else if (host.indexOf(':') == host.lastIndexOf(':') && host.indexOf(':') > 0) {
      host = host.substring(0, host.indexOf(':'));
    }
    return host.equals("localhost") || host.equals("::1") || host.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
  }

  static ClientInterceptor bearer(String token) {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(AUTHORIZATION, "Bearer " + token);
            super.start(listener, headers);
          }
        };
      }
    };
  }

  /** A managed channel whose calls carry the bearer token; lifecycle goes to the wrapped one. */
  private static final class BearerChannel extends ManagedChannel {
    private final ManagedChannel delegate;
    private final Channel intercepted;

    BearerChannel(ManagedChannel delegate, String token) {
      this.delegate = delegate;
      this.intercepted = ClientInterceptors.intercept(delegate, bearer(token));
    }

    @Override
    public <Q, R> ClientCall<Q, R> newCall(MethodDescriptor<Q, R> method, CallOptions options) {
      return intercepted.newCall(method, options);
    }

    @Override
    public String authority() {
      return delegate.authority();
    }

    @Override
    public ManagedChannel shutdown() {
      delegate.shutdown();
      return this;
    }

    @Override
    public boolean isShutdown() {
      return delegate.isShutdown();
    }

    @Override
    public boolean isTerminated() {
      return delegate.isTerminated();
    }

    @Override
    public ManagedChannel shutdownNow() {
      delegate.shutdownNow();
      return this;
    }

    @Override
    public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
      return delegate.awaitTermination(timeout, unit);
    }
  }
}
