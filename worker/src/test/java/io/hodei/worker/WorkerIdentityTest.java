package io.hodei.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RegisterResponse;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.security.CertificateKind;
import io.hodei.security.PemFiles;
import io.hodei.security.Pki;
import io.hodei.security.ReloadingTls;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's TLS identity against a real mTLS server on a real socket: the server answers each
 * Register with the serial number of the client certificate it saw on that connection.
 */
class WorkerIdentityTest {
  @TempDir Path dir;
  Pki pki;
  ReloadingTls serverTls;
  Server server;
  final java.util.List<AutoCloseable> closing = new java.util.ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    pki = Pki.init(dir, List.of(), false);
    serverTls = ReloadingTls.forServer(dir, Duration.ofSeconds(10), Duration.ofHours(1));
    var service =
        new WorkerAgentServiceGrpc.WorkerAgentServiceImplBase() {
          @Override
          public void register(RegisterRequest request, StreamObserver<RegisterResponse> response) {
            response.onNext(RegisterResponse.newBuilder().setSessionId(PEER_SERIAL.get()).build());
            response.onCompleted();
          }
        };
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0), serverTls.serverCredentials())
            .addService(ServerInterceptors.intercept(service, peerSerial()))
            .build()
            .start();
  }

  @AfterEach
  void stop() throws Exception {
    for (AutoCloseable c : closing) {
      c.close();
    }
    server.shutdownNow();
    serverTls.close();
  }

  @Test
  void aRenewedIdentityIsPresentedOnTheNextConnection() {
    var first = pki.issue(CertificateKind.WORKER, "w-1", Duration.ofHours(1));
    var identity =
        WorkerIdentity.load(
            new WorkerTls.Pem(
                PemFiles.toPemText(pki.caCertificate()), first.certificatePem(), first.keyPem()));
    assertThat(serialSeenByServer(identity)).isEqualTo(first.certificate().getSerialNumber());

    var second = pki.issue(CertificateKind.WORKER, "w-1", Duration.ofHours(24));
    identity.replace(second.certificatePem(), second.keyPem());

    assertThat(serialSeenByServer(identity)).isEqualTo(second.certificate().getSerialNumber());
    assertThat(identity.current().getSerialNumber())
        .isEqualTo(second.certificate().getSerialNumber());
  }

  @Test
  void fileMaterialIsReloadedWhenTheFilesAreReplaced() {
    var first = pki.issueInto(dir, CertificateKind.WORKER, "w-1", Duration.ofHours(1));
    var identity =
        WorkerIdentity.load(
            new WorkerTls.Files(
                dir.resolve("ca.crt"), dir.resolve("w-1.crt"), dir.resolve("w-1.key")),
            Duration.ofMillis(100));
    closing.add(identity);
    assertThat(serialSeenByServer(identity)).isEqualTo(first.certificate().getSerialNumber());

    var second = pki.issueInto(dir, CertificateKind.WORKER, "w-1", Duration.ofHours(24));

    await()
        .atMost(Duration.ofSeconds(10))
        .until(() -> serialSeenByServer(identity).equals(second.certificate().getSerialNumber()));
  }

  @Test
  void renewalIsDueTwoThirdsIntoTheLifetime() {
    var issued = pki.issue(CertificateKind.WORKER, "w-1", Duration.ofHours(24));
    var identity =
        WorkerIdentity.load(
            new WorkerTls.Pem(
                PemFiles.toPemText(pki.caCertificate()), issued.certificatePem(), issued.keyPem()));
    X509Certificate cert = issued.certificate();

    assertThat(identity.renewAt())
        .isEqualTo(
            cert.getNotBefore()
                .toInstant()
                .plus(
                    Duration.between(
                            cert.getNotBefore().toInstant(), cert.getNotAfter().toInstant())
                        .multipliedBy(2)
                        .dividedBy(3)));
    assertThat(identity.renewable()).isTrue();
  }

  /** One Register over a new connection; the server's answer is the serial it saw. */
  private BigInteger serialSeenByServer(WorkerIdentity identity) {
    ManagedChannel channel =
        ServerChannel.open(List.of(new ServerAddress("localhost", server.getPort())), Optional.of(identity)).channel();
    try {
      String serial =
          WorkerAgentServiceGrpc.newBlockingStub(channel)
              .withDeadlineAfter(10, TimeUnit.SECONDS)
              .register(RegisterRequest.getDefaultInstance())
              .getSessionId();
      return new BigInteger(serial, 16);
    } finally {
      channel.shutdownNow();
    }
  }

  private static final io.grpc.Context.Key<String> PEER_SERIAL = io.grpc.Context.key("peer-serial");

  private static ServerInterceptor peerSerial() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        try {
          var leaf =
              (X509Certificate)
                  call.getAttributes()
                      .get(Grpc.TRANSPORT_ATTR_SSL_SESSION)
                      .getPeerCertificates()[0];
          return Contexts.interceptCall(
              io.grpc.Context.current().withValue(PEER_SERIAL, leaf.getSerialNumber().toString(16)),
              call,
              headers,
              next);
        } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
          throw new AssertionError(e);
        }
      }
    };
  }
}
