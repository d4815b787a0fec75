package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WorkerTlsTest {
  private static Map<String, String> base() {
    var env = new HashMap<String, String>();
    env.put("HODEI_SERVER_ADDRESS", "h:1");
    env.put("HODEI_WORKER_ID", "w-1");
    return env;
  }

  @Test
  void withoutTlsVariablesTheWorkerTalksPlaintext() {
    assertThat(WorkerConfig.fromEnvironment(base(), Bootstrap.ofToken("t")).tls()).isEmpty();
  }

  @Test
  void pemMaterialFromTheBootstrapIsKeptInMemoryAndNeverPrinted() {
    var pem = new WorkerTls.Pem("ca-pem", "cert-pem", "secret-key-pem");

    WorkerConfig config = WorkerConfig.fromEnvironment(base(), new Bootstrap("t", java.util.Optional.of(pem)));

    assertThat(config.tls()).contains(new WorkerTls.Pem("ca-pem", "cert-pem", "secret-key-pem"));
    assertThat(config.toString()).doesNotContain("secret-key-pem").contains("tls=on");
    assertThat(config.tls().get().toString()).doesNotContain("secret-key-pem");
  }

  @Test
  void fileVariablesNameFilesToReload() {
    var env = base();
    env.put("HODEI_TLS_CA_FILE", "/etc/hodei/ca.crt");
    env.put("HODEI_TLS_CERT_FILE", "/etc/hodei/w-1.crt");
    env.put("HODEI_TLS_KEY_FILE", "/etc/hodei/w-1.key");

    assertThat(WorkerConfig.fromEnvironment(env, Bootstrap.ofToken("t")).tls())
        .contains(
            new WorkerTls.Files(
                Path.of("/etc/hodei/ca.crt"),
                Path.of("/etc/hodei/w-1.crt"),
                Path.of("/etc/hodei/w-1.key")));
  }

  @Test
  void theBootstrapsPemMaterialWinsOverFileVariables() {
    var env = base();
    env.put("HODEI_TLS_CA_FILE", "/etc/hodei/ca.crt");
    env.put("HODEI_TLS_CERT_FILE", "/etc/hodei/w-1.crt");
    env.put("HODEI_TLS_KEY_FILE", "/etc/hodei/w-1.key");
    var pem = new WorkerTls.Pem("ca-pem", "cert-pem", "key-pem");

    assertThat(WorkerConfig.fromEnvironment(env, new Bootstrap("t", java.util.Optional.of(pem))).tls()).contains(pem);
  }

  @Test
  void anIncompleteSetOfFilesIsRefusedWithTheNamesThatGoTogether() {
    var env = base();
    env.put("HODEI_TLS_CERT_FILE", "/etc/hodei/w-1.crt");

    assertThatThrownBy(() -> WorkerConfig.fromEnvironment(env, Bootstrap.ofToken("t")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "HODEI_TLS_CA_FILE, HODEI_TLS_CERT_FILE and HODEI_TLS_KEY_FILE go together; set all three or none");
  }
}
