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
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The one place the worker builds its channel to the control plane: mTLS with the worker's identity
 * when it has one, plaintext otherwise.
 *
 * <p>The channel's addresses are every replica of the control plane ({@link Replicas}), and gRPC's
 * {@code pick_first} connects to the first that answers, in the order given. When that replica
 * goes, the broken stream makes the worker attach again, and the channel then tries each address
 * in order, skipping the dead one: the worker reattaches to another replica without being told.
 * The list starts as the worker was given it and follows what its replica says since ({@link
 * Replicas#update}). A single name that resolves to several addresses works the same way through
 * gRPC's own DNS resolver. TLS checks every replica's certificate against the first address's
 * host, so replicas share a name in their certificates.
 */
final class ServerChannel {
  private static final String SCHEME = "hodei-replicas";
  /** The lists of the channels open in this process, by the id in their target. */
  private static final Map<String, Replicas> LISTS = new ConcurrentHashMap<>();
  private static boolean registered;

  private ServerChannel() {}

  /** A channel to the control plane, and the list of replicas it connects to. */
  record Opened(ManagedChannel channel, Replicas replicas) {}

  static Opened open(List<ServerAddress> addresses, Optional<WorkerIdentity> identity) {
    ChannelCredentials credentials =
        identity
            .map(WorkerIdentity::channelCredentials)
            .orElseGet(InsecureChannelCredentials::create);
    registerOnce();
    String id = UUID.randomUUID().toString();
    var replicas = new Replicas(addresses);
    LISTS.put(id, replicas);
    var channel =
        Grpc.newChannelBuilder(SCHEME + "://" + id + "/", credentials)
            .overrideAuthority(addresses.getFirst().toString())
            .userAgent("hodei-worker")
            .build();
    return new Opened(channel, replicas);
  }

  private static synchronized void registerOnce() {
    if (!registered) {
      NameResolverRegistry.getDefaultRegistry().register(new Provider());
      registered = true;
    }
  }

  /**
   * The replicas a channel connects to, in order; {@link #update} gives the channel a new list,
   * used from its next connection attempt on.
   */
  static final class Replicas {
    private List<ServerAddress> addresses;
    private NameResolver.Listener2 listener;
    private io.grpc.SynchronizationContext context;

    Replicas(List<ServerAddress> addresses) {
      this.addresses = List.copyOf(addresses);
    }

    synchronized List<ServerAddress> addresses() {
      return addresses;
    }

    /** Replaces the list; an empty one is ignored (the worker keeps somewhere to go). */
    synchronized void update(List<ServerAddress> next) {
      if (next.isEmpty() || next.equals(addresses)) {
        return;
      }
      addresses = List.copyOf(next);
      publish();
    }

    private synchronized void start(NameResolver.Listener2 listener, io.grpc.SynchronizationContext context) {
      this.listener = listener;
      this.context = context;
      publish();
    }

    /** Hands the list to the channel, on its synchronization context as gRPC requires. */
    private void publish() {
      if (listener == null) {
        return;
      }
      var to = listener;
      List<EquivalentAddressGroup> groups =
          addresses.stream()
              .map(a -> new EquivalentAddressGroup((SocketAddress) new InetSocketAddress(a.host(), a.port())))
              .toList();
      var result = NameResolver.ResolutionResult.newBuilder().setAddressesOrError(StatusOr.fromValue(groups)).build();
      context.execute(() -> to.onResult2(result));
    }
  }

  /** Resolves {@code hodei-replicas://ID/} to the list {@link #open} keeps under that id. */
  private static final class Provider extends NameResolverProvider {
    @Override
    public NameResolver newNameResolver(URI target, NameResolver.Args args) {
      if (!SCHEME.equals(target.getScheme())) {
        return null;
      }
      Replicas replicas = LISTS.get(target.getAuthority());
      if (replicas == null) {
        return null;
      }
      return new NameResolver() {
        @Override
        public String getServiceAuthority() {
          return replicas.addresses().getFirst().toString();
        }

        @Override
        public void start(Listener2 listener) {
          replicas.start(listener, args.getSynchronizationContext());
        }

        @Override
        public void refresh() {
          // The list is what the worker was given or told: what changes is which replicas answer.
        }

        @Override
        public void shutdown() {
          LISTS.values().remove(replicas);
        }
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
