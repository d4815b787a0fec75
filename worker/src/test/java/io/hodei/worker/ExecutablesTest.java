package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExecutablesTest {
  @TempDir Path dir;

  @Test
  void aNameIsLookedUpOnThePathInOrder() throws IOException {
    Path first = Files.createDirectories(dir.resolve("first"));
    Path second = Files.createDirectories(dir.resolve("second"));
    executable(second.resolve("tool"));
    Files.writeString(first.resolve("tool"), "not executable");

    assertThat(Executables.find("tool", first + ":" + second)).contains(second.resolve("tool"));
    executable(first.resolve("tool"));
    assertThat(Executables.find("tool", first + ":" + second)).contains(first.resolve("tool"));
  }

  @Test
  void whatCantBeRunIsExplained() throws IOException {
    Files.writeString(dir.resolve("plain"), "text");

    assertThat(Executables.resolve("missing", dir.toString(), dir).problem())
        .isEqualTo("it is not on PATH");
    assertThat(Executables.resolve("plain", dir.toString(), dir).problem())
        .isEqualTo("it is on PATH but not executable");
    assertThat(Executables.resolve("./plain", "", dir).problem())
        .isEqualTo("it is not an executable file");
    assertThat(Executables.resolve("./nothing", "", dir).problem()).isEqualTo("no such file");
  }

  @Test
  void aNameWithASlashIsAPathFromTheWorkingDirectory() throws IOException {
    executable(dir.resolve("run.sh"));

    assertThat(Executables.resolve("./run.sh", "/nowhere", dir).executable())
        .contains(dir.resolve("./run.sh"));
    assertThat(Executables.resolve("run.sh", "/nowhere", dir).executable()).isEmpty();
  }

  @Test
  void setsidAndKillAreOnThisMachine() {
    assertThat(Executables.find("setsid", System.getenv("PATH"))).isPresent();
    assertThat(Executables.find("kill", System.getenv("PATH"))).isPresent();
  }

  private static void executable(Path file) throws IOException {
    Files.writeString(file, "#!/bin/sh\n");
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
  }
}
