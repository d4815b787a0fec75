package io.hodei.bench;

/**
 * One benchmark of {@code ./bench/run.sh}. It measures real processes (a control plane, workers,
 * jobs) and reports through {@link Report}: one JSON line per result, and a line of human summary.
 * A benchmark asserts nothing about time; it fails only when the system misbehaves (a job lost,
 * a line missing), which {@link BenchFailure} reports.
 */
interface Benchmark {
  /** The name on the command line: {@code ./bench/run.sh NAME}. */
  String name();

  /** One line for {@code --help}. */
  String description();

  void run(BenchContext context) throws Exception;
}
