package io.hodei.core.worker;

/** Repels jobs that do not carry a matching toleration. */
public record Taint(String key, String value, TaintEffect effect) {}
