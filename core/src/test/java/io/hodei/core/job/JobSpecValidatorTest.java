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
}
