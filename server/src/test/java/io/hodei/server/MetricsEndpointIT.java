package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.hodei.security.Pki;
import io.hodei.server.provisioning.PoolPolicy;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /metrics} over a real socket: behind a bearer token when one is set, and HTTPS with the
 * server's certificate when the control plane serves TLS, so that a scraper on the network gets
 * neither the numbers nor a plaintext channel without the admin's say.
 */
class MetricsEndpointIT {
  @TempDir Path tmp;

  private static final HttpClient PLAIN = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @Test
  void withATokenOnlyARequestCarryingItIsAnswered() throws Exception {
    try (var plane = TestControlPlane.start(tmp)) {
      int port = plane.server.metrics().serve("127.0.0.1", 0, Optional.empty(), Optional.of("s3cret-metrics-token"));
      URI uri = URI.create("http://127.0.0.1:" + port + "/metrics");

      var none = PLAIN.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
      var wrong = PLAIN.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer s3cret-metrics-tokeN").build(),
          HttpResponse.BodyHandlers.ofString());
      var right = PLAIN.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer s3cret-metrics-token").build(),
          HttpResponse.BodyHandlers.ofString());

      assertThat(none.statusCode()).isEqualTo(401);
      assertThat(none.headers().firstValue("WWW-Authenticate")).contains("Bearer");
      assertThat(none.body()).isEmpty();
      assertThat(wrong.statusCode()).isEqualTo(401);
      assertThat(right.statusCode()).isEqualTo(200);
      assertThat(right.body()).contains("hodei_jobs");

      // /ready is held to the same token.
      URI ready = URI.create("http://127.0.0.1:" + port + "/ready");
      assertThat(PLAIN.send(HttpRequest.newBuilder(ready).build(), HttpResponse.BodyHandlers.ofString()).statusCode())
          .isEqualTo(401);
      var readyRight = PLAIN.send(HttpRequest.newBuilder(ready).header("Authorization", "Bearer s3cret-metrics-token").build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(readyRight.statusCode()).isEqualTo(200);
      assertThat(readyRight.body()).isEqualTo("ready\n");
    }
  }

  @Test
  void underTlsTheEndpointIsHttpsWithTheServersCertificateAndPlainHttpGetsNothing() throws Exception {
    Path tls = tmp.resolve("tls");
    Pki.init(tls, List.of(), false);
    var config = ServerConfig.defaults().withPort(0).withTls(new ServerTls(tls, Duration.ofMillis(100), Duration.ofHours(1)));
    try (var plane = new TestControlPlane(tmp, Clock.systemUTC(), PoolPolicy.DEFAULT, config, List.of())) {
      int port = plane.server.metrics().serve("127.0.0.1", 0, plane.server.httpsContext(), Optional.empty());

      var https = HttpClient.newBuilder().sslContext(trusting(tls.resolve("ca.crt"))).build();
      var answer = https.send(HttpRequest.newBuilder(URI.create("https://localhost:" + port + "/metrics")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(answer.statusCode()).isEqualTo(200);
      assertThat(answer.body()).contains("hodei_jobs");

      var plain = catchThrowable(() -> PLAIN.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics"))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString()));
      assertThat(plain).isNotNull();
    }
  }

  private static SSLContext trusting(Path caPem) throws Exception {
    var store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    try (InputStream in = Files.newInputStream(caPem)) {
      store.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
    }
    var trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    trust.init(store);
    var context = SSLContext.getInstance("TLS");
    context.init(null, trust.getTrustManagers(), null);
    return context;
  }
}
