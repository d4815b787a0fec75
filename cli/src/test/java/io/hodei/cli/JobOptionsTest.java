package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.api.v1.SelectorOperator;
import io.hodei.api.v1.TaintEffect;
import org.junit.jupiter.api.Test;

class JobOptionsTest {

  @Test
  void selectorsCoverEqualitySetsExistenceAndAbsence() {
    var eq = JobOptions.selector("zone=eu-1a");
    var in = JobOptions.selector("zone in (a, b)");
    var notIn = JobOptions.selector("os notin (windows)");
    var exists = JobOptions.selector("gpu");
    var absent = JobOptions.selector("!spot");

    assertThat(eq.getOperator()).isEqualTo(SelectorOperator.SELECTOR_OPERATOR_EQUALS);
    assertThat(eq.getValuesList()).containsExactly("eu-1a");
    assertThat(in.getOperator()).isEqualTo(SelectorOperator.SELECTOR_OPERATOR_IN);
    assertThat(in.getValuesList()).containsExactly("a", "b");
    assertThat(notIn.getOperator()).isEqualTo(SelectorOperator.SELECTOR_OPERATOR_NOT_IN);
    assertThat(exists.getOperator()).isEqualTo(SelectorOperator.SELECTOR_OPERATOR_EXISTS);
    assertThat(absent.getOperator()).isEqualTo(SelectorOperator.SELECTOR_OPERATOR_DOES_NOT_EXIST);
    assertThat(absent.getKey()).isEqualTo("spot");
    assertThatThrownBy(() -> JobOptions.selector("zone in a,b")).hasMessageContaining("--selector");
  }

  @Test
  void tolerationsNameKeyValueAndEffect() {
    var exact = JobOptions.toleration("gpu=true:NoSchedule");
    var any = JobOptions.toleration("dedicated:PreferNoSchedule");

    assertThat(exact.getKey()).isEqualTo("gpu");
    assertThat(exact.getValue()).isEqualTo("true");
    assertThat(exact.getExists()).isFalse();
    assertThat(exact.getEffect()).isEqualTo(TaintEffect.TAINT_EFFECT_NO_SCHEDULE);
    assertThat(any.getExists()).isTrue();
    assertThat(any.getEffect()).isEqualTo(TaintEffect.TAINT_EFFECT_PREFER_NO_SCHEDULE);
    assertThatThrownBy(() -> JobOptions.toleration("gpu=true:Evict")).hasMessageContaining("NoSchedule");
  }

  @Test
  void memorySizesUnderstandBinaryAndDecimalUnits() {
    assertThat(JobOptions.bytes("512Mi", "--memory")).isEqualTo(512L << 20);
    assertThat(JobOptions.bytes("1.5Gi", "--memory")).isEqualTo(3L << 29);
    assertThat(JobOptions.bytes("2G", "--memory")).isEqualTo(2_000_000_000L);
    assertThat(JobOptions.bytes("1024", "--memory")).isEqualTo(1024L);
    assertThatThrownBy(() -> JobOptions.bytes("lots", "--memory")).hasMessageContaining("512Mi");
  }

  private static JobOptions parse(String... args) {
    var options = new JobOptions();
    new picocli.CommandLine(options).parseArgs(args);
    return options;
  }

  @Test
  void secretsComeInlineFromAFileOrFromTheEnvironment(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    var file = dir.resolve("token");
    java.nio.file.Files.writeString(file, "from-a-file-value\n");
    var options = parse("--secret", "INLINE=inline-value", "--secret", "FILE=@" + file, "--secret", "FROM_ENV", "--", "true");

    assertThat(options.secretValues(java.util.Map.of("FROM_ENV", "environment-value")))
        .containsExactly(
            java.util.Map.entry("INLINE", "inline-value"),
            java.util.Map.entry("FILE", "from-a-file-value"),
            java.util.Map.entry("FROM_ENV", "environment-value"));
    assertThatThrownBy(() -> options.secretValues(java.util.Map.of()))
        .hasMessage("--secret FROM_ENV: no environment variable FROM_ENV to take it from");
    assertThatThrownBy(() -> parse("--secret", "A=x", "--secret", "A=y", "--", "true").secretValues(java.util.Map.of()))
        .hasMessage("--secret A is given twice");
    assertThatThrownBy(() -> parse("--secret", "A=@" + dir.resolve("missing"), "--", "true").secretValues(java.util.Map.of()))
        .hasMessageStartingWith("--secret A: cannot read");
  }

  @Test
  void theLogPolicyAndTheSafetyHeaderReachTheDefinition(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
    var script = dir.resolve("job.sh");
    java.nio.file.Files.writeString(script, "echo hi\n");

    var definition = parse("--log-policy", "drop", "--no-safety-header", "--script", script.toString()).definition();

    assertThat(definition.getLogPolicy()).isEqualTo(io.hodei.api.v1.LogPolicy.LOG_POLICY_DROP);
    assertThat(definition.getCommand().getScript().getNoSafetyHeader()).isTrue();
    assertThatThrownBy(() -> parse("--log-policy", "sometimes", "--", "true").definition())
        .hasMessage("--log-policy 'sometimes': use lossless or drop");
  }
}
