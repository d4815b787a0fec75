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
}
