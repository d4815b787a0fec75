package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The settings table of docs/configuration.md against the code: the flags picocli knows for {@code
 * hodei dev} and {@code hodei server}, their defaults, and the keys {@link HodeiConfig} reads. A
 * flag or key added without a row, or a row left for one removed, fails here.
 */
class ConfigurationTableTest {
  private static final Path DOC = Path.of("../docs/configuration.md");
  private static final String HEADER = "| flag | environment variable | YAML key | default | meaning |";
  private static final String NONE = "—";

  @TempDir Path dir;

  /** One row of the table, its cells without the backticks around a whole cell's code. */
  record Row(String flag, String env, String yamlKey, String defaultValue, String meaning) {}

  @Test
  void everyFlagOfDevAndServerHasARowAndEveryRowsFlagIsOne() throws IOException {
    var documented = documented(Row::flag, row -> true);

    var flags = new TreeSet<>(options("dev").keySet());
    flags.addAll(options("server").keySet());
    assertThat(documented).as("the table's flags, against those of hodei dev and hodei server").isEqualTo(flags);
  }

  @Test
  void theRowsMarkedServerOnlyAreTheFlagsOnlyServerTakes() throws IOException {
    var serverOnly = new TreeSet<>(options("server").keySet());
    serverOnly.removeAll(options("dev").keySet());

    var marked = documented(Row::flag, row -> row.meaning().startsWith("*server only*"));

    assertThat(marked).isNotEmpty().isEqualTo(serverOnly);
  }

  @Test
  void eachFlagsRowGivesTheDefaultPicocliHasForIt() throws IOException {
    var options = options("server");
    for (Row row : rows()) {
      OptionSpec option = options.get(row.flag());
      if (option != null && option.defaultValue() != null) {
        assertThat(row.defaultValue()).as(row.flag()).isEqualTo(option.defaultValue());
      }
    }
  }

  @Test
  void everyKeyOfTheConfigurationFileHasARowAndEveryRowsKeyIsOne() throws IOException {
    var documented = documented(Row::yamlKey, row -> true);

    var read = new TreeSet<String>();
    read.addAll(keys("server.", HodeiConfig.Server.class));
    read.addAll(keys("database.", HodeiConfig.Database.class));
    read.addAll(keys("providers.NAME.", HodeiConfig.Provider.class));
    assertThat(documented).as("the table's YAML keys, against those HodeiConfig reads").isEqualTo(read);
  }

  @Test
  void theExampleFileIsOneHodeiTakes() throws IOException {
    String doc = Files.readString(DOC);
    int start = doc.indexOf("```yaml\n") + "```yaml\n".length();
    Path example = Files.writeString(dir.resolve("example.yaml"), doc.substring(start, doc.indexOf("```", start)));

    var config = HodeiConfig.load(example);

    assertThat(config.providers()).containsKeys("local", "eu", "containers");
    assertThat(config.database().url()).isNotBlank();
  }

  /** One column of the rows that {@code which} picks, without the "—" of a setting it lacks. */
  private static TreeSet<String> documented(Function<Row, String> column, Predicate<Row> which) throws IOException {
    return rows().stream().filter(which).map(column).filter(c -> !c.equals(NONE)).collect(Collectors.toCollection(TreeSet::new));
  }

  /** The rows of the table that follows {@link #HEADER}. */
  private static List<Row> rows() throws IOException {
    List<String> lines = Files.readAllLines(DOC);
    int header = lines.indexOf(HEADER);
    assertThat(header).as("the settings table's header in " + DOC).isNotNegative();
    List<Row> rows =
        lines.stream()
            .skip(header + 2)
            .takeWhile(l -> l.startsWith("|"))
            .map(ConfigurationTableTest::row)
            .toList();
    assertThat(rows).isNotEmpty();
    return rows;
  }

  private static Row row(String line) {
    String[] cells = line.substring(1, line.length() - 1).split("\\|", -1);
    assertThat(cells).as(line).hasSize(5);
    var c = Arrays.stream(cells).map(String::strip).map(ConfigurationTableTest::unquoted).toList();
    // The flag cell is the flag and its parameter label: `--port PORT`.
    return new Row(c.get(0).split(" ")[0], c.get(1), c.get(2), c.get(3), c.get(4));
  }

  private static String unquoted(String cell) {
    return cell.length() > 1 && cell.startsWith("`") && cell.endsWith("`") && cell.indexOf('`', 1) == cell.length() - 1
        ? cell.substring(1, cell.length() - 1)
        : cell;
  }

  /** The options of {@code hodei <command>} by long name, without --help and --version. */
  private static Map<String, OptionSpec> options(String command) {
    return HodeiCli.commandLine().getSubcommands().get(command).getCommandSpec().options().stream()
        .filter(o -> !o.usageHelp() && !o.versionHelp())
        .collect(Collectors.toMap(OptionSpec::longestName, Function.identity()));
  }

  /** The keys a section of the file takes: its record's components, as the file spells them. */
  private static List<String> keys(String prefix, Class<? extends Record> section) {
    var kebab = new PropertyNamingStrategies.KebabCaseStrategy();
    return Stream.of(section.getRecordComponents()).map(c -> prefix + kebab.translate(c.getName())).toList();
  }
}
