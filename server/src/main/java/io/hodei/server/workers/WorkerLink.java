package io.hodei.server.workers;

import io.hodei.api.v1.ServerMessage;

/** The server's end of one attached worker stream. */
public interface WorkerLink {

  /**
   * Sends a message to the worker. Thread-safe. Returns false if the stream is already closed, in
   * which case the message was not sent.
   */
  boolean send(ServerMessage message);

  /** Closes the stream from the server side. Idempotent. */
  void close();
}
