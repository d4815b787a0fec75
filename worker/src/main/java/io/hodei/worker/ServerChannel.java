package io.hodei.worker;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;

/**
 * The one place the worker builds its channel to the control plane, so that transport security
 * can be added here without touching anything else. Plaintext for now.
 */
final class ServerChannel {
  private ServerChannel() {}

  static ManagedChannel open(ServerAddress address) {
    return Grpc.newChannelBuilderForAddress(
            address.host(), address.port(), InsecureChannelCredentials.create())
        .userAgent("hodei-worker")
        .build();
  }
}
