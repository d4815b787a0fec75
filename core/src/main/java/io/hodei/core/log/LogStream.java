package io.hodei.core.log;

/** Which output of the process a line came from. */
public enum LogStream {
  STDOUT,
  STDERR
}
