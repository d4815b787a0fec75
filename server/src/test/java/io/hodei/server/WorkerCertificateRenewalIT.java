package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.security.CertificateKind;
import io.hodei.security.PemFiles;
import io.hodei.security.Pki;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.worker.WorkerAgent;
import io.hodei.worker.WorkerConfig;
import io.hodei.worker.WorkerTls;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A worker agent in this JVM renewing its short-lived certificate over its mTLS channel. */
class WorkerCertificateRenewalIT {
  @TempDir Path tmp;
  Pki pki;
  TestControlPlane plane;
  WorkerAgent agent;

  @BeforeEach
  void start() {
    Path tls = tmp.resolve("tls");
    pki = Pki.init(tls, List.of(), false);
    var config =
        ServerConfig.defaults()
            .withPort(0)
            .withTls(new ServerTls(tls, Duration.ofSeconds(1), Duration.ofHours(1)));
    plane = new TestControlPlane(tmp, Clock.systemUTC(), PoolPolicy.DEFAULT, config, List.of());
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (agent != null) {
      agent.shutdown();
      agent.awaitTermination(Duration.ofSeconds(10));
    }
    plane.close();
  }

  @Test
  void aWorkerRenewsItsCertificateTwoThirdsIntoItsLifetime() {
    var id = new WorkerId("w-renew");
    Instant now = Instant.now();
    // Six seconds of life: renewal is due after four.
    var shortLived =
        pki.issue(CertificateKind.WORKER, id.value(), now, now.plusSeconds(6), List.of());
    var otp =
        new OtpService(plane.stores.otps(), Clock.systemUTC(), OtpService.DEFAULT_TTL).issue(id);
    agent =
        new WorkerAgent(
            WorkerConfig.of(otp.token(), plane.server.address(), id.value())
                .withTempRoot(tmp.resolve("worker"))
                .withTls(
                    new WorkerTls.Pem(
                        PemFiles.toPemText(pki.caCertificate()),
                        shortLived.certificatePem(),
                        shortLived.keyPem())));
    agent.start();

    await()
        .atMost(Duration.ofSeconds(20))
        .until(
            () ->
                !agent
                    .certificate()
                    .orElseThrow()
                    .getSerialNumber()
                    .equals(shortLived.certificate().getSerialNumber()));

    X509Certificate renewed = agent.certificate().orElseThrow();
    assertThat(renewed.getSubjectX500Principal().getName())
        .isEqualTo("CN=w-renew,OU=worker,O=Hodei");
    assertThat(renewed.getNotAfter().toInstant()).isAfter(now.plus(Duration.ofHours(23)));
    assertThat(agent.certificateDaysLeft()).hasValue(0L);
    assertThat(agent.exitStatus()).isEmpty();
  }
}
