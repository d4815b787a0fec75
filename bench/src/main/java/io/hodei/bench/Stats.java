package io.hodei.bench;

import java.util.Arrays;

/** Percentiles of a sample, by the nearest-rank method. */
final class Stats {
  private final double[] sorted;

  Stats(double[] values) {
    if (values.length == 0) {
      throw new IllegalArgumentException("no values");
    }
    this.sorted = values.clone();
    Arrays.sort(sorted);
  }

  /** The {@code p}-th percentile, {@code 0 < p <= 100}. */
  double percentile(double p) {
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.clamp(rank - 1, 0, sorted.length - 1)];
  }

  double max() {
    return sorted[sorted.length - 1];
  }

  int count() {
    return sorted.length;
  }
}
