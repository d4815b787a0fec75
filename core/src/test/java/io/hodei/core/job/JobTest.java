package io.hodei.core.job;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hodei.core.error.IllegalTransitionException;
import io.hodei.core.worker.WorkerId;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;

class JobTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private final WorkerId worker = new WorkerId("w-1");
  private final ExecutionId execution = new ExecutionId("e-1");
  private final Job pending =
      Job.queued(new JobId("j-1"), JobSpec.of("echo", new CommandSpec.Shell("echo", List.of("hi"))), T0);

  @Test
  void aQueuedJobIsPendingWithNoAttempt() {
    assertThat(pending.state()).isEqualTo(JobState.PENDING);
    assertThat(pending.attempts()).isZero();
    assertThat(pending.current()).isEmpty();
    assertThat(pending.waitingReason()).isNotEmpty();
  }

  @Test
  void aJobRunsThroughItsLifecycleRecordingTheAttempt() {
    Job scheduled = pending.assignTo(worker, execution, T0.plusSeconds(1));
    Job running = scheduled.start(execution, T0.plusSeconds(2));
    Job done = running.finish(execution, new Outcome.Exited(0), T0.plusSeconds(2), T0.plusSeconds(3));

    assertThat(scheduled.state()).isEqualTo(JobState.SCHEDULED);
    assertThat(scheduled.workerId()).contains(worker);
    assertThat(running.state()).isEqualTo(JobState.RUNNING);
    assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.attempts()).isEqualTo(1);
    assertThat(done.exitCode()).hasValue(0);
    assertThat(done.errorMessage()).isEmpty();
    assertThat(done.finishedAt()).contains(T0.plusSeconds(3));
    Attempt attempt = done.current().orElseThrow();
    assertThat(attempt.startedAt()).contains(T0.plusSeconds(2));
    assertThat(attempt.state()).isEqualTo(JobState.SUCCEEDED);
  }

  @Test
  void aNonZeroExitFailsTheJobWithItsCode() {
    Job done =
        pending
            .assignTo(worker, execution, T0)
            .start(execution, T0)
            .finish(execution, new Outcome.Exited(3), T0, T0);
    assertThat(done.state()).isEqualTo(JobState.FAILED);
    assertThat(done.exitCode()).hasValue(3);
    assertThat(done.errorMessage()).contains("exited with code 3");
  }

  @Test
  void aResultWithoutAStartReportImpliesTheStart() {
    Job done =
        pending.assignTo(worker, execution, T0).finish(execution, new Outcome.Exited(0), T0, T0);
    assertThat(done.state()).isEqualTo(JobState.SUCCEEDED);
    assertThat(done.current().orElseThrow().startedAt()).contains(T0);
  }

  @Test
  void aProcessThatCannotStartFailsTheJobFromScheduled() {
    Job done =
        pending
            .assignTo(worker, execution, T0)
            .finish(execution, new Outcome.FailedToStart("no such file"), T0, T0);
    assertThat(done.state()).isEqualTo(JobState.FAILED);
    assertThat(done.exitCode()).isEmpty();
    assertThat(done.errorMessage()).contains("no such file");
  }

  @Test
  void aTimeoutEndsTheJobInTimeout() {
    Job done =
        pending
            .assignTo(worker, execution, T0)
            .start(execution, T0)
            .finish(execution, new Outcome.TimedOut(), T0, T0);
    assertThat(done.state()).isEqualTo(JobState.TIMEOUT);
  }

  @Test
  void aReportFromAnotherExecutionIsRefused() {
    Job running = pending.assignTo(worker, execution, T0).start(execution, T0);
    assertThatThrownBy(
            () -> running.finish(new ExecutionId("stale"), new Outcome.Exited(0), T0, T0))
        .isInstanceOf(IllegalTransitionException.class)
        .hasMessageContaining("stale");
  }

  @Test
  void aFinishedJobCannotBeStartedAgain() {
    Job done =
        pending
            .assignTo(worker, execution, T0)
            .start(execution, T0)
            .finish(execution, new Outcome.Exited(0), T0, T0);
    assertThatThrownBy(() -> done.start(execution, T0))
        .isInstanceOf(IllegalTransitionException.class);
    assertThatThrownBy(() -> done.assignTo(worker, new ExecutionId("e-2"), T0))
        .isInstanceOf(IllegalTransitionException.class);
  }

  @Test
  void aLostDispatchReturnsTheJobToTheQueue() {
    Job back =
        pending.assignTo(worker, execution, T0).returnToQueue("worker went away", T0.plusSeconds(1));
    assertThat(back.state()).isEqualTo(JobState.PENDING);
    assertThat(back.waitingReason()).isEqualTo("worker went away");
    assertThat(back.workerId()).isEmpty();
    // The attempt is settled: it says when and why it ended, and that it never started.
    assertThat(back.current()).hasValueSatisfying(a -> {
      assertThat(a.finishedAt()).contains(T0.plusSeconds(1));
      assertThat(a.startedAt()).isEmpty();
      assertThat(a.errorMessage()).contains("never started: worker went away");
    });
    Job again = back.assignTo(worker, new ExecutionId("e-2"), T0.plusSeconds(2));
    assertThat(again.attempts()).isEqualTo(2);
  }

  private Job withRetries(int maxAttempts) {
    var spec = pending.spec();
    return Job.queued(
        pending.id(),
        new JobSpec(
            spec.name(), spec.command(), spec.env(), spec.workingDir(), spec.resources(),
            spec.constraints(), spec.timeout(),
            new RetryPolicy(maxAttempts, java.time.Duration.ofSeconds(1), 2.0, java.time.Duration.ofMinutes(1)),
            spec.labels()),
        T0);
  }

  @Test
  void cancellingAPendingJobEndsItWithoutAnAttempt() {
    Job cancelled = pending.requestCancel("not needed", "alice", T0.plusSeconds(1));
    assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
    assertThat(cancelled.attempts()).isZero();
    assertThat(cancelled.cancel()).hasValueSatisfying(c -> {
      assertThat(c.reason()).isEqualTo("not needed");
      assertThat(c.requestedBy()).isEqualTo("alice");
    });
    assertThat(cancelled.finishedAt()).contains(T0.plusSeconds(1));
  }

  @Test
  void cancellingAScheduledJobEndsItsAttemptCancelled() {
    Job cancelled = pending.assignTo(worker, execution, T0).requestCancel("stop", "bob", T0);
    assertThat(cancelled.state()).isEqualTo(JobState.CANCELLED);
    assertThat(cancelled.current().orElseThrow().state()).isEqualTo(JobState.CANCELLED);
  }

  @Test
  void cancellingARunningJobKeepsItRunningUntilItsWorkerReports() {
    Job running = pending.assignTo(worker, execution, T0).start(execution, T0);
    Job asked = running.requestCancel("stop", "bob", T0);
    assertThat(asked.state()).isEqualTo(JobState.RUNNING);
    assertThat(asked.cancel()).isPresent();
    assertThat(asked.requestCancel("again", "carol", T0)).isSameAs(asked);
    Job done = asked.finish(execution, new Outcome.Cancelled("stop"), T0, T0);
    assertThat(done.state()).isEqualTo(JobState.CANCELLED);
    assertThat(done.canRetry()).isFalse();
  }

  @Test
  void aFinalJobCannotBeCancelled() {
    Job done =
        pending.assignTo(worker, execution, T0).start(execution, T0).finish(execution, new Outcome.Exited(0), T0, T0);
    assertThatThrownBy(() -> done.requestCancel("late", "x", T0))
        .isInstanceOf(IllegalTransitionException.class)
        .hasMessageContaining("already succeeded");
  }

  @Test
  void aFailedJobIsRetriedWhileItsPolicyAllowsThenStaysFailed() {
    Job job = withRetries(2);
    Job failed =
        job.assignTo(worker, execution, T0).start(execution, T0).finish(execution, new Outcome.Exited(1), T0, T0);
    assertThat(failed.canRetry()).isTrue();
    assertThat(failed.isSettled()).isFalse();
    Job again = failed.retryAfter(T0.plusSeconds(5), T0);
    assertThat(again.state()).isEqualTo(JobState.PENDING);
    assertThat(again.notBefore()).contains(T0.plusSeconds(5));
    var second = new ExecutionId("e-2");
    Job failedTwice =
        again.assignTo(worker, second, T0).start(second, T0).finish(second, new Outcome.Exited(1), T0, T0);
    assertThat(failedTwice.attempts()).isEqualTo(2);
    assertThat(failedTwice.canRetry()).isFalse();
    assertThat(failedTwice.isSettled()).isTrue();
    assertThatThrownBy(() -> failedTwice.retryAfter(T0, T0)).isInstanceOf(IllegalTransitionException.class);
  }

  @Test
  void aLostWorkerFailsTheAttemptAndSaysSo() {
    Job lost =
        withRetries(1).assignTo(worker, execution, T0).start(execution, T0)
            .finish(execution, new Outcome.WorkerLost("worker w-1 was lost"), T0, T0);
    assertThat(lost.state()).isEqualTo(JobState.FAILED);
    assertThat(lost.errorMessage()).contains("worker w-1 was lost");
  }

  @Test
  void aManualRetryRunsAFinalJobAgainBeyondItsPolicy() {
    Job cancelled = pending.requestCancel("oops", "x", T0);
    Job again = cancelled.retryManually(T0.plusSeconds(1));
    assertThat(again.state()).isEqualTo(JobState.PENDING);
    assertThat(again.cancel()).isEmpty();
    Job done =
        pending.assignTo(worker, execution, T0).start(execution, T0).finish(execution, new Outcome.Exited(0), T0, T0);
    assertThatThrownBy(() -> done.retryManually(T0)).isInstanceOf(IllegalTransitionException.class);
  }

  @Test
  void progressIsReportedOnlyByTheRunningExecution() {
    Job running = pending.assignTo(worker, execution, T0).start(execution, T0);
    assertThat(running.reportProgress(execution, 42.5, "half", T0).progress())
        .isEqualTo(new Job.Progress(42.5, "half"));
    assertThatThrownBy(() -> running.reportProgress(new ExecutionId("other"), 1, "", T0))
        .isInstanceOf(IllegalTransitionException.class);
  }
}
