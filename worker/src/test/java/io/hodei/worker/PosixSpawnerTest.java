package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** posix_spawn through FFM against real processes: pipes, exit codes, signals, sessions, descriptors. */
class PosixSpawnerTest {
  private final PosixSpawner spawner = PosixSpawner.load().orElseThrow();
  private static final Map<String, String> ENV = Map.of("PATH", "/usr/bin:/bin", "GREETING", "hi");
  @TempDir Path dir;

  private Process sh(String script) throws IOException {
    return spawner.spawn(Path.of("/bin/sh"), List.of("sh", "-c", script), ENV, dir);
  }

  @Test
  void stdinStdoutStderrAndTheExitCodeAreTheChildsOwn() throws Exception {
    Process p = sh("read line; echo \"$line $GREETING $(pwd) $0\"; echo oops >&2; exit 3");
    p.getOutputStream().write("secret\n".getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor()).isEqualTo(3);
    assertThat(out).isEqualTo("secret hi " + dir.toRealPath() + " sh\n");
    assertThat(err).isEqualTo("oops\n");
    assertThat(p.isAlive()).isFalse();
    assertThat(p.exitValue()).isEqualTo(3);
  }

  @Test
  void theChildLeadsASessionAndGroupOfItsOwnWithOnlyThreeDescriptorsAndNoBlockedOrIgnoredSignals() throws Exception {
    // The last command reads its own status: the shell blocks signals while it waits for a child.
    Process p = sh("cut -d' ' -f1,5,6 /proc/$$/stat; ls /proc/$$/fd | wc -l; exec grep -E '^Sig(Blk|Ign)' /proc/self/status");
    p.getOutputStream().close();
    List<String> lines = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    assertThat(p.waitFor()).isZero();
    assertThat(lines.get(0)).isEqualTo(p.pid() + " " + p.pid() + " " + p.pid());
    assertThat(Integer.parseInt(lines.get(1).strip())).as("descriptors 0, 1 and 2 only").isEqualTo(3);
    // glibc leaves its two internal real-time signals (32, 33) ignored; the standard ones are reset.
    assertThat(lines.subList(2, 4)).containsExactly("SigBlk:\t0000000000000000", "SigIgn:\t0000000180000000");
  }

  @Test
  void outputIsReadWhileTheChildStillRuns() throws Exception {
    Process p = sh("echo first; sleep 30");
    p.getOutputStream().close();
    var line = new java.util.concurrent.CompletableFuture<String>();
    // A platform thread, as the worker's readers: a virtual one would pin its carrier meanwhile.
    Thread.ofPlatform().start(() -> {
      try {
        byte[] buffer = new byte[64];
        int n = p.getInputStream().read(buffer);
        line.complete(new String(buffer, 0, n, StandardCharsets.UTF_8));
      } catch (IOException e) {
        line.completeExceptionally(e);
      }
    });
    assertThat(line.get(10, TimeUnit.SECONDS)).isEqualTo("first\n");
    p.destroy();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
  }

  @Test
  void aSignalledChildReportsOneHundredTwentyEightPlusTheSignal() throws Exception {
    Process p = sh("sleep 30");
    p.getOutputStream().close();
    assertThat(p.waitFor(200, TimeUnit.MILLISECONDS)).isFalse();
    assertThat(p.isAlive()).isTrue();
    p.destroy();
    assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).isEqualTo(128 + 15);
    assertThat(p.onExit().get(1, TimeUnit.SECONDS)).isSameAs(p);
  }

  @Test
  void aProgramThatCannotBeExecutedIsAnIOExceptionSayingWhy() throws IOException {
    Path notExecutable = Files.writeString(dir.resolve("plain.txt"), "hello");
    assertThatThrownBy(() -> spawner.spawn(notExecutable, List.of("plain.txt"), ENV, null))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("Permission denied");
    assertThatThrownBy(() -> spawner.spawn(dir.resolve("missing"), List.of("missing"), ENV, null))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("No such file");
  }

  @Test
  void aScriptWithoutAShebangLineRunsWithShAsExecvpWouldRunIt() throws Exception {
    Path script = Files.writeString(dir.resolve("noshebang"), "echo \"no shebang: $1\"\n");
    script.toFile().setExecutable(true);
    Process p = spawner.spawn(script, List.of("noshebang", "arg"), ENV, null);
    p.getOutputStream().close();
    assertThat(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("no shebang: arg\n");
    assertThat(p.waitFor()).isZero();
  }

  @Test
  void failedSpawnsLeakNoDescriptorsAndCloseNoneTwice() throws Exception {
    Path notExecutable = Files.writeString(dir.resolve("plain.txt"), "hello");
    // A descriptor opened after the pipes would reuse a number closed twice by mistake.
    try (var keep = Files.newInputStream(notExecutable)) {
      long before = openDescriptors();
      for (int i = 0; i < 50; i++) {
        assertThatThrownBy(() -> spawner.spawn(notExecutable, List.of("plain.txt"), ENV, null))
            .isInstanceOf(IOException.class);
      }
      assertThat(openDescriptors()).isEqualTo(before);
      assertThat(keep.read()).isEqualTo('h');
    }
  }

  @Test
  void manySpawnsLeakNoDescriptors() throws Exception {
    long before = openDescriptors();
    for (int i = 0; i < 200; i++) {
      Process p = spawner.spawn(Path.of("/bin/true"), List.of("true"), ENV, null);
      p.getOutputStream().close();
      p.getInputStream().close();
      p.getErrorStream().close();
      assertThat(p.waitFor()).isZero();
    }
    assertThat(openDescriptors()).isLessThanOrEqualTo(before + 5);
  }

  private static long openDescriptors() throws IOException {
    try (var list = Files.list(Path.of("/proc/self/fd"))) {
      return list.count();
    }
  }
}
