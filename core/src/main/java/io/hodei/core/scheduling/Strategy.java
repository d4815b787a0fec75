package io.hodei.core.scheduling;

import java.util.Arrays;
import java.util.Locale;
import java.util.Optional;

/** How the scheduler chooses among the workers that fit a job (seed UC6). */
public enum Strategy {
  /** Each fitting worker in turn. */
  ROUND_ROBIN("round-robin"),
  /** The fitting worker running the fewest jobs. */
  LEAST_CONNECTIONS("least-connections"),
  /** The fitting worker left with the least free capacity: keeps other workers empty. */
  BIN_PACK("bin-pack"),
  /** The fitting worker with the most free capacity: spreads load. */
  SPREAD("spread"),
  /** The fitting worker that matches most of the job's soft preferences, then the least busy. */
  AFFINITY("affinity");

  private final String wireName;

  Strategy(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static Optional<Strategy> parse(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT).replace('_', '-');
    return Arrays.stream(values()).filter(s -> s.wireName.equals(n)).findFirst();
  }

  public static String names() {
    return String.join(", ", Arrays.stream(values()).map(Strategy::wireName).toList());
  }
}
