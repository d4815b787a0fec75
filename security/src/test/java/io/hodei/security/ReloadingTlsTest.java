package io.hodei.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

class ReloadingTlsTest {
  @TempDir Path dir;
  final ListAppender<ILoggingEvent> logged = new ListAppender<>();
  final Logger logger = (Logger) LoggerFactory.getLogger(ReloadingTls.class);

  @BeforeEach
  void captureLog() {
    logged.start();
    logger.addAppender(logged);
  }

  @AfterEach
  void releaseLog() {
    logger.detachAppender(logged);
  }

  @Test
  void aServerCertificateCloseToExpiryIsReportedAndWarnedAbout() {
    var pki = Pki.init(dir, List.of(), false);
    Instant now = Instant.now();
    Pki.write(
        dir,
        "server",
        pki.issue(
            CertificateKind.SERVER,
            "hodei-server",
            now.minusSeconds(60),
            now.plus(Duration.ofDays(3)).plusSeconds(60),
            Pki.DEFAULT_SANS));

    try (var tls = ReloadingTls.forServer(dir, Duration.ofSeconds(10), Duration.ofHours(1))) {
      assertThat(tls.daysLeft()).isEqualTo(3);
      assertThat(tls.caDaysLeft()).isGreaterThan(3600);
    }
    assertThat(logged.list)
        .anySatisfy(
            e ->
                assertThat(e.getFormattedMessage()).contains("server.crt").contains("3 days left"));
  }

  @Test
  void aServerStartsOnlyWithACertificateOfItsCa() {
    Pki.init(dir, List.of(), false);
    var other = Pki.init(dir.resolve("other"), List.of(), false);
    Pki.write(dir, "server", other.issueServer(Pki.DEFAULT_SANS, Duration.ofDays(1)));

    assertThatThrownBy(
            () -> ReloadingTls.forServer(dir, Duration.ofSeconds(10), Duration.ofHours(1)))
        .isInstanceOf(PkiException.class)
        .hasMessage("server.crt is not signed by ca.crt");
  }
}
