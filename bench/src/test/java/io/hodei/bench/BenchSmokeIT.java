package io.hodei.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@code ./bench/run.sh --quick} as a smoke run: every benchmark runs its real code path on small
 * sizes against real processes, exits 0 (so no job was lost and no line went missing: the
 * benchmarks fail on that), and prints well-formed JSON results. No number is asserted beyond
 * being positive where a rate is reported: timing belongs to the full run.
 */
class BenchSmokeIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyBenchmarkRunsQuicklyAndReportsJsonResults() throws Exception {
    Path root = Path.of("..").toAbsolutePath().normalize();
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream original = System.out;
    int exit;
    try (PrintStream out = new PrintStream(captured, true, StandardCharsets.UTF_8)) {
      System.setOut(out);
      exit = BenchMain.run(new String[] {"--quick", "--root", root.toString()});
    } finally {
      System.setOut(original);
    }
    String output = captured.toString(StandardCharsets.UTF_8);
    original.println(output);
    assertThat(exit).as(output).isZero();

    List<JsonNode> results = new ArrayList<>();
    for (String line : output.lines().toList()) {
      if (line.startsWith("{")) {
        JsonNode node = JSON.readTree(line);
        if (node.has("bench")) {
          results.add(node);
        }
      }
    }
    Set<String> benches = results.stream().map(n -> n.get("bench").asText()).collect(Collectors.toSet());
    assertThat(benches).containsExactlyInAnyOrder("throughput", "latency", "logs", "scale", "provisioning");
    for (JsonNode result : results) {
      assertThat(result.has("metric") && result.has("value") && result.has("unit")).as(result.toString()).isTrue();
    }
    assertThat(results)
        .filteredOn(n -> n.get("metric").asText().equals("jobs_per_s"))
        .isNotEmpty()
        .allSatisfy(n -> assertThat(n.get("value").asDouble()).isPositive());
    assertThat(output).contains("# Summary");
  }
}
