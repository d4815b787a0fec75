package io.hodei.core.worker;

/** What a taint does to jobs that do not tolerate it. */
public enum TaintEffect {
  NO_SCHEDULE,
  PREFER_NO_SCHEDULE
}
