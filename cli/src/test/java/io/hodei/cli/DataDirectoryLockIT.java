package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A second control plane on a data directory that one already uses refuses to start, naming the first. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class DataDirectoryLockIT {
  @TempDir Path dir;

  @Test
  void aSecondHodeiDevOnTheSameDataDirectoryRefusesNamingTheFirstsPidAndPort() throws Exception {
    Path data = dir.resolve("data");
    try (var first = new ServerProcess(data, List.of()).start()) {
      var second = HodeiRunIT.hodei("dev", "--port", "0", "--data-dir", data.toString());

      assertThat(second.exitCode()).isEqualTo(HodeiCli.EX_UNAVAILABLE);
      assertThat(second.stderr())
          .contains("another control plane uses " + data.toAbsolutePath())
          .containsPattern("pid \\d+, 127\\.0\\.0\\.1:" + first.port);
      // The first one is untouched: it still answers.
      assertThat(HodeiRunIT.hodei("run", "-q", "--server", "127.0.0.1:" + first.port, "--", "echo", "still here").stdout())
          .isEqualTo("still here\n");
    }
  }

  @Test
  void theLockDiesWithItsHolderSoARestartAfterSigkillStarts() throws Exception {
    Path data = dir.resolve("data");
    var first = new ServerProcess(data, List.of()).start();
    first.kill9();

    try (var again = new ServerProcess(data, List.of()).start()) {
      assertThat(HodeiRunIT.hodei("run", "-q", "--server", "127.0.0.1:" + again.port, "--", "echo", "back").stdout())
          .isEqualTo("back\n");
    }
  }
}
