package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.ForwardingClientCallListener;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import io.hodei.api.v1.GetJobRequest;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.RenewCertificateRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.security.CertificateKind;
import io.hodei.security.PemFiles;
import io.hodei.security.Pki;
import io.hodei.security.TlsFiles;
import io.hodei.server.provisioning.PoolPolicy;
import java.math.BigInteger;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control plane serving mTLS on a real socket: real handshakes, real certificates on disk. */
class MutualTlsIT {
  @TempDir Path tmp;
  Path tls;
  Pki pki;
  TestControlPlane plane;
  int port;

  @BeforeEach
  void start() {
    tls = tmp.resolve("tls");
    pki = Pki.init(tls, List.of(), false);
    var config =
        ServerConfig.defaults()
            .withPort(0)
            .withTls(new ServerTls(tls, Duration.ofMillis(100), Duration.ofHours(1)));
    plane = new TestControlPlane(tmp, Clock.systemUTC(), PoolPolicy.DEFAULT, config, List.of());
    port = plane.server.port();
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  @Test
  void aClientWithACertificateFromTheCaGetsAnAnswer() {
    var status = statusOf(() -> getJob(channel("admin")));

    // NOT_FOUND is the server's answer about the job: the handshake and the call went through.
    assertThat(status.getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void aClientWithoutACertificateIsRefused() throws Exception {
    var creds =
        TlsChannelCredentials.newBuilder().trustManager(tls.resolve("ca.crt").toFile()).build();
    var channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port, creds).build();

    assertThat(statusOf(() -> getJob(channel)).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aCertificateFromAnotherCaIsRefused() {
    var other = Pki.init(tmp.resolve("other"), List.of(), false);
    Pki.write(tls, "intruder", other.issue(CertificateKind.ADMIN, "admin", Duration.ofDays(1)));

    assertThat(statusOf(() -> getJob(channel("intruder"))).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
    await().untilAsserted(() ->
        assertThat(plane.stores.audit().list(Instant.EPOCH, Optional.of(io.hodei.core.auth.AuditEvent.Kind.TLS_HANDSHAKE_FAILED), 10))
            .anySatisfy(e -> assertThat(e.detail()).contains("CN=admin").doesNotContain("BEGIN")));
  }

  @Test
  void anExpiredCertificateIsRefused() {
    Instant now = Instant.now();
    Pki.write(
        tls,
        "old",
        pki.issue(
            CertificateKind.ADMIN,
            "old",
            now.minus(Duration.ofDays(2)),
            now.minus(Duration.ofDays(1)),
            List.of()));

    assertThat(statusOf(() -> getJob(channel("old"))).getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void aWorkerRegistersUnderTheIdItsCertificateNames() {
    pki.issueInto(tls, CertificateKind.WORKER, "w-1", Duration.ofHours(1));

    var response = register(channel("w-1"), "w-1");

    assertThat(response.getSessionId()).isNotBlank();
  }

  @Test
  void aWorkerCertificateNamingAnotherWorkerIsPermissionDenied() {
    pki.issueInto(tls, CertificateKind.WORKER, "w-1", Duration.ofHours(1));

    var status = statusOf(() -> register(channel("w-1"), "w-2"));

    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).contains("CN=w-1,OU=worker").contains("worker w-2");
  }

  @Test
  void aWorkerCertificateCannotUnregisterAnotherWorkerEvenWithItsSession() {
    pki.issueInto(tls, CertificateKind.WORKER, "w-1", Duration.ofHours(1));
    pki.issueInto(tls, CertificateKind.WORKER, "w-2", Duration.ofHours(1));
    register(channel("w-1"), "w-1");
    String session2 = register(channel("w-2"), "w-2").getSessionId();

    var denied = statusOf(() -> WorkerAgentServiceGrpc.newBlockingStub(channel("w-1")).withDeadlineAfter(10, TimeUnit.SECONDS)
        .unregister(io.hodei.api.v1.UnregisterRequest.newBuilder().setWorkerId("w-2").setSessionId(session2).build()));

    assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(denied.getDescription()).contains("worker w-1 may not unregister as worker w-2");
    assertThat(plane.stores.workers().find(new WorkerId("w-2")).orElseThrow().active()).isTrue();
  }

  @Test
  void aWorkerRenewsOnlyItsOwnCertificate() {
    var old = pki.issueInto(tls, CertificateKind.WORKER, "w-1", Duration.ofHours(1));
    register(channel("w-1"), "w-1");
    var stub =
        WorkerAgentServiceGrpc.newBlockingStub(channel("w-1"))
            .withDeadlineAfter(10, TimeUnit.SECONDS);

    var renewed =
        stub.renewCertificate(RenewCertificateRequest.newBuilder().setWorkerId("w-1").build());
    var denied =
        statusOf(
            () ->
                stub.renewCertificate(
                    RenewCertificateRequest.newBuilder().setWorkerId("w-2").build()));

    X509Certificate cert = PemFiles.certificate(renewed.getCertificatePem(), "renewed");
    assertThat(cert.getSubjectX500Principal().getName()).isEqualTo("CN=w-1,OU=worker,O=Hodei");
    assertThat(cert.getSerialNumber()).isNotEqualTo(old.certificate().getSerialNumber());
    assertThat(PemFiles.privateKey(renewed.getPrivateKeyPem(), "renewed key")).isNotNull();
    TlsFiles.checkSignedBy(cert, "renewed", pki.caCertificate(), "ca.crt");
    assertThat(denied.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(plane.stores.audit().list(Instant.EPOCH, Optional.of(io.hodei.core.auth.AuditEvent.Kind.CERTIFICATE_RENEWED), 10))
        .singleElement()
        .satisfies(e -> assertThat(e.detail()).contains("serial " + cert.getSerialNumber().toString(16)).doesNotContain("PRIVATE"));
  }

  @Test
  void aWorkerThatIsNotRegisteredCannotRenew() {
    pki.issueInto(tls, CertificateKind.WORKER, "w-gone", Duration.ofHours(1));

    var status =
        statusOf(
            () ->
                WorkerAgentServiceGrpc.newBlockingStub(channel("w-gone"))
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .renewCertificate(
                        RenewCertificateRequest.newBuilder().setWorkerId("w-gone").build()));

    assertThat(status.getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(status.getDescription()).contains("not registered");
  }

  @Test
  void aNewConnectionSeesTheServerCertificateReplacedOnDisk() {
    BigInteger before = serverSerialSeenBy(channel("admin"));
    var replacement = pki.issueServer(Pki.DEFAULT_SANS, Duration.ofDays(30));

    Pki.write(tls, "server", replacement);

    await()
        .atMost(Duration.ofSeconds(10))
        .untilAsserted(
            () ->
                assertThat(serverSerialSeenBy(channel("admin")))
                    .isEqualTo(replacement.certificate().getSerialNumber()));
    assertThat(before).isNotEqualTo(replacement.certificate().getSerialNumber());
  }

  @Test
  void theServerReportsDaysLeftOnItsCertificates() {
    assertThat(plane.server.certificateDaysLeft())
        .hasValueSatisfying(d -> assertThat(d).isBetween(363L, 365L));
    assertThat(plane.server.caDaysLeft())
        .hasValueSatisfying(d -> assertThat(d).isGreaterThan(3600L));
  }

  // ---- helpers ----

  private final List<ManagedChannel> channels = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** The two halves of issue 6 together: over real mTLS, the certificate is the caller's identity and role. */
  @Test
  void aCertificatesNameAndKindAreTheCallersIdentityAndRole() {
    for (String user : List.of("alice", "bob")) {
      Pki.write(tls, user, pki.issue(CertificateKind.USER, user, CertificateKind.USER.defaultLifetime()));
    }
    var alice = JobExecutionServiceGrpc.newBlockingStub(channel("alice")).withDeadlineAfter(10, TimeUnit.SECONDS);
    var bob = JobExecutionServiceGrpc.newBlockingStub(channel("bob")).withDeadlineAfter(10, TimeUnit.SECONDS);

    String id =
        alice
            .queueJob(io.hodei.api.v1.QueueJobRequest.newBuilder().setDefinition(TestControlPlane.shell("true")).build())
            .getJobId();

    assertThat(alice.getJob(GetJobRequest.newBuilder().setJobId(id).build()).getJob().getOwner()).isEqualTo("alice");
    assertThat(statusOf(() -> bob.getJob(GetJobRequest.newBuilder().setJobId(id).build())).getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(bob.listJobs(io.hodei.api.v1.ListJobsRequest.getDefaultInstance()).getJobsList()).isEmpty();
    assertThat(
            statusOf(
                    () ->
                        io.hodei.api.v1.SchedulerServiceGrpc.newBlockingStub(channel("alice"))
                            .withDeadlineAfter(10, TimeUnit.SECONDS)
                            .listWorkers(io.hodei.api.v1.ListWorkersRequest.getDefaultInstance()))
                .getCode())
        .isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(
            io.hodei.api.v1.SchedulerServiceGrpc.newBlockingStub(channel("admin"))
                .withDeadlineAfter(10, TimeUnit.SECONDS)
                .listWorkers(io.hodei.api.v1.ListWorkersRequest.getDefaultInstance()))
        .isNotNull();
  }

  @Test
  void certificateExpiryAndJobCountsAreServedToPrometheus() throws Exception {
    int metricsPort = plane.server.metrics().serve("127.0.0.1", 0);
    var http = java.net.http.HttpClient.newHttpClient();

    var response =
        http.send(
            java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(),
            java.net.http.HttpResponse.BodyHandlers.ofString());

    assertThat(response.statusCode()).isEqualTo(200);
    long serverDays = plane.server.certificateDaysLeft().orElseThrow();
    assertThat(serverDays).isBetween(360L, 366L);
    assertThat(response.body())
        .contains("hodei_certificate_days_left{certificate=\"server\"} " + serverDays + ".0")
        .contains("hodei_certificate_days_left{certificate=\"ca\"}")
        .contains("hodei_jobs{state=\"pending\"}")
        .contains("hodei_workers_connected");
  }

  @AfterEach
  void closeChannels() {
    channels.forEach(ManagedChannel::shutdownNow);
  }

  private ManagedChannel channel(String name) {
    try {
      var creds =
          TlsChannelCredentials.newBuilder()
              .keyManager(tls.resolve(name + ".crt").toFile(), tls.resolve(name + ".key").toFile())
              .trustManager(tls.resolve("ca.crt").toFile())
              .build();
      var channel = Grpc.newChannelBuilderForAddress("127.0.0.1", port, creds).build();
      channels.add(channel);
      return channel;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void getJob(Channel channel) {
    JobExecutionServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .getJob(GetJobRequest.newBuilder().setJobId("no-such-job").build());
  }

  private io.hodei.api.v1.RegisterResponse register(Channel channel, String workerId) {
    var otp =
        new OtpService(plane.stores.otps(), Clock.systemUTC(), OtpService.DEFAULT_TTL)
            .issue(new WorkerId(workerId));
    return WorkerAgentServiceGrpc.newBlockingStub(channel)
        .withDeadlineAfter(10, TimeUnit.SECONDS)
        .register(
            RegisterRequest.newBuilder()
                .setAuthToken(otp.token())
                .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(workerId).setName(workerId))
                .build());
  }

  private static Status statusOf(Runnable call) {
    return catchThrowableOfType(StatusRuntimeException.class, call::run).getStatus();
  }

  /** The serial number of the certificate the server presented to this client's connection. */
  private static BigInteger serverSerialSeenBy(Channel channel) {
    var seen = new AtomicReference<BigInteger>();
    ClientInterceptor capture =
        new ClientInterceptor() {
          @Override
          public <Q, R> ClientCall<Q, R> interceptCall(
              MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
            return new ForwardingClientCall.SimpleForwardingClientCall<>(
                next.newCall(method, options)) {
              @Override
              public void start(Listener<R> listener, Metadata headers) {
                super.start(
                    new ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
                        listener) {
                      @Override
                      public void onHeaders(Metadata responseHeaders) {
                        record(getAttributes());
                        super.onHeaders(responseHeaders);
                      }

                      @Override
                      public void onClose(Status status, Metadata trailers) {
                        record(getAttributes());
                        super.onClose(status, trailers);
                      }
                    },
                    headers);
              }

              private void record(io.grpc.Attributes attributes) {
                var session = attributes.get(Grpc.TRANSPORT_ATTR_SSL_SESSION);
                if (session != null) {
                  try {
                    seen.set(
                        ((X509Certificate) session.getPeerCertificates()[0]).getSerialNumber());
                  } catch (javax.net.ssl.SSLPeerUnverifiedException e) {
                    throw new AssertionError(e);
                  }
                }
              }
            };
          }
        };
    catchThrowableOfType(
        StatusRuntimeException.class,
        () -> getJob(io.grpc.ClientInterceptors.intercept(channel, capture)));
    assertThat(seen.get()).as("the TLS session's peer certificate").isNotNull();
    return seen.get();
  }
}
