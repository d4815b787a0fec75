package io.hodei.cli;

import io.hodei.worker.WorkerMain;
import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The command line that starts a local worker: this JVM's java and class path, {@link
 * WorkerMain}, with what makes a worker JVM start fast.
 *
 * <p>Class data: by default an ahead-of-time class cache ({@link WorkerAotCache}), trained once
 * in the background per data directory, JDK and jars. The system property {@value #CLASS_CACHE}
 * ({@code -Dhodei.worker.class-cache=...} in {@code HODEI_JAVA_OPTS}) picks another: {@code cds},
 * a dynamic class-data archive that the first worker writes at its exit (what workers had before
 * the AOT cache), or {@code none}, the JDK's own archive only. Kept for measuring and as a way out.
 */
final class WorkerLauncher {
  static final String CLASS_CACHE = "hodei.worker.class-cache";
  static final String MAIN = "hodei.worker.main";
  static final String JAVA_OPTIONS = "hodei.worker.java-options";

  /** How the class data of worker JVMs is cached. */
  enum ClassCache {
    AOT,
    CDS,
    NONE;

    static ClassCache fromProperty() {
      String value = System.getProperty(CLASS_CACHE, "aot").strip().toUpperCase(Locale.ROOT);
      try {
        return valueOf(value);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "-D" + CLASS_CACHE + " must be aot, cds or none, not " + System.getProperty(CLASS_CACHE));
      }
    }
  }

  private WorkerLauncher() {}

  /** The worker command for {@code dataDir}; with the AOT cache, starts its training if it is missing. */
  static List<String> command(Path dataDir) {
    ClassCache mode = ClassCache.fromProperty();
    if (mode == ClassCache.AOT && !WorkerAotCache.supported()) {
      mode = ClassCache.CDS;
    }
    return command(dataDir, mode, true);
  }

  static List<String> command(Path dataDir, ClassCache mode, boolean train) {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    String classPath =
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
            .filter(entry -> !entry.isBlank())
            .map(entry -> Path.of(entry).toAbsolutePath().toString())
            .collect(Collectors.joining(File.pathSeparator));
    return command(dataDir, mode, train, java, classPath);
  }

  /** The command with this {@code java} binary and class path. */
  static List<String> command(Path dataDir, ClassCache mode, boolean train, String java, String classPath) {
    // A worker is small and long-lived but mostly idle: a small heap and the serial GC; no
    // hsperfdata file (nobody attaches jstat to a worker, and it costs a file per start); native
    // access granted to Netty's epoll transport, which would otherwise warn on every start.
    List<String> options =
        new ArrayList<>(List.of("-XX:+UseSerialGC", "-Xmx256m", "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED"));
    // -Dhodei.worker.java-options="..." adds options (for measuring; they are part of the cache's key).
    String extra = System.getProperty(JAVA_OPTIONS, "").strip();
    if (!extra.isEmpty()) {
      options.addAll(List.of(extra.split("\\s+")));
    }
    List<String> command = new ArrayList<>();
    command.add(java);
    command.addAll(options);
    WorkerAotCache aot = null;
    switch (mode) {
      case AOT -> {
        aot = WorkerAotCache.of(dataDir, java, options, classPath);
        // AOTMode stays auto: a missing, stale or corrupt cache is ignored, quietly.
        command.add("-XX:AOTCache=" + aot.file());
        command.add("-Xlog:aot=off,cds=off");
      }
      case CDS -> {
        command.add("-XX:+AutoCreateSharedArchive");
        command.add("-XX:SharedArchiveFile=" + dataDir.resolve("worker-cds.jsa"));
        command.add("-Xlog:cds=off,cds+dynamic=off");
      }
      case NONE -> {}
    }
    command.add("-Dhodei.log.level=INFO");
    command.add("-cp");
    command.add(classPath);
    // WorkerMain itself, not `hodei worker`: see its class comment. The argument is for ps.
    // -Dhodei.worker.main=cli goes through the CLI as before, for measuring the difference.
    boolean viaCli = "cli".equals(System.getProperty(MAIN));
    command.add(viaCli ? HodeiCli.class.getName() : WorkerMain.class.getName());
    command.add("worker");
    if (aot != null && train) {
      aot.trainInBackground(List.copyOf(command));
    }
    return List.copyOf(command);
  }
}
