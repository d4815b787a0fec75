package io.hodei.core.job;

import java.time.Instant;

/** One entry of a job's history: the state it reached and what happened, numbered from 1. */
public record JobEvent(JobId jobId, long sequence, JobState state, Instant at, String message) {}
