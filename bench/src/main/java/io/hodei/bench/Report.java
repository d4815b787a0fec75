package io.hodei.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The output of a run. Each result is printed at once as one JSON object on a line of its own
 * ({@code {"bench":"throughput","metric":"jobs_per_s","value":812.4,"unit":"jobs/s",...}}), so that
 * a crash later in the run loses nothing already measured; the human summary (one line per
 * noteworthy result, written by the benchmark) follows at the end of the run.
 *
 * <p>Thread-safe: benchmarks may report from any thread.
 */
final class Report {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final PrintStream out;
  private final Map<String, Object> machine;
  private final List<String> summary = new ArrayList<>();

  Report(PrintStream out, Map<String, Object> machine) {
    this.out = out;
    this.machine = Map.copyOf(machine);
  }

  /**
   * One result.
   *
   * @param params what the value depends on (job count, workers, ...), printed with it
   */
  synchronized void result(String bench, String metric, double value, String unit, Map<String, ?> params) {
    Map<String, Object> line = new LinkedHashMap<>();
    line.put("bench", bench);
    line.put("metric", metric);
    line.put("value", Math.round(value * 1000.0) / 1000.0);
    line.put("unit", unit);
    line.putAll(params);
    try {
      out.println(JSON.writeValueAsString(line));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a result as JSON", e);
    }
    out.flush();
  }

  synchronized void result(String bench, String metric, double value, String unit) {
    result(bench, metric, value, unit, Map.of());
  }

  /** A line for the human summary printed at the end. */
  synchronized void summary(String bench, String line) {
    summary.add(String.format("%-13s %s", bench, line));
  }

  /** The machine's description, printed first as a JSON line of its own. */
  synchronized void header() {
    try {
      out.println(JSON.writeValueAsString(Map.of("machine", machine)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  synchronized void printSummary() {
    out.println();
    out.println("# Summary (" + machine.get("cpus") + " CPUs, " + machine.get("memory_gib") + " GiB, "
        + machine.get("java") + ")");
    for (String line : summary) {
      out.println("# " + line);
    }
    out.flush();
  }
}
