package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.AssignJobRequest;
import io.hodei.api.v1.CompleteJobRequest;
import io.hodei.api.v1.FailJobRequest;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.RegisterRequest;
import io.hodei.api.v1.StartJobRequest;
import io.hodei.api.v1.UpdateProgressRequest;
import io.hodei.api.v1.WorkerAgentServiceGrpc;
import io.hodei.api.v1.WorkerInfo;
import io.hodei.core.worker.OtpService;
import io.hodei.core.worker.WorkerId;
import io.hodei.server.provisioning.PoolPolicy;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * UC2/UC3 through the unary calls of WorkerJobService: a registered worker is assigned a job and
 * reports its start, progress and end. The provider cannot start workers here, so nothing else
 * takes the jobs.
 */
class UnaryWorkerApiIT {
  @TempDir Path dir;
  TestControlPlane plane;
  static final String WORKER = "w-unary";

  @BeforeEach
  void start() {
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            PoolPolicy.DEFAULT,
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0),
            List.of("/nonexistent/hodei-worker"));
    var otp = new OtpService(plane.stores.otps(), Clock.systemUTC(), Duration.ofMinutes(5)).issue(new WorkerId(WORKER));
    WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
        .register(
            RegisterRequest.newBuilder()
                .setAuthToken(otp.token())
                .setWorkerInfo(WorkerInfo.newBuilder().setWorkerId(WORKER).setName(WORKER))
                .build());
  }

  @AfterEach
  void stop() {
    plane.close();
  }

  private String assign(String jobId) {
    return plane.workerJobs().assignJob(AssignJobRequest.newBuilder().setJobId(jobId).setWorkerId(WORKER).build()).getExecutionId();
  }

  private Status.Code refusal(Runnable call) {
    return catchThrowableOfType(StatusRuntimeException.class, call::run).getStatus().getCode();
  }

  @Test
  void aWorkerAssignedAJobStartsItReportsProgressAndCompletesIt() {
    String job = plane.queue(TestControlPlane.shell("make", "all"));
    String execution = assign(job);
    assertThat(plane.get(job).getState()).isEqualTo(JobState.JOB_STATE_SCHEDULED);

    plane.workerJobs().startJob(StartJobRequest.newBuilder().setExecutionId(execution).build());
    plane.workerJobs().updateProgress(
        UpdateProgressRequest.newBuilder().setExecutionId(execution).setProgressPercentage(40).setMessage("compiling").build());
    var halfway = plane.get(job);
    plane.workerJobs().completeJob(CompleteJobRequest.newBuilder().setExecutionId(execution).build());

    assertThat(halfway.getState()).isEqualTo(JobState.JOB_STATE_RUNNING);
    assertThat(halfway.getProgressPercentage()).isEqualTo(40);
    assertThat(halfway.getProgressMessage()).isEqualTo("compiling");
    var done = plane.get(job);
    assertThat(done.getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(done.getAttempts(0).getWorkerId()).isEqualTo(WORKER);
  }

  @Test
  void aFailedJobKeepsTheReportedExitCodeAndError() {
    String job = plane.queue(TestControlPlane.shell("make", "test"));
    String execution = assign(job);
    plane.workerJobs().startJob(StartJobRequest.newBuilder().setExecutionId(execution).build());

    plane.workerJobs().failJob(FailJobRequest.newBuilder().setExecutionId(execution).setExitCode(2).setErrorMessage("3 tests failed").build());

    var done = plane.get(job);
    assertThat(done.getState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(done.getExitCode()).isEqualTo(2);
    assertThat(done.getErrorMessage()).isEqualTo("3 tests failed");
  }

  @Test
  void staleAndUnknownExecutionsAreRefusedAsFailedPrecondition() {
    String job = plane.queue(TestControlPlane.shell("true"));
    String execution = assign(job);
    plane.workerJobs().completeJob(CompleteJobRequest.newBuilder().setExecutionId(execution).build());

    assertThat(refusal(() -> plane.workerJobs().startJob(StartJobRequest.newBuilder().setExecutionId(execution).build())))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(refusal(() -> plane.workerJobs().updateProgress(
            UpdateProgressRequest.newBuilder().setExecutionId(execution).setProgressPercentage(50).build())))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(refusal(() -> plane.workerJobs().startJob(StartJobRequest.newBuilder().setExecutionId("no-such-execution").build())))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(refusal(() -> plane.workerJobs().assignJob(AssignJobRequest.newBuilder().setJobId(job).setWorkerId(WORKER).build())))
        .isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(refusal(() -> plane.workerJobs().completeJob(CompleteJobRequest.newBuilder().setExecutionId(execution).setExitCode(3).build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void theUnaryCallsAreNoLongerServedUnderJobExecutionService() {
    var old =
        io.grpc.MethodDescriptor.newBuilder(
                io.grpc.protobuf.ProtoUtils.marshaller(AssignJobRequest.getDefaultInstance()),
                io.grpc.protobuf.ProtoUtils.marshaller(io.hodei.api.v1.AssignJobResponse.getDefaultInstance()))
            .setType(io.grpc.MethodDescriptor.MethodType.UNARY)
            .setFullMethodName("hodei.v1.JobExecutionService/AssignJob")
            .build();
    String job = plane.queue(TestControlPlane.shell("true"));

    assertThat(refusal(() -> io.grpc.stub.ClientCalls.blockingUnaryCall(
            plane.channel, old, io.grpc.CallOptions.DEFAULT.withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS),
            AssignJobRequest.newBuilder().setJobId(job).setWorkerId(WORKER).build())))
        .isEqualTo(Status.Code.UNIMPLEMENTED);
    assertThat(plane.get(job).getState()).isEqualTo(JobState.JOB_STATE_PENDING);
  }
}
