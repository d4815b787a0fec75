package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.hodei.cli.WorkerLauncher.ClassCache;
import io.hodei.worker.AotTraining;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The workers' AOT class cache for real: trained by a JDK 25 from the packaged {@code hodei.jar},
 * mapped by a worker JVM, and harmless when it is corrupt or was made for other jars. The worker
 * runs are the training workload itself ({@link AotTraining}: a real agent, two jobs, against a
 * stand-in control plane), which needs no server.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkerAotCacheIT {
  @TempDir static Path tmp;
  static Path jar;
  static String java;
  static List<String> command;
  static WorkerAotCache cache;

  @BeforeAll
  static void setUp() throws IOException {
    jar = Path.of("target", "hodei.jar").toAbsolutePath();
    assumeTrue(Files.isRegularFile(jar), "needs the packaged target/hodei.jar");
    java = ProcessHandle.current().info().command().orElseThrow();
    command = WorkerLauncher.command(tmp.resolve("data"), ClassCache.AOT, false, java, jar.toString());
    String option = command.stream().filter(a -> a.startsWith("-XX:AOTCache=")).findFirst().orElseThrow();
    Path file = Path.of(option.substring("-XX:AOTCache=".length()));
    cache = WorkerAotCache.of(tmp.resolve("data"), java, options(command), jar.toString());
    assertThat(cache.file()).isEqualTo(file);
  }

  /** The JVM options the launcher put between java and -XX:AOTCache. */
  private static List<String> options(List<String> command) {
    List<String> options = new ArrayList<>();
    for (String arg : command.subList(1, command.size())) {
      if (arg.startsWith("-XX:AOTCache=")) {
        break;
      }
      options.add(arg);
    }
    return options;
  }

  @Test
  @Order(1)
  void theTrainingWritesTheCacheAtomicallyAndClearsOldOnes() throws Exception {
    Path dir = cache.file().getParent();
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("worker-0123456789abcdef.aot"), "a cache for another jar");
    Files.writeString(dir.resolve("training-1-2.aot"), "left by a crashed training run");

    assertThat(cache.train(command)).isTrue();

    assertThat(cache.ready()).isTrue();
    assertThat(Files.size(cache.file())).isGreaterThan(1 << 20);
    try (var files = Files.list(dir)) {
      assertThat(files.map(f -> f.getFileName().toString()))
          .containsExactlyInAnyOrder(cache.file().getFileName().toString(), "training.lock", "training.log");
    }
  }

  @Test
  @Order(2)
  void aWorkerMapsTheCache() throws Exception {
    List<String> argv = new ArrayList<>(command);
    argv.add(argv.indexOf("-Xlog:aot=off,cds=off") + 1, "-Xlog:aot=info");
    Run run = runWorker(argv);
    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains("Using AOT-linked classes: true").contains("worker stopped: COMPLETED");
  }

  @Test
  @Order(3)
  void aCacheMadeForOtherJarsIsIgnoredQuietly() throws Exception {
    Path otherJar = tmp.resolve("other/hodei.jar");
    Files.createDirectories(otherJar.getParent());
    Files.copy(jar, otherJar, StandardCopyOption.REPLACE_EXISTING);
    Files.setLastModifiedTime(otherJar, FileTime.from(Instant.now().plusSeconds(3600)));
    // The same classes from another place: the copy's manifest class path (lib/) does not resolve
    // there, so the libraries are named one by one.
    List<String> classPath = new ArrayList<>(List.of(otherJar.toString()));
    try (var libs = Files.list(jar.resolveSibling("lib"))) {
      libs.map(Path::toString).sorted().forEach(classPath::add);
    }
    List<String> argv = new ArrayList<>(command);
    argv.set(argv.indexOf("-cp") + 1, String.join(File.pathSeparator, classPath));
    Run run = runWorker(argv);
    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains("worker stopped: COMPLETED").doesNotContain("[aot]").doesNotContain("[cds]");
  }

  @Test
  @Order(4)
  void aCorruptCacheIsIgnoredQuietly() throws Exception {
    byte[] garbage = new byte[64 * 1024];
    new java.util.Random(7).nextBytes(garbage);
    Files.write(cache.file(), garbage);
    Run run = runWorker(command);
    assertThat(run.exit()).as(run.output()).isZero();
    assertThat(run.output()).contains("worker stopped: COMPLETED").doesNotContain("[aot]").doesNotContain("[cds]");
  }

  record Run(int exit, String output) {}

  /** The worker JVM of {@code argv}, running the training workload (it needs no server). */
  private static Run runWorker(List<String> argv) throws Exception {
    Path out = Files.createTempFile(tmp, "worker", ".log");
    ProcessBuilder builder = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(out.toFile());
    builder.environment().put(AotTraining.ENV, "1");
    Process process = builder.start();
    if (!process.waitFor(3, TimeUnit.MINUTES)) {
      process.destroyForcibly();
      throw new AssertionError("the worker did not finish: " + Files.readString(out));
    }
    return new Run(process.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
  }
}
