package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobEvent;
import io.hodei.api.v1.JobExecutionServiceGrpc;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.QueueJobRequest;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.WatchJobRequest;
import io.hodei.core.auth.Role;
import io.hodei.core.auth.TokenService;
import io.hodei.server.auth.UserQuotas;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One greedy user against the per-user quotas (3 waiting jobs, 2 open streams here), over real
 * gRPC with real tokens: the greedy one is refused with RESOURCE_EXHAUSTED naming the quota, while
 * another user queues, watches and lists as if the greedy one were not there. Workers never start
 * here (their command does not exist), so queued jobs stay waiting.
 */
class QuotaIT {
  @TempDir Path dir;
  TestControlPlane plane;
  Channel mallory;
  Channel bob;
  Channel admin;

  @BeforeEach
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            PoolPolicy.DEFAULT,
            ServerConfig.defaults().withPort(0).withQuotas(new UserQuotas(3, 2)),
            List.of("/nonexistent/hodei-worker"));
    var tokens = new TokenService(plane.stores.tokens(), Clock.systemUTC());
    mallory = AccessTableIT.bearer(plane.channel, tokens.issue("mallory", Role.USER, Optional.empty()).token());
    bob = AccessTableIT.bearer(plane.channel, tokens.issue("bob", Role.USER, Optional.empty()).token());
    admin = AccessTableIT.bearer(plane.channel, tokens.issue("root", Role.ADMIN, Optional.empty()).token());
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  private static String queue(Channel as, JobDefinition definition) {
    return JobExecutionServiceGrpc.newBlockingStub(as).withDeadlineAfter(30, TimeUnit.SECONDS)
        .queueJob(QueueJobRequest.newBuilder().setDefinition(definition).build()).getJobId();
  }

  @Test
  void aUserPastTheWaitingJobsQuotaIsRefusedWhileOthersQueueOn() {
    for (int i = 0; i < 3; i++) {
      queue(mallory, TestControlPlane.shell("true"));
    }

    var refused = catchThrowableOfType(StatusRuntimeException.class, () -> queue(mallory, TestControlPlane.shell("true")));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(refused.getStatus().getDescription()).startsWith("quota waiting_jobs: mallory has 3 jobs pending or scheduled");
    assertThat(queue(bob, TestControlPlane.shell("true"))).isNotBlank();
    for (int i = 0; i < 4; i++) {
      assertThat(queue(admin, TestControlPlane.shell("true"))).isNotBlank(); // admins are not held to it
    }
  }

  /** A WatchJob call kept open; its events and its end. */
  private static final class Watch implements StreamObserver<JobEvent> {
    final List<JobEvent> events = new CopyOnWriteArrayList<>();
    final AtomicReference<Throwable> ended = new AtomicReference<>();
    final Context.CancellableContext context = Context.current().withCancellation();

    Watch(Channel as, String jobId) {
      context.run(() -> JobExecutionServiceGrpc.newStub(as)
          .watchJob(WatchJobRequest.newBuilder().setJobId(jobId).setFromSequence(1).build(), this));
    }

    @Override
    public void onNext(JobEvent value) {
      events.add(value);
    }

    @Override
    public void onError(Throwable t) {
      ended.set(t);
    }

    @Override
    public void onCompleted() {
      ended.set(new IllegalStateException("completed"));
    }

    void cancel() {
      context.cancel(null);
    }
  }

  @Test
  void aUserPastTheStreamsQuotaIsRefusedAtOnceWhileOthersWatchOn() {
    String malloryJob = queue(mallory, TestControlPlane.shell("true"));
    String bobJob = queue(bob, TestControlPlane.shell("true"));
    var first = new Watch(mallory, malloryJob);
    var second = new Watch(mallory, malloryJob);
    await().until(() -> !first.events.isEmpty() && !second.events.isEmpty());

    var third = new Watch(mallory, malloryJob);
    await().until(() -> third.ended.get() != null);
    var bobs = new Watch(bob, bobJob);
    await().until(() -> !bobs.events.isEmpty());

    assertThat(Status.fromThrowable(third.ended.get()).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(Status.fromThrowable(third.ended.get()).getDescription()).startsWith("quota streams: at most 2");
    assertThat(third.events).isEmpty();
    assertThat(first.ended.get()).isNull();
    assertThat(bobs.ended.get()).isNull();

    first.cancel();
    // The server learns of the cancel a moment later: a new stream gets the place once it has.
    var again = new AtomicReference<Watch>();
    await("a closed stream frees its place").atMost(java.time.Duration.ofSeconds(10)).until(() -> {
      var w = new Watch(mallory, malloryJob);
      await().until(() -> !w.events.isEmpty() || w.ended.get() != null);
      again.set(w);
      return w.ended.get() == null;
    });
    List.of(second, again.get(), bobs).forEach(Watch::cancel);
  }

  @Test
  void aListingOfHugeJobsComesInPagesOfBoundedBytesThatTogetherHoldEveryJob() {
    List<String> queued = new ArrayList<>();
    String big = "#".repeat(900 * 1024);
    for (int i = 0; i < 5; i++) {
      queued.add(queue(admin, JobDefinition.newBuilder()
          .setCommand(CommandSpec.newBuilder().setScript(ScriptCommand.newBuilder().setInterpreter("sh").setContent(big + i)))
          .build()));
    }

    var seen = new HashSet<String>();
    String token = "";
    int pages = 0;
    do {
      var page = JobExecutionServiceGrpc.newBlockingStub(admin).withDeadlineAfter(30, TimeUnit.SECONDS)
          .listJobs(ListJobsRequest.newBuilder().setPageSize(100).setPageToken(token).build());
      assertThat(page.getSerializedSize()).isLessThan(4 << 20);
      page.getJobsList().forEach(j -> assertThat(seen.add(j.getJobId())).as("no job twice").isTrue());
      token = page.getNextPageToken();
      pages++;
    } while (!token.isEmpty());

    assertThat(seen).containsExactlyInAnyOrderElementsOf(queued);
    assertThat(pages).isGreaterThanOrEqualTo(3);
  }
}
