package io.hodei.server.metrics;

import com.sun.net.httpserver.HttpServer;
import io.hodei.core.job.JobState;
import io.hodei.core.job.JobStore;
import io.hodei.server.workers.WorkerRegistry;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * The control plane's own figures in Prometheus form: jobs per state, workers connected, log
 * traffic ({@link LogTraffic}), and the days left on the server's and the CA's certificates (so
 * that an expiry alert needs no log scraping), and readiness. Served over HTTP at {@code /metrics}
 * when a port is given, with {@code /ready}: 200 while the control plane can write to its database,
 * 503 with the reason otherwise.
 *
 * <p>Thread-safe: gauges are read at scrape time from thread-safe sources; the HTTP server runs
 * each scrape on a virtual thread.
 */
public final class ServerMetrics implements AutoCloseable {
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private volatile HttpServer http;
  private final Supplier<Optional<String>> notReady;
  private final JobStore jobs;
  /**
   * The jobs per state as of the scrape being written, or null if the store could not count them:
   * one count of the table per scrape, not one per state's gauge.
   */
  private volatile java.util.Map<JobState, Long> jobCounts = java.util.Map.of();

  public ServerMetrics(
      JobStore jobs,
      WorkerRegistry workers,
      Supplier<Optional<Long>> serverCertificateDaysLeft,
      Supplier<Optional<Long>> caDaysLeft,
      Supplier<Optional<String>> notReady) {
    this.notReady = notReady;
    this.jobs = jobs;
    Gauge.builder("hodei_ready", () -> notReady.get().isPresent() ? 0 : 1)
        .description("1 while the control plane can write to its database (ready), else 0")
        .register(registry);
    for (JobState state : JobState.values()) {
      Gauge.builder("hodei_jobs", this, m -> m.jobsIn(state))
          .description("Jobs in the store, per state")
          .tag("state", state.name().toLowerCase(Locale.ROOT))
          .register(registry);
    }
    Gauge.builder(
            "hodei_workers_connected",
            workers,
            w -> w.snapshot().stream().filter(v -> v.terminatedAt().isEmpty()).count())
        .description("Workers registered and not terminated")
        .register(registry);
    Gauge.builder("hodei_certificate_days_left", () -> serverCertificateDaysLeft.get().orElse(-1L))
        .description("Days until the server certificate expires; -1 without TLS")
        .tag("certificate", "server")
        .register(registry);
    Gauge.builder("hodei_certificate_days_left", () -> caDaysLeft.get().orElse(-1L))
        .description("Days until the CA certificate expires; -1 without TLS")
        .tag("certificate", "ca")
        .register(registry);
    FunctionCounter.builder("hodei_log_batches_received", LogTraffic.class, _ -> LogTraffic.batchesReceived())
        .description("log_batch messages received from workers")
        .register(registry);
    FunctionCounter.builder("hodei_log_lines_received", LogTraffic.class, _ -> LogTraffic.linesReceived())
        .description("Log lines received from workers in log_batch messages")
        .register(registry);
    FunctionCounter.builder("hodei_log_responses_sent", LogTraffic.class, _ -> LogTraffic.responsesSent())
        .description("StreamLogs responses sent to readers")
        .register(registry);
    FunctionCounter.builder("hodei_log_lines_sent", LogTraffic.class, _ -> LogTraffic.linesSent())
        .description("Log lines sent to readers in StreamLogs responses")
        .register(registry);
  }

  /** The current figures in the Prometheus text format; jobs per state NaN while the store cannot count them. */
  public synchronized String scrape() {
    try {
      jobCounts = jobs.countByState();
    } catch (RuntimeException e) {
      jobCounts = null;
    }
    return registry.scrape();
  }

  private double jobsIn(JobState state) {
    var counts = jobCounts;
    return counts == null ? Double.NaN : counts.getOrDefault(state, 0L);
  }

  /**
   * Serves {@code GET /metrics} on {@code host:port} (0 picks a free port). Returns the port.
   *
   * @throws UncheckedIOException if the port cannot be bound
   */
  public int serve(String host, int port) {
    return serve(host, port, java.util.Optional.empty(), java.util.Optional.empty());
  }

  /**
   * Serves {@code /metrics} on {@code host:port} (0 picks a free port), over HTTPS with {@code
   * tls} when given, and answering only requests that carry {@code Authorization: Bearer TOKEN}
   * when {@code token} is given (401 otherwise, compared in constant time). Returns the port.
   */
  public int serve(String host, int port, java.util.Optional<javax.net.ssl.SSLContext> tls, java.util.Optional<String> token) {
    try {
      HttpServer server;
      if (tls.isPresent()) {
        var https = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(host, port), 16);
        https.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(tls.get()));
        server = https;
      } else {
        server = HttpServer.create(new InetSocketAddress(host, port), 16);
      }
      server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
      byte[] expected = token.map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8)).orElse(null);
      server.createContext(
          "/metrics",
          exchange -> {
            try (exchange) {
              if (authorized(exchange, expected)) {
                send(exchange, 200, "text/plain; version=0.0.4; charset=utf-8", scrape());
              }
            }
          });
      server.createContext(
          "/ready",
          exchange -> {
            try (exchange) {
              if (authorized(exchange, expected)) {
                var why = notReady.get();
                send(exchange, why.isPresent() ? 503 : 200, "text/plain; charset=utf-8",
                    why.map(w -> "not ready: " + w + "\n").orElse("ready\n"));
              }
            }
          });
      server.start();
      http = server;
      return server.getAddress().getPort();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve metrics on " + host + ":" + port + ": " + e.getMessage(), e);
    }
  }

  /** Whether the request carries the token, if one is required; answers 401 if not. */
  private static boolean authorized(com.sun.net.httpserver.HttpExchange exchange, byte[] expected) throws IOException {
    if (expected == null) {
      return true;
    }
    String given = exchange.getRequestHeaders().getFirst("Authorization");
    if (given != null && java.security.MessageDigest.isEqual(expected, given.getBytes(StandardCharsets.UTF_8))) {
      return true;
    }
    exchange.getResponseHeaders().set("WWW-Authenticate", "Bearer");
    exchange.sendResponseHeaders(401, -1);
    return false;
  }

  private static void send(com.sun.net.httpserver.HttpExchange exchange, int status, String type, String text) throws IOException {
    byte[] body = text.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  @Override
  public void close() {
    HttpServer server = http;
    if (server != null) {
      server.stop(0);
    }
    registry.close();
  }
}
