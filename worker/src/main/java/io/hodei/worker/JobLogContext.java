package io.hodei.worker;

import org.slf4j.MDC;

/**
 * Puts a job's ids into the logging context (MDC keys {@code jobId} and {@code executionId}) for
 * the current thread until closed. Only the worker's own log lines carry them: job output never
 * goes through the logger.
 */
final class JobLogContext implements AutoCloseable {
  static final String JOB_ID = "jobId";
  static final String EXECUTION_ID = "executionId";

  private JobLogContext(String jobId, String executionId) {
    MDC.put(JOB_ID, jobId);
    MDC.put(EXECUTION_ID, executionId);
  }

  static JobLogContext enter(String jobId, String executionId) {
    return new JobLogContext(jobId, executionId);
  }

  @Override
  public void close() {
    MDC.remove(JOB_ID);
    MDC.remove(EXECUTION_ID);
  }
}
