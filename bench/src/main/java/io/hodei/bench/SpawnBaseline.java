package io.hodei.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * How fast this machine spawns a command in a tight loop, one at a time, measured now (so that
 * the pipeline is compared with the machine as it is during the same run). The C loop
 * ({@code bench/src/main/c/spawn.c}, compiled by {@code run.sh} when a C compiler is present)
 * is the raw limit; without it a shell loop stands in, and the result says which one ran.
 */
final class SpawnBaseline {
  /** A measured rate and what measured it: {@code c-posix_spawn} or {@code bash-loop}. */
  record Rate(double perSecond, String method) {}

  private final Path spawnBinary;

  SpawnBaseline(Path root) {
    this.spawnBinary = root.resolve("bench/target/spawn");
  }

  Rate measure(int count, List<String> command) throws IOException, InterruptedException {
    if (Files.isExecutable(spawnBinary)) {
      List<String> argv = new ArrayList<>(List.of(spawnBinary.toString(), Integer.toString(count)));
      argv.addAll(command);
      return new Rate(Double.parseDouble(run(argv).strip()), "c-posix_spawn");
    }
    String quoted = String.join(" ", command.stream().map(a -> "'" + a.replace("'", "'\\''") + "'").toList());
    String loop =
        "s=$(date +%s%N); for ((i=0;i<" + count + ";i++)); do " + quoted + " >/dev/null 2>&1; done; e=$(date +%s%N); "
            + "echo $(( " + count + " * 1000000000 / (e - s) ))";
    return new Rate(Double.parseDouble(run(List.of("bash", "-c", loop)).strip()), "bash-loop");
  }

  private static String run(List<String> argv) throws IOException, InterruptedException {
    Process process = new ProcessBuilder(argv).redirectErrorStream(true).start();
    String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (process.waitFor() != 0) {
      throw new BenchFailure("spawn baseline failed: " + out);
    }
    return out;
  }
}
