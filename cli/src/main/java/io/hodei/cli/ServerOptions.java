package io.hodei.cli;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import io.hodei.security.PkiException;
import io.hodei.security.TlsFiles;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/** Where a client command finds the control plane, and how it proves who it is over mTLS. */
final class ServerOptions {
  static final String DEFAULT = "localhost:50051";
  static final String ENV_TLS_DIR = "HODEI_TLS_DIR";

  @Option(
      names = "--server",
      paramLabel = "HOST:PORT",
      description = "Control plane address (default: env HODEI_SERVER, then " + DEFAULT + ").")
  String server;

  @Option(
      names = "--tls-dir",
      paramLabel = "DIR",
      description =
          "Talk mTLS with DIR/ca.crt and DIR/admin.crt, admin.key (default: env "
              + ENV_TLS_DIR
              + "; none: plaintext).")
  Path tlsDir;

  @Option(
      names = "--cert",
      paramLabel = "FILE",
      description = "Client certificate instead of DIR/admin.crt.")
  Path cert;

  @Option(
      names = "--key",
      paramLabel = "FILE",
      description = "Client key instead of DIR/admin.key.")
  Path key;

  @Option(
      names = "--ca",
      paramLabel = "FILE",
      description = "CA certificate instead of DIR/ca.crt.")
  Path ca;

  String address() {
    if (server != null && !server.isBlank()) {
      return server;
    }
    String env = System.getenv("HODEI_SERVER");
    return env != null && !env.isBlank() ? env : DEFAULT;
  }

  /**
   * A channel to the server, mTLS when TLS files are given, plaintext otherwise; callers close it.
   */
  ManagedChannel channel() {
    return Grpc.newChannelBuilder(address(), credentials())
        .keepAliveTime(keepAlive().toMillis(), TimeUnit.MILLISECONDS)
        // Listings and jobs with large specs: above the server's own field limits.
        .maxInboundMessageSize(16 << 20)
        .build();
  }

  /** The CLI's default ping interval on an open call; the server permits one every 5 s. */
  static final Duration DEFAULT_KEEPALIVE = Duration.ofSeconds(30);

  /**
   * How often an open call pings the server, so that a follower of a silent job notices a dead
   * connection: {@code HODEI_GRPC_KEEPALIVE} (a duration, at least 10s) or {@link
   * #DEFAULT_KEEPALIVE}.
   */
  static Duration keepAlive() {
    // The system property is for tests in one JVM, which cannot set a variable.
    String text = System.getProperty("hodei.grpc.keepalive", System.getenv("HODEI_GRPC_KEEPALIVE"));
    if (text == null || text.isBlank()) {
      return DEFAULT_KEEPALIVE;
    }
    Duration d;
    try {
      d = Durations.parse(text.strip());
    } catch (IllegalArgumentException e) {
      throw new HodeiCli.UserError("HODEI_GRPC_KEEPALIVE: " + e.getMessage(), 64);
    }
    if (d.compareTo(Duration.ofSeconds(10)) < 0) {
      throw new HodeiCli.UserError("HODEI_GRPC_KEEPALIVE: must be at least 10s (gRPC's floor), got " + text.strip(), 64);
    }
    return d;
  }

  /** The TLS files in use, checked; empty for plaintext. */
  Optional<TlsFiles.Identity> tlsFiles() {
    Path dir = tlsDir;
    if (dir == null
        && System.getenv(ENV_TLS_DIR) != null
        && !System.getenv(ENV_TLS_DIR).isBlank()) {
      dir = Path.of(System.getenv(ENV_TLS_DIR));
    }
    if (dir == null && cert == null && key == null && ca == null) {
      return Optional.empty();
    }
    if ((cert == null) != (key == null)) {
      throw new HodeiCli.UserError("--cert and --key go together", 64);
    }
    if (dir == null && (cert == null || ca == null)) {
      throw new HodeiCli.UserError("TLS needs --tls-dir DIR, or --cert, --key and --ca", 64);
    }
    var defaults = dir == null ? null : TlsFiles.Identity.in(dir, io.hodei.security.Pki.ADMIN);
    return Optional.of(
        new TlsFiles.Identity(
            ca != null ? ca : defaults.ca(),
            cert != null ? cert : defaults.certificate(),
            key != null ? key : defaults.key()));
  }

  private ChannelCredentials credentials() {
    var files = tlsFiles();
    if (files.isEmpty()) {
      return InsecureChannelCredentials.create();
    }
    var identity = files.get();
    try {
      identity.validate();
      return TlsChannelCredentials.newBuilder()
          .keyManager(identity.certificate().toFile(), identity.key().toFile())
          .trustManager(identity.ca().toFile())
          .build();
    } catch (PkiException e) {
      throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_NOINPUT);
    } catch (IOException e) {
      throw new HodeiCli.UserError("cannot read TLS files: " + e.getMessage(), HodeiCli.EX_NOINPUT);
    }
  }

  static String addressOf(CommandLine commandLine) {
    Object command = commandLine.getCommand();
    if (command instanceof HasServer withServer) {
      return withServer.serverOptions().address();
    }
    return new ServerOptions().address();
  }

  /** Commands that talk to a server expose their options for error messages. */
  interface HasServer {
    ServerOptions serverOptions();
  }

  static void close(ManagedChannel channel) {
    channel.shutdownNow();
    try {
      channel.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
