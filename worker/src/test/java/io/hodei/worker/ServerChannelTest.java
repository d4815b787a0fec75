package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The worker's channel over several replicas: real gRPC servers on loopback, one of them stopped. */
class ServerChannelTest {
  private final List<Server> servers = new ArrayList<>();
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    servers.forEach(Server::shutdownNow);
  }

  /** A replica that answers Register with its own name as the session id. */
  private Server replica(String name) throws Exception {
    var server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(
                new WorkerAgentServiceGrpc.WorkerAgentServiceImplBase() {
                  @Override
                  public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
                    response.onNext(RegisterResponse.newBuilder().setSessionId(name).build());
                    response.onCompleted();
                  }
                })
            .build()
            .start();
    servers.add(server);
    return server;
  }

  private static ServerAddress at(Server server) {
    return new ServerAddress("127.0.0.1", server.getPort());
  }

  private String answerer(ManagedChannel channel) {
    return WorkerAgentServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .register(RegisterRequest.getDefaultInstance())
        .getSessionId();
  }

  private ManagedChannel open(List<ServerAddress> addresses) {
    return opened(addresses).channel();
  }

  private ServerChannel.Opened opened(List<ServerAddress> addresses) {
    var opened = ServerChannel.open(addresses, Optional.empty());
    channels.add(opened.channel());
    return opened;
  }

  @Test
  void theFirstReplicaThatAnswersIsUsedInTheOrderGiven() throws Exception {
    var one = replica("one");
    var two = replica("two");

    assertThat(answerer(open(List.of(at(one), at(two))))).isEqualTo("one");
    assertThat(answerer(open(List.of(at(two), at(one))))).isEqualTo("two");
  }

  @Test
  void aReplicaThatIsDownIsSkipped() throws Exception {
    int closedPort;
    try (var socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    var two = replica("two");

    assertThat(answerer(open(List.of(new ServerAddress("127.0.0.1", closedPort), at(two))))).isEqualTo("two");
  }

  @Test
  void whenItsReplicaStopsTheChannelGoesOnToTheNext() throws Exception {
    var one = replica("one");
    var two = replica("two");
    var channel = open(List.of(at(one), at(two)));
    assertThat(answerer(channel)).isEqualTo("one");

    one.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    // The first call after the connection broke may fail (that is what makes the worker attach
    // again); the next ones reach the other replica.
    String next;
    try {
      next = answerer(channel);
    } catch (io.grpc.StatusRuntimeException e) {
      next = answerer(channel);
    }
    assertThat(next).isEqualTo("two");
  }

  @Test
  void aReplicaTheWorkerWasToldOfLaterIsWhereItGoesWhenItsOwnStops() throws Exception {
    var one = replica("one");
    var opened = opened(List.of(at(one)));
    assertThat(answerer(opened.channel())).isEqualTo("one");
    var two = replica("two");

    opened.replicas().update(List.of(at(one), at(two)));
    one.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);

    String next;
    try {
      next = answerer(opened.channel());
    } catch (io.grpc.StatusRuntimeException e) {
      next = answerer(opened.channel());
    }
    assertThat(next).isEqualTo("two");
  }

  @Test
  void aListWithAnEntryThatIsNoAddressIsRefusedNamingIt() {
    assertThatThrownBy(() -> ServerAddress.parseList("127.0.0.1:1,nowhere"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("'nowhere'");
    assertThatThrownBy(() -> ServerAddress.parseList("127.0.0.1:1,,127.0.0.1:2"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("empty entry");
    assertThat(ServerAddress.parseList("a:1,[::1]:2")).containsExactly(new ServerAddress("a", 1), new ServerAddress("::1", 2));
  }
}
