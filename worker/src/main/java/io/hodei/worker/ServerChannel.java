package io.hodei.worker;

import io.grpc.ChannelCredentials;
import io.grpc.EquivalentAddressGroup;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.NameResolverProvider;
import io.grpc.NameResolverRegistry;
import io.grpc.StatusOr;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.List;
import java.util.Optional;

/**
 * The one place the worker builds its channel to the control plane: mTLS with the worker's identity
 * when it has one, plaintext otherwise.
 *
 * <p>Over several replicas, the channel's addresses are all of them, and gRPC's {@code pick_first}
 * connects to the first that answers, in the order given. When that replica goes, the broken
 * stream makes the worker attach again, and the channel then tries each address in order, skipping
 * the dead one: the worker reattaches to another replica without being told. A name that resolves
 * to several addresses works the same way through gRPC's own DNS resolver. TLS checks every
 * replica's certificate against the first address's host, so replicas share a name in their
 * certificates.
 */
final class ServerChannel {
  private static final String SCHEME = "hodei-replicas";

  private ServerChannel() {}

  static ManagedChannel open(List<ServerAddress> addresses, Optional<WorkerIdentity> identity) {
    ChannelCredentials credentials =
        identity
            .map(WorkerIdentity::channelCredentials)
            .orElseGet(InsecureChannelCredentials::create);
    ServerAddress first = addresses.getFirst();
    if (addresses.size() == 1) {
      return Grpc.newChannelBuilderForAddress(first.host(), first.port(), credentials)
          .userAgent("hodei-worker")
          .build();
    }
    registerOnce();
    String list = String.join(",", addresses.stream().map(ServerAddress::toString).toList());
    // Encoded: an IPv6 literal's brackets may not stand in a URI's path.
    String target = SCHEME + ":///" + java.net.URLEncoder.encode(list, java.nio.charset.StandardCharsets.UTF_8);
    return Grpc.newChannelBuilder(target, credentials)
        .overrideAuthority(first.toString())
        .userAgent("hodei-worker")
        .build();
  }

  private static boolean registered;

  private static synchronized void registerOnce() {
    if (!registered) {
      NameResolverRegistry.getDefaultRegistry().register(new Replicas());
      registered = true;
    }
  }

  /**
   * Resolves {@code hodei-replicas:///host:port,host:port} to that fixed list of replicas, each its
   * own address group, in order.
   */
  private static final class Replicas extends NameResolverProvider {
    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!SCHEME.equals(target.getScheme())) {
        return null;
      }
      List<ServerAddress> addresses = ServerAddress.parseList(target.getPath().substring(1));
      List<EquivalentAddressGroup> groups =
          addresses.stream()
              .map(a -> new EquivalentAddressGroup((SocketAddress) new InetSocketAddress(a.host(), a.port())))
              .toList();
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return addresses.getFirst().toString();
        }

        @Override
        public void start(Listener2 listener) {
          listener.onResult2(NameResolver.ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build());
        }

        @Override
        public void refresh() {
          // The list is fixed: what changes is which of its replicas answer.
        }

        @Override
        public void shutdown() {}
      };
    }

    @Override
    public String getDefaultScheme() {
      return SCHEME;
    }

    @Override
    protected boolean isAvailable() {
      return true;
    }

    @Override
    protected int priority() {
      return 5;
    }
  }
}
