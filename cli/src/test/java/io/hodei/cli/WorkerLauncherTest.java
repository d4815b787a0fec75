package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.cli.WorkerLauncher.ClassCache;
import io.hodei.worker.WorkerMain;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerLauncherTest {
  @TempDir Path tmp;

  private Path jar(String name) throws IOException {
    Path jar = tmp.resolve(name);
    Files.write(jar, new byte[] {1, 2, 3});
    return jar;
  }

  @Test
  void aWorkerMapsTheAotCacheOfItsDataDirectoryAndStartsWorkerMainDirectly() throws IOException {
    Path data = tmp.resolve("data");
    List<String> command = WorkerLauncher.command(data, ClassCache.AOT, false, "/jdk/bin/java", jar("a.jar").toString());

    assertThat(command.getFirst()).isEqualTo("/jdk/bin/java");
    assertThat(command).contains("-XX:+UseSerialGC", "-XX:-UsePerfData", "-Xlog:aot=off,cds=off", "-Dhodei.log.level=INFO");
    assertThat(command.stream().filter(a -> a.startsWith("-XX:AOTCache=")))
        .singleElement()
        .satisfies(a -> assertThat(a).startsWith("-XX:AOTCache=" + data.resolve("worker-aot").resolve("worker-")).endsWith(".aot"));
    assertThat(command).noneMatch(a -> a.startsWith("-XX:AOTMode") || a.contains("SharedArchive"));
    assertThat(command.subList(command.size() - 2, command.size())).containsExactly(WorkerMain.class.getName(), "worker");
    assertThat(data).doesNotExist(); // nothing written without training
  }

  @Test
  void theCdsAndNoCacheModesKeepTheirFlags() throws IOException {
    Path data = tmp.resolve("data");
    String cp = jar("a.jar").toString();
    assertThat(WorkerLauncher.command(data, ClassCache.CDS, false, "java", cp))
        .contains("-XX:+AutoCreateSharedArchive", "-XX:SharedArchiveFile=" + data.resolve("worker-cds.jsa"))
        .noneMatch(a -> a.startsWith("-XX:AOT"));
    assertThat(WorkerLauncher.command(data, ClassCache.NONE, false, "java", cp))
        .noneMatch(a -> a.startsWith("-XX:AOT") || a.contains("SharedArchive"));
  }

  @Test
  void aChangedJarOrJdkMeansAnotherCacheFileNeverAStaleOne() throws IOException {
    Path data = tmp.resolve("data");
    Path jar = jar("a.jar");
    List<String> options = List.of("-XX:+UseSerialGC");
    Path before = WorkerAotCache.of(data, "java", options, jar.toString()).file();

    assertThat(WorkerAotCache.of(data, "java", options, jar.toString()).file()).isEqualTo(before);
    Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(60)));
    Path rebuilt = WorkerAotCache.of(data, "java", options, jar.toString()).file();
    assertThat(rebuilt).isNotEqualTo(before);
    assertThat(WorkerAotCache.of(data, "/other/jdk/bin/java", options, jar.toString()).file()).isNotEqualTo(rebuilt);
    assertThat(WorkerAotCache.of(data, "java", List.of("-XX:+UseG1GC"), jar.toString()).file()).isNotEqualTo(rebuilt);
  }

  @Test
  void theTrainingCommandIsTheWorkersWithTheOutputOptionInsteadOfTheCache() {
    List<String> command = List.of("java", "-Xmx1m", "-XX:AOTCache=/d/worker-1.aot", "-cp", "x.jar", "Main");
    assertThat(WorkerAotCache.withOutput(command, Path.of("/d/training-2.aot")))
        .containsExactly("java", "-Xmx1m", "-XX:AOTCacheOutput=/d/training-2.aot", "-cp", "x.jar", "Main");
    assertThatThrownBy(() -> WorkerAotCache.withOutput(List.of("java", "Main"), Path.of("/x")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aDataDirectoryThatCannotBeWrittenMeansNoCacheNotAFailure() throws Exception {
    Path notADirectory = Files.writeString(tmp.resolve("file"), "x");
    Path data = notADirectory.resolve("data"); // even root cannot create a directory under a file
    String cp = jar("a.jar").toString();
    var cache = WorkerAotCache.of(data, "java", List.of(), cp);

    assertThatThrownBy(() -> cache.train(List.of("java", "-XX:AOTCache=" + cache.file(), "Main")))
        .isInstanceOf(FileSystemException.class);
    // The launcher still hands out a command (training fails in the background, logged).
    assertThat(WorkerLauncher.command(data, ClassCache.AOT, true, "java", cp)).isNotEmpty();
    assertThat(cache.ready()).isFalse();
  }

  @Test
  void whileAnotherProcessOrThreadTrainsNothingIsStarted() throws Exception {
    Path data = tmp.resolve("data");
    var cache = WorkerAotCache.of(data, "java", List.of(), jar("a.jar").toString());
    Files.createDirectories(data.resolve("worker-aot"));
    try (var channel =
            FileChannel.open(data.resolve("worker-aot/training.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        var lock = channel.lock()) {
      // A command that would fail loudly if it ran.
      assertThat(cache.train(List.of("/nonexistent/java", "-XX:AOTCache=" + cache.file(), "Main"))).isFalse();
    }
    assertThat(cache.ready()).isFalse();
  }

  @Test
  void aCacheInPlaceIsNotTrainedAgain() throws Exception {
    Path data = tmp.resolve("data");
    var cache = WorkerAotCache.of(data, "java", List.of(), jar("a.jar").toString());
    Files.createDirectories(cache.file().getParent());
    Files.write(cache.file(), new byte[] {0});
    assertThat(cache.train(List.of("/nonexistent/java", "-XX:AOTCache=" + cache.file(), "Main"))).isTrue();
  }

  @Test
  void aTrainingRunThatFailsLeavesNoCacheAndNoLeftovers() throws Exception {
    Path data = tmp.resolve("data");
    var cache = WorkerAotCache.of(data, "java", List.of(), jar("a.jar").toString());
    assertThat(cache.train(List.of("false", "-XX:AOTCache=" + cache.file()))).isFalse();
    assertThat(cache.ready()).isFalse();
    try (var files = Files.list(data.resolve("worker-aot"))) {
      assertThat(files.map(f -> f.getFileName().toString())).containsExactlyInAnyOrder("training.lock", "training.log");
    }
  }
}
