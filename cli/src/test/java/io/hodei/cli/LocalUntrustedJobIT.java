package io.hodei.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.hodei.api.v1.JobState;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;

import java.util.List;

/**
 * {@link UntrustedJobIT} on the local provider: {@code hodei dev}'s workers are its child
 * processes. The OTP cases are here alone: what they check is the control plane's, whichever
 * provider started the worker, and they get a real OTP the way only a local worker allows (off
 * its stdin pipe, frozen before it reads it).
 */
class LocalUntrustedJobIT extends UntrustedJobIT {
  /**
   * The OTP of a starting worker, presented with another worker id (once, as a job holding it
   * would), is refused and not used up: the worker still registers with it and runs a job.
   */
  @Test
  void anOtpPresentedForAnotherWorkerIdIsRefusedAndItsWorkerStillRegisters() throws Exception {
    Stolen stolen = stealNextWorkersBootstrap();
    try {
      var refused = register("w-" + UUID.randomUUID(), stolen.otp(), Optional.empty());
      // RESOURCE_EXHAUSTED when earlier failures filled the global ceiling: refused unchecked.
      assertThat(refused).isIn(Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED, Status.Code.RESOURCE_EXHAUSTED);
    } finally {
      stolen.giveBack();
    }
    var victim = awaitFinal(stolen.jobId(), alice);
    assertThat(victim.state()).as(victim.toString()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(victim.job().getWorkerId()).isEqualTo(stolen.workerId());
  }

  /**
   * A worker that never registered vanishes (SIGKILL while frozen); its job runs on a new worker,
   * and the dead worker's OTP, presented for its own id, is refused.
   */
  @Test
  void anOtpIsRefusedOnceItsWorkerIsDestroyed() throws Exception {
    Stolen stolen = stealNextWorkersBootstrap();
    signal("KILL", stolen.pid());
    await("the frozen worker is gone")
        .atMost(Duration.ofSeconds(20))
        .until(() -> ProcessHandle.of(stolen.pid()).filter(ProcessHandle::isAlive).isEmpty());
    var victim = awaitFinal(stolen.jobId(), alice);
    assertThat(victim.state()).as("the job runs on another worker: %s", victim).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(victim.job().getWorkerId()).isNotEqualTo(stolen.workerId());
    // RESOURCE_EXHAUSTED only above the global ceiling (other tests' failures within the minute),
    // and only for an id with no outstanding OTP: refused unchecked because the OTP is gone.
    assertThat(register(stolen.workerId(), stolen.otp(), Optional.empty()))
        .isIn(Status.Code.UNAUTHENTICATED, Status.Code.PERMISSION_DENIED, Status.Code.RESOURCE_EXHAUSTED);
  }

  @Override
  List<String> providerArguments() {
    return List.of();
  }

  @Override
  boolean inContainers() {
    return false;
  }
}
