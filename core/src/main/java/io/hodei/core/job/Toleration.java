package io.hodei.core.job;

import io.hodei.core.worker.TaintEffect;

/** Lets a job run on a worker carrying a matching taint. {@code exists} matches any value. */
public record Toleration(String key, String value, boolean exists, TaintEffect effect) {}
