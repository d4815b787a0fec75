package io.hodei.core.job;

import static io.hodei.core.job.JobState.CANCELLED;
import static io.hodei.core.job.JobState.FAILED;
import static io.hodei.core.job.JobState.PENDING;
import static io.hodei.core.job.JobState.RUNNING;
import static io.hodei.core.job.JobState.SCHEDULED;
import static io.hodei.core.job.JobState.SUCCEEDED;
import static io.hodei.core.job.JobState.TIMEOUT;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class JobStateTest {

  /** Written out independently of the production table, so a change to either is caught. */
  private static final Set<String> LEGAL =
      Set.of(
          "PENDING->SCHEDULED",
          "PENDING->CANCELLED",
          "SCHEDULED->RUNNING",
          "SCHEDULED->PENDING",
          "SCHEDULED->FAILED",
          "SCHEDULED->CANCELLED",
          "RUNNING->SUCCEEDED",
          "RUNNING->FAILED",
          "RUNNING->CANCELLED",
          "RUNNING->TIMEOUT",
          "FAILED->PENDING",
          "TIMEOUT->PENDING",
          "CANCELLED->PENDING");

  static Stream<Arguments> everyPair() {
    return Arrays.stream(JobState.values())
        .flatMap(from -> Arrays.stream(JobState.values()).map(to -> Arguments.of(from, to)));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("everyPair")
  void everyFromToPairFollowsTheTable(JobState from, JobState to) {
    assertThat(from.canTransitionTo(to)).isEqualTo(LEGAL.contains(from + "->" + to));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("states")
  void onlySucceededFailedCancelledAndTimeoutAreFinal(JobState state) {
    assertThat(state.isFinal()).isEqualTo(Set.of(SUCCEEDED, FAILED, CANCELLED, TIMEOUT).contains(state));
    assertThat(state.isActive()).isEqualTo(state == SCHEDULED || state == RUNNING);
  }

  static Stream<JobState> states() {
    return Stream.of(PENDING, SCHEDULED, RUNNING, SUCCEEDED, FAILED, CANCELLED, TIMEOUT);
  }
}
