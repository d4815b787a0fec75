package io.hodei.core.job;

/**
 * Told about every persisted job change, after the store accepted it. Called on the thread that
 * made the change: implementations must return quickly and never throw.
 */
@FunctionalInterface
public interface JobListener {
  void jobChanged(Job job);
}
