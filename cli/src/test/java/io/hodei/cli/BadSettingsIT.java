package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A setting no worker would accept stops {@code hodei dev} at once, naming the flag and the value
 * as it was written, before any worker starts (it used to start hundreds of workers that each
 * exited on it).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BadSettingsIT {
  @TempDir Path dir;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({
    "--kill-grace, -1s, '--kill-grace: must not be negative, got -1s'",
    "--idle-timeout, -1m, 'idle timeout must not be negative, got -1m'",
    "--heartbeat-interval, 0s, 'heartbeat interval must be positive, got 0s'",
    "--heartbeat-timeout, 2s, 'heartbeat timeout (2s) must exceed the interval (5s)'",
  })
  void isRefusedBeforeAnyWorkerStarts(String flag, String value, String message) {
    var result = HodeiRunIT.hodei("dev", "--port", "0", "--data-dir", dir.resolve("data").toString(), flag, value);

    assertThat(result.exitCode()).as(result.stderr()).isEqualTo(64);
    assertThat(result.stderr()).contains(message);
    assertThat(dir.resolve("data").resolve("workers")).doesNotExist();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"nowhere", "host:0", "host:70000", "a b:1", "'hodei.svc:50051,other:1'"})
  void anAdvertisedAddressThatIsNotHostAndPortIsRefused(String value) {
    var result =
        HodeiRunIT.hodei(
            "server", "--insecure", "--bind", "127.0.0.1", "--port", "0", "--data-dir", dir.resolve("data").toString(),
            "--advertised-address", value);

    assertThat(result.exitCode()).as(result.stderr()).isEqualTo(64);
    assertThat(result.stderr()).contains("--advertised-address: expected HOST:PORT").contains(value);
    assertThat(dir.resolve("data").resolve("workers")).doesNotExist();
  }
}
