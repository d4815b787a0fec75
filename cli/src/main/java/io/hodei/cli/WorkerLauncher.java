package io.hodei.cli;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/** The command line that starts a local worker: this JVM's java and class path, {@code hodei worker}. */
final class WorkerLauncher {
  private WorkerLauncher() {}

  static List<String> command(Path dataDir) {
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
    List<String> command = new ArrayList<>();
    command.add(java);
    // A worker is small and short-lived: a small heap, serial GC, and a class-data archive that
    // the first worker writes and every later one maps, to cut JVM start time.
    command.add("-XX:+UseSerialGC");
    command.add("-Xmx256m");
    command.add("-XX:+AutoCreateSharedArchive");
    command.add("-XX:SharedArchiveFile=" + dataDir.resolve("worker-cds.jsa"));
    command.add("-Xlog:cds=off,cds+dynamic=off");
    command.add("-cp");
    command.add(classPath);
    command.add(HodeiCli.class.getName());
    command.add("worker");
    return command;
  }
}
