package io.hodei.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code ./bench/run.sh [--quick] [NAME...]}: runs the named benchmarks (all of them by default)
 * in order, each against fresh processes and a fresh data directory under {@code
 * bench/target/runs/}. Exit code 0 when every benchmark ran, 1 when one failed (the others still
 * run), 64 for bad arguments.
 */
public final class BenchMain {
  private BenchMain() {}

  static List<Benchmark> all() {
    return List.of(
        new ThroughputBench(), new LatencyBench(), new LogsBench(), new ScaleBench(), new ProvisioningBench());
  }

  public static void main(String[] args) throws Exception {
    System.exit(run(args));
  }

  static int run(String[] args) throws IOException {
    boolean quick = false;
    Path root = Path.of("").toAbsolutePath();
    List<String> names = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--quick" -> quick = true;
        case "--root" -> {
          if (i + 1 >= args.length) {
            return usage("--root needs a directory");
          }
          root = Path.of(args[++i]).toAbsolutePath();
        }
        case "-h", "--help" -> {
          usage(null);
          return 0;
        }
        default -> {
          if (args[i].startsWith("-")) {
            return usage("unknown option " + args[i]);
          }
          names.add(args[i]);
        }
      }
    }
    Map<String, Benchmark> known = new LinkedHashMap<>();
    all().forEach(b -> known.put(b.name(), b));
    List<Benchmark> chosen = new ArrayList<>();
    for (String name : names) {
      Benchmark b = known.get(name);
      if (b == null) {
        return usage("unknown benchmark '" + name + "'; known: " + String.join(", ", known.keySet()));
      }
      chosen.add(b);
    }
    if (chosen.isEmpty()) {
      chosen.addAll(known.values());
    }
    Report report = new Report(System.out, machine(quick));
    report.header();
    Path runs = root.resolve("bench/target/runs");
    Files.createDirectories(runs);
    int failures = 0;
    for (Benchmark benchmark : chosen) {
      Path workDir = Files.createTempDirectory(runs, benchmark.name() + "-");
      System.err.println("bench: " + benchmark.name() + (quick ? " (quick)" : "") + ", work in " + workDir);
      try {
        benchmark.run(new BenchContext(root, quick, workDir, report));
      } catch (Exception e) {
        failures++;
        report.summary(benchmark.name(), "FAILED: " + e.getMessage());
        System.err.println("bench: " + benchmark.name() + " failed");
        e.printStackTrace();
      }
    }
    report.printSummary();
    return failures == 0 ? 0 : 1;
  }

  private static int usage(String problem) {
    if (problem != null) {
      System.err.println("bench: " + problem);
    }
    System.err.println("usage: ./bench/run.sh [--quick] [NAME...]");
    for (Benchmark b : all()) {
      System.err.printf("  %-13s %s%n", b.name(), b.description());
    }
    return problem == null ? 0 : 64;
  }

  private static Map<String, Object> machine(boolean quick) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("cpus", Runtime.getRuntime().availableProcessors());
    long memory = 0;
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          memory = Long.parseLong(line.replaceAll("\\D", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Reported as 0: the machine line is informative only.
    }
    m.put("memory_gib", Math.round(memory / (1024.0 * 1024 * 1024)));
    m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"));
    m.put("java", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"));
    m.put("quick", quick);
    m.put("started_at", java.time.Instant.now().toString());
    return m;
  }
}
