package io.hodei.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.InvalidSpecException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JobSpecValidatorTest {

  private static String fieldOf(JobSpec spec) {
    try {
      JobSpecValidator.validate(spec);
    } catch (InvalidSpecException e) {
      return e.field();
    }
    return "<valid>";
  }

  @Test
  void aShellCommandWithArgumentsIsValid() {
    assertThat(fieldOf(JobSpec.of("x", new CommandSpec.Shell("echo", List.of("a", "b")))))
        .isEqualTo("<valid>");
  }

  @Test
  void eachBadFieldIsNamed() {
    assertThat(fieldOf(JobSpec.of("x", null))).isEqualTo("definition.command");
    assertThat(fieldOf(JobSpec.of("x", new CommandSpec.Shell(" ", List.of()))))
        .isEqualTo("definition.command.shell.cmd");
    assertThat(fieldOf(JobSpec.of("x", new CommandSpec.Script("cobol", "x"))))
        .isEqualTo("definition.command.script.interpreter");
    assertThat(fieldOf(JobSpec.of("x", new CommandSpec.Script("bash", ""))))
        .isEqualTo("definition.command.script.content");
    JobSpec echo = JobSpec.of("x", new CommandSpec.Shell("echo", List.of()));
    assertThat(fieldOf(echo.withTimeout(Duration.ofSeconds(-1)))).isEqualTo("definition.timeout");
    assertThat(fieldOf(echo.withEnv(Map.of("1BAD", "v")))).isEqualTo("definition.env");
    assertThat(fieldOf(JobSpec.of("n".repeat(256), echo.command()))).isEqualTo("definition.name");
  }

  @Test
  void anUnknownInterpreterListsTheKnownOnes() {
    assertThatThrownBy(
            () -> JobSpecValidator.validate(JobSpec.of("x", new CommandSpec.Script("cobol", "x"))))
        .hasMessageContaining("unknown interpreter 'cobol'")
        .hasMessageContaining("python3");
  }

  @Test
  void secretsNeedValidNamesAndValuesLongEnoughToRedact() {
    assertThat(JobSpecValidator.validateSecrets(Map.of("API_TOKEN", "12345678"))).hasSize(1);
    assertThatThrownBy(() -> JobSpecValidator.validateSecrets(Map.of("PIN", "1234567")))
        .isInstanceOfSatisfying(InvalidSpecException.class, e -> assertThat(e.field()).isEqualTo("definition.secrets.PIN"))
        .hasMessageContaining("7 characters")
        .hasMessageNotContaining("1234567");
    assertThatThrownBy(() -> JobSpecValidator.validateSecrets(Map.of("1BAD", "long enough value")))
        .hasMessageContaining("'1BAD' is not a valid secret name");
    assertThatThrownBy(() -> JobSpecValidator.validateSecrets(Map.of("BIG", "x".repeat(JobSpecValidator.MAX_SECRET_BYTES + 1))))
        .hasMessageContaining("larger than 64 KiB");
    var many = new java.util.HashMap<String, String>();
    for (int i = 0; i < 5; i++) {
      many.put("S" + i, "x".repeat(20_000));
    }
    assertThatThrownBy(() -> JobSpecValidator.validateSecrets(many)).hasMessageContaining("at most 64 KiB per job");
    // Characters, not bytes: eight non-ASCII characters are enough.
    assertThat(JobSpecValidator.validateSecrets(Map.of("UNICODE", "ñññññññ€"))).hasSize(1);
  }

  @Test
  void theAdminsLimitsApplyAtTheirBoundaryAndNotBelowIt() {
    var limits = SpecLimits.DEFAULTS.withScriptBytes(10).withEnvVars(2).withLabels(1).withMaxPriority(5);
    JobSpec ten = JobSpec.of("x", new CommandSpec.Script("sh", "é".repeat(5)));
    JobSpec eleven = JobSpec.of("x", new CommandSpec.Script("sh", "é".repeat(5) + "!"));

    assertThat(JobSpecValidator.validate(ten, limits)).isSameAs(ten);
    assertThatThrownBy(() -> JobSpecValidator.validate(eleven, limits))
        .hasMessage("definition.command.script.content: has 11 bytes; at most 10");
    JobSpec shell = JobSpec.of("x", new CommandSpec.Shell("echo", List.of("12345", "6")));
    assertThatThrownBy(() -> JobSpecValidator.validate(shell, limits))
        .hasMessage("definition.command.shell: the command and its arguments have 12 bytes; at most 10");
    JobSpec echo = JobSpec.of("x", new CommandSpec.Shell("echo", List.of()));
    assertThat(JobSpecValidator.validate(echo.withEnv(Map.of("A", "1", "B", "2")), limits)).isNotNull();
    assertThatThrownBy(() -> JobSpecValidator.validate(echo.withEnv(Map.of("A", "1", "B", "2", "C", "3")), limits))
        .hasMessage("definition.env: at most 2 variables per job, got 3");
    assertThatThrownBy(() -> JobSpecValidator.validate(echo.withLabels(Map.of("a", "1", "b", "2")), limits))
        .hasMessage("definition.labels: at most 1 labels per job, got 2");
    assertThat(JobSpecValidator.validate(echo.withConstraints(Constraints.NONE.withPriority(-5)), limits)).isNotNull();
    assertThatThrownBy(() -> JobSpecValidator.validate(echo.withConstraints(Constraints.NONE.withPriority(6)), limits))
        .hasMessage("definition.constraints.priority: must be between -5 and 5, got 6");
  }

  @Test
  void numbersMustBeFinite() {
    JobSpec echo = JobSpec.of("x", new CommandSpec.Shell("echo", List.of()));
    for (double cpu : new double[] {Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}) {
      assertThatThrownBy(() -> JobSpecValidator.validate(echo.withResources(new Resources(cpu, 0, 0, 0))))
          .hasMessage("definition.resources.cpu_cores: must be a finite number, got " + cpu);
    }
  }

  @Test
  void limitsThatContradictThemselvesAreRefused() {
    assertThatThrownBy(() -> new SpecLimits(4 << 20, 1, 1, 1, 1, 1, 2 << 20, 0)).hasMessageContaining("must not exceed the whole spec's");
    assertThatThrownBy(() -> SpecLimits.DEFAULTS.withEnvVars(0)).hasMessageContaining("must be positive");
    assertThat(SpecLimits.DEFAULTS.transportBytes()).isGreaterThan(SpecLimits.DEFAULTS.specBytes() * 4);
  }
}
