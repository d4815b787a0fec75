package io.hodei.worker;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.Optional;

/**
 * The one place the worker builds its channel to the control plane: mTLS with the worker's identity
 * when it has one, plaintext otherwise.
 */
final class ServerChannel {
  private ServerChannel() {}

  static ManagedChannel open(ServerAddress address, Optional<WorkerIdentity> identity) {
    ChannelCredentials credentials =
        identity
            .map(WorkerIdentity::channelCredentials)
            .orElseGet(InsecureChannelCredentials::create);
    return Grpc.newChannelBuilderForAddress(address.host(), address.port(), credentials)
        .userAgent("hodei-worker")
        .build();
  }
}
