package io.hodei.cli;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code hodei dev} (or {@code hodei server --insecure} on loopback, {@link #server}) as a real,
 * separate process, so tests can kill it with SIGKILL and start it again on the same data
 * directory and port.
 */
final class ServerProcess implements AutoCloseable {
  final Path dataDir;
  final int port;
  /** The arguments of the next {@link #start}: a restart may change them. */
  volatile List<String> extraArgs;
  final java.util.Map<String, String> extraEnv;
  /** The subcommand and its fixed arguments. */
  private List<String> mode = List.of("dev");
  /** The bearer token {@link #channel} calls with, when not dev's admin token. */
  private volatile String token;
  private Process process;
  /** Every line the server printed on stdout so far. */
  final List<String> output = new java.util.concurrent.CopyOnWriteArrayList<>();

  ServerProcess(Path dataDir, List<String> extraArgs) throws IOException {
    this(dataDir, extraArgs, java.util.Map.of());
  }

  /** @param extraEnv added to the server's environment (this JVM's) */
  ServerProcess(Path dataDir, List<String> extraArgs, java.util.Map<String, String> extraEnv) throws IOException {
    this.dataDir = dataDir;
    this.extraArgs = List.copyOf(extraArgs);
    this.extraEnv = java.util.Map.copyOf(extraEnv);
    try (var socket = new ServerSocket(0)) {
      this.port = socket.getLocalPort();
    }
  }

  /**
   * {@code hodei server --insecure --bind 127.0.0.1}: a networked server's behaviour (it leaves its
   * workers running on a clean stop; anonymous callers get nothing) on loopback only. Its {@link
   * #channel} calls with {@code token}.
   */
  static ServerProcess server(Path dataDir, List<String> extraArgs, String token) throws IOException {
    var server = new ServerProcess(dataDir, extraArgs);
    server.mode = List.of("server", "--insecure", "--bind", "127.0.0.1");
    server.token = token;
    return server;
  }

  /** Starts the server and waits for its "ready" line. */
  ServerProcess start() throws Exception {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("--enable-native-access=ALL-UNNAMED");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(HodeiCli.class.getName());
    command.addAll(mode);
    command.add("--port");
    command.add(Integer.toString(port));
    command.add("--data-dir");
    command.add(dataDir.toString());
    command.addAll(extraArgs);
    var builder =
        new ProcessBuilder(command)
            // Kept in target/ (with stdout, below) so that a failed run can be read afterwards.
            .redirectError(ProcessBuilder.Redirect.appendTo(Path.of("target", "server-process.log").toFile()));
    builder.environment().putAll(extraEnv);
    process = builder.start();
    var ready = new CompletableFuture<String>();
    Thread.ofVirtual()
        .start(
            () -> {
              try (var reader =
                      new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                  var kept = java.nio.file.Files.newBufferedWriter(Path.of("target", "server-process.log"), StandardCharsets.UTF_8,
                      java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND)) {
                String line;
                while ((line = reader.readLine()) != null) {
                  output.add(line);
                  kept.write(line);
                  kept.newLine();
                  kept.flush();
                  if (line.contains("ready on")) {
                    ready.complete(line);
                  }
                }
                ready.completeExceptionally(new IllegalStateException("server exited before it was ready"));
              } catch (IOException e) {
                ready.completeExceptionally(e);
              }
            });
    ready.get(60, TimeUnit.SECONDS);
    return this;
  }

  /** The server's process, while it runs. */
  ProcessHandle handle() {
    return process.toHandle();
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  /**
   * A channel to the server that calls as its admin: with the token {@code hodei dev} keeps in its
   * data directory (loopback callers without it are ordinary users).
   */
  ManagedChannel channel() {
    var builder = NettyChannelBuilder.forTarget(address()).usePlaintext();
    String bearer = token;
    java.nio.file.Path tokenFile = dataDir.resolve("admin.token");
    if (bearer == null && java.nio.file.Files.exists(tokenFile)) {
      try {
        bearer = java.nio.file.Files.readString(tokenFile).strip();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    if (bearer != null) {
      var headers = new io.grpc.Metadata();
      headers.put(
          io.grpc.Metadata.Key.of("authorization", io.grpc.Metadata.ASCII_STRING_MARSHALLER), "Bearer " + bearer);
      builder.intercept(io.grpc.stub.MetadataUtils.newAttachHeadersInterceptor(headers));
    }
    return builder.build();
  }

  /** The arguments the next {@link #start} uses, on the same port and data directory. */
  ServerProcess withArguments(List<String> args) {
    this.extraArgs = List.copyOf(args);
    return this;
  }

  /** SIGKILL: no shutdown hook runs, workers are left as they are. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() {
    if (process != null && process.isAlive()) {
      process.destroy();
      try {
        if (!process.waitFor(Duration.ofSeconds(30).toSeconds(), TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        process.destroyForcibly();
      }
    }
  }
}
