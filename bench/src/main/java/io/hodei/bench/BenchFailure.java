package io.hodei.bench;

/** The system under test misbehaved (a job failed or was lost, output went missing): not a number worth reporting. */
final class BenchFailure extends RuntimeException {
  BenchFailure(String message) {
    super(message);
  }
}
