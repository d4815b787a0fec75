package io.hodei.bench;

import java.nio.file.Path;

/**
 * What a benchmark runs with.
 *
 * @param root the repository root (where {@code cli/target/hodei.jar} and {@code bench/target/spawn} are)
 * @param quick a smoke run: small sizes, same code paths; its numbers are not worth recording
 * @param workDir a fresh directory for this benchmark's data directories and files
 * @param report where results go
 */
record BenchContext(Path root, boolean quick, Path workDir, Report report) {
  /** {@code full} normally, {@code quick} in a smoke run. */
  int size(int full, int quick) {
    return this.quick ? quick : full;
  }

  Path hodeiJar() {
    return root.resolve("cli/target/hodei.jar");
  }
}
