package io.hodei.server;

import java.time.Duration;
import java.util.Optional;

/**
 * How the control plane runs. Everything has a default; everything is settable from code.
 *
 * @param bindHost interface the gRPC port listens on
 * @param port gRPC port; 0 picks a free one
 * @param advertisedAddress host:port that workers use to reach this server; defaults to the bound
 *     address
 * @param heartbeatInterval how often workers send heartbeats
 * @param dispatchTick longest pause of the scheduling loop when nothing wakes it
 * @param housekeepingInterval how often workers are checked for expiry and idleness
 */
public record ServerConfig(
    String bindHost,
    int port,
    Optional<String> advertisedAddress,
    Duration heartbeatInterval,
    Duration dispatchTick,
    Duration housekeepingInterval) {

  public static final int DEFAULT_PORT = 50051;

  public static ServerConfig defaults() {
    return new ServerConfig(
        "127.0.0.1",
        DEFAULT_PORT,
        Optional.empty(),
        Duration.ofSeconds(5),
        Duration.ofSeconds(1),
        Duration.ofSeconds(1));
  }

  public ServerConfig withPort(int newPort) {
    return new ServerConfig(
        bindHost, newPort, advertisedAddress, heartbeatInterval, dispatchTick, housekeepingInterval);
  }
}
