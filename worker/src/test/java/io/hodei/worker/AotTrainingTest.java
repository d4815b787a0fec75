package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class AotTrainingTest {
  @Test
  void theTrainingWorkloadRunsARealAgentThroughItsJobsWithoutAServer() {
    assertThat(AotTraining.run()).isZero();
  }

  @Test
  void onlyTheVariableSetToOneAsksForTraining() {
    assertThat(AotTraining.requested(Map.of(AotTraining.ENV, "1"))).isTrue();
    assertThat(AotTraining.requested(Map.of(AotTraining.ENV, "0"))).isFalse();
    assertThat(AotTraining.requested(Map.of(AotTraining.ENV, ""))).isFalse();
    assertThat(AotTraining.requested(Map.of())).isFalse();
  }
}
