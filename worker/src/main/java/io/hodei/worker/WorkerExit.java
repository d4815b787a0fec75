package io.hodei.worker;

/** How a worker agent ended, and the process exit code that says so. */
public enum WorkerExit {
  /** Shut down on request (SIGTERM, {@link WorkerAgent#shutdown()}). */
  COMPLETED(0),
  /** Something unexpected, or a registration the server refused for a reason retrying won't fix. */
  FAILED(1),
  /** The server refused the one-time token, or no longer knows the worker's session. */
  AUTHENTICATION_FAILED(2),
  /** No stream to the server for longer than the reconnect deadline. */
  SERVER_UNREACHABLE(3);

  private final int code;

  WorkerExit(int code) {
    this.code = code;
  }

  public int code() {
    return code;
  }
}
