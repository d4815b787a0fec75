package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;

/**
 * The configuration file of {@code hodei dev} ({@link HodeiConfig}), as that command takes it in:
 * loaded, its durations read, its pools built ({@link DevCommand#pools}). Whatever the file
 * holds, that either works or stops with a {@link HodeiCli.UserError}, which {@code hodei}
 * prints as one line: a message of one line that names the file or the key it is about
 * ({@code providers.…}, {@code server.…}). Never another exception, which would reach the user
 * as a stack trace or as a message that does not say where the mistake is.
 *
 * <p>The properties are Jazzer fuzz tests. A plain build replays their inputs (Jazzer's regression
 * mode): each sees the empty input plus the files under {@code
 * HodeiConfigPropertiesInputs/<method>/} in the test resources, the same every run. For {@code
 * anyBytes…} (the input is the file) those are 14 hand-written files ({@code yaml-*}: the
 * documented example, tabs, an undefined alias, a list or a scalar at the top, duplicate keys,
 * an empty pool section, values of the wrong type, huge numbers, a label without a value,
 * invalid UTF-8, a NUL, a billion-laughs bomb of aliases, deep nesting) and 40 of {@code head -c
 * 256 /dev/urandom}: 55 inputs. {@code yamlOfRandomKeys…} writes YAML whose keys are known,
 * misspelt or unknown and whose values are of every type and size (in half the files; the others
 * are well formed), from 120 files of {@code head -c 256 /dev/urandom} and one {@code crash-*}
 * that fuzzing found (a block scalar where the server section belongs, quoted over several
 * lines): 122 inputs. {@code JAZZER_FUZZ=1 ./mvnw test -pl cli -am
 * -Dtest='HodeiConfigProperties#…'} fuzzes one of them instead (one fuzz test per JVM); see
 * docs/testing.md.
 */
class HodeiConfigProperties {

  private static final Path FILE;

  static {
    try {
      FILE = Files.createTempDirectory("hodei-config-properties").resolve("hodei.yaml");
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    FILE.getParent().toFile().deleteOnExit();
    FILE.toFile().deleteOnExit();
  }

  @FuzzTest
  void anyBytesAreTakenInOrRefusedNamingTheFileOrTheKey(byte[] bytes) throws IOException {
    Files.write(FILE, bytes);
    takenInOrRefusedNamingTheFileOrTheKey(() -> new String(bytes, StandardCharsets.UTF_8));
  }

  @FuzzTest
  void yamlOfRandomKeysAndValuesIsTakenInOrRefusedNamingTheFileOrTheKey(FuzzedDataProvider data)
      throws IOException {
    String yaml = yaml(data);
    Files.writeString(FILE, yaml);
    takenInOrRefusedNamingTheFileOrTheKey(() -> yaml);
  }

  private static void takenInOrRefusedNamingTheFileOrTheKey(java.util.function.Supplier<String> file) {
    try {
      HodeiConfig config = HodeiConfig.load(FILE);
      HodeiConfig.duration(config.server().heartbeatInterval(), "server.heartbeat-interval");
      HodeiConfig.duration(config.server().heartbeatTimeout(), "server.heartbeat-timeout");
      HodeiConfig.duration(config.server().killGrace(), "server.kill-grace");
      var dev = new DevCommand();
      new CommandLine(dev).parseArgs();
      dev.pools(new DevCommand.Settings(dev.spec, config, Map.of()));
    } catch (HodeiCli.UserError e) {
      String message = e.getMessage();
      try {
        assertThat(message).as("one line").doesNotContain("\n").doesNotContain("\r");
        assertThat(message.startsWith("configuration file " + FILE)
                || message.startsWith("cannot read configuration file " + FILE)
                || message.startsWith("providers.")
                || message.startsWith("server."))
            .as("names the file or the key: %s", message)
            .isTrue();
      } catch (AssertionError a) {
        throw new AssertionError("Falsified by the file\n" + file.get() + "\n" + a.getMessage(), e);
      }
    } catch (RuntimeException | StackOverflowError e) {
      throw new AssertionError("Falsified by the file\n" + file.get() + "\nnot a UserError", e);
    }
  }

  // ---- files, drawn from the fuzzer's input -------------------------------------------------

  /** Each key of the server section, with values that suit it. */
  private static final Map<String, List<String>> SERVER_KEYS =
      Map.of(
          "port", List.of("50051", "0"),
          "strategy", List.of("bin-pack", "least-connections"),
          "heartbeat-interval", List.of("5s", "1m"),
          "heartbeat-timeout", List.of("15s"),
          "kill-grace", List.of("10s", "0s"),
          "log-cap-mib", List.of("100"));

  /** Each key of a pool's section, with values that suit it. */
  private static final Map<String, List<String>> PROVIDER_KEYS =
      Map.ofEntries(
          Map.entry("type", List.of("local", "docker")),
          Map.entry("max-workers", List.of("1", "4")),
          Map.entry("min-idle", List.of("0", "2")),
          Map.entry("idle-timeout", List.of("2m", "0s")),
          Map.entry("max-lifetime", List.of("0s", "1h")),
          Map.entry("ephemeral", List.of("true", "false")),
          Map.entry("jobs-per-worker", List.of("1", "3")),
          Map.entry("labels", List.of("{zone: eu-1a}", "{}")),
          Map.entry("image", List.of("hodei-worker:dev")),
          Map.entry("docker-host", List.of("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375")),
          Map.entry("cpus", List.of("1", "0.5")),
          Map.entry("memory", List.of("512Mi", "1G")),
          Map.entry("pids-limit", List.of("512")),
          Map.entry("job-sandbox", List.of("uids", "namespaces")));

  /** Values of every YAML type and size, each wrong for some key. */
  private static final List<String> ODD_VALUES =
      List.of(
          "0", "-1", "2147483648", "9223372036854775808", "99999999999999999999999", "1e400", "-0.5",
          ".nan", ".inf", "-.inf", "0x1F", "0o17", "1_000", "yes", "null", "~", "''", "\"\"",
          "-5s", "1h30m", "soon", "PT5M", "P-1D", "9999999999999999999d", "106751991167300d", "5",
          "kubernetes", "none", "lots", "-1Gi", "1e30Ti", "\"quoted \\\" \\u0000\"", "'single'",
          "!!binary aGVsbG8=", "!!str 5", "!!int 5", "!!float x", "!!timestamp 2001-12-14", "&anchor 7", "*anchor",
          "[]", "{}", "[1, 2]", "{zone: null}", "{zone: [a]}", "{a: {b: c}}", "|\n  text\n");

  /** Whether the file being drawn has odd keys and values (one in six of its choices) or none. */
  private boolean wild;

  private String yaml(FuzzedDataProvider data) {
    wild = data.consumeBoolean();
    var yaml = new StringBuilder();
    if (data.consumeBoolean()) {
      yaml.append("server:").append(odd(data) ? " " + oddValue(data, "") + "\n" : "\n");
      for (int j = 0, m = data.consumeInt(0, 4); j < m; j++) {
        entry(data, yaml, "  ", SERVER_KEYS);
      }
    }
    if (data.consumeInt(0, 3) > 0) {
      yaml.append("providers:").append(odd(data) ? " " + oddValue(data, "") + "\n" : "\n");
      for (int j = 0, m = data.consumeInt(1, 3); j < m; j++) {
        yaml.append("  ").append(name(data)).append(":");
        int keys = data.consumeInt(0, 5);
        yaml.append(keys == 0 && odd(data) ? " " + oddValue(data, "") + "\n" : "\n");
        for (int k = 0; k < keys; k++) {
          entry(data, yaml, "    ", PROVIDER_KEYS);
        }
      }
    }
    if (odd(data)) {
      yaml.append(data.pickValue(List.of("database", "Server", "provider", "---", "- x", "#"))).append(": ")
          .append(oddValue(data, "")).append('\n');
    }
    return yaml.toString();
  }

  /** A known key with a value that suits it; sometimes (odd) a misspelt key, or an odd value. */
  private void entry(FuzzedDataProvider data, StringBuilder yaml, String indent, Map<String, List<String>> keys) {
    String key = data.pickValue(keys.keySet().stream().sorted().toList());
    String value = data.pickValue(keys.get(key));
    if (odd(data)) {
      key = data.consumeBoolean()
          ? key.replace('-', '_')
          : data.pickValue(List.of("prot", "maxWorkers", "\"max-workers\"", "'type'", "? type", "extra", "<<"));
    }
    if (odd(data)) {
      value = oddValue(data, value);
    }
    yaml.append(indent).append(key).append(": ").append(value).append('\n');
  }

  /** In a wild file, true one time in six. */
  private boolean odd(FuzzedDataProvider data) {
    return wild && data.consumeInt(0, 5) == 0;
  }

  /** An odd value: one of {@link #ODD_VALUES}, any number, or any text. */
  private static String oddValue(FuzzedDataProvider data, String ordinary) {
    return switch (data.consumeInt(0, 5)) {
      case 0 -> ordinary + data.consumeAsciiString(12).replace("\n", " ");
      case 1 -> Long.toString(data.consumeLong());
      default -> data.pickValue(ODD_VALUES);
    };
  }

  private String name(FuzzedDataProvider data) {
    return odd(data)
        ? data.pickValue(List.of("\"\"", "a b", "ü", "123", "~", "'null'", "docker"))
        : data.pickValue(List.of("local", "containers", "x"));
  }
}
