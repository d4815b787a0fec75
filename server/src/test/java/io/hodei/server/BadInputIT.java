package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobConstraints;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.LabelRequirement;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ResourceSpec;
import io.hodei.api.v1.ScheduleJobRequest;
import io.hodei.api.v1.SchedulerServiceGrpc;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.Toleration;
import io.hodei.server.api.GrpcErrors;
import io.hodei.server.provisioning.PoolPolicy;
import io.hodei.server.provisioning.Provisioner;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every kind of bad input a client in another language could send, over real gRPC to a real
 * server (one pool whose workers offer 2 cpus, 1 GiB and no gpu): each is refused with the code
 * that fits, the field in the description and in the {@code hodei-field} trailer, nothing is
 * stored, and the server goes on serving (a good job is queued after every refusal).
 */
class BadInputIT {
  @TempDir static Path dir;
  static TestControlPlane plane;

  @BeforeAll
  static void start() {
    var profile =
        new Provisioner.WorkerProfile(
            java.util.Set.of("shell", "script"), Map.of(), List.of(), new io.hodei.core.job.Resources(2, 1L << 30, 0, 0));
    plane =
        new TestControlPlane(
            dir,
            Clock.systemUTC(),
            new PoolPolicy(1, Duration.ofMinutes(2), Duration.ofSeconds(60)),
            ServerConfig.defaults().withAnonymousRole(io.hodei.core.auth.Role.ADMIN).withPort(0),
            List.of(),
            profile);
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  private static final JobDefinition GOOD = TestControlPlane.shell("true");

  static Stream<Arguments> cases() {
    return Stream.of(
        bad("cpu NaN", d -> d.setResources(ResourceSpec.newBuilder().setCpuCores(Double.NaN)), Status.Code.INVALID_ARGUMENT,
            "definition.resources.cpu_cores", "finite"),
        bad("cpu Infinity", d -> d.setResources(ResourceSpec.newBuilder().setCpuCores(Double.POSITIVE_INFINITY)),
            Status.Code.INVALID_ARGUMENT, "definition.resources.cpu_cores", "finite"),
        bad("cpu 1e12", d -> d.setResources(ResourceSpec.newBuilder().setCpuCores(1e12)), Status.Code.FAILED_PRECONDITION,
            "definition.resources.cpu_cores", "at most 2 cores"),
        bad("memory at int64 max", d -> d.setResources(ResourceSpec.newBuilder().setMemoryBytes(Long.MAX_VALUE)),
            Status.Code.FAILED_PRECONDITION, "definition.resources.memory_bytes", "at most 1073741824 bytes"),
        bad("gpu 2^31-1", d -> d.setResources(ResourceSpec.newBuilder().setGpu(Integer.MAX_VALUE)), Status.Code.FAILED_PRECONDITION,
            "definition.resources.gpu", "at most 0 gpu"),
        bad("negative memory", d -> d.setResources(ResourceSpec.newBuilder().setMemoryBytes(-1)), Status.Code.INVALID_ARGUMENT,
            "definition.resources.memory_bytes", "negative"),
        bad("log_policy 99", d -> d.setLogPolicyValue(99), Status.Code.INVALID_ARGUMENT, "definition.log_policy", "unknown value 99"),
        bad("selector operator 42",
            d -> d.setConstraints(JobConstraints.newBuilder().addLabelSelector(LabelRequirement.newBuilder().setKey("zone").setOperatorValue(42))),
            Status.Code.INVALID_ARGUMENT, "definition.constraints.label_selector.operator", "unknown value 42"),
        bad("toleration effect 42",
            d -> d.setConstraints(JobConstraints.newBuilder().addTolerations(Toleration.newBuilder().setKey("gpu").setEffectValue(42))),
            Status.Code.INVALID_ARGUMENT, "definition.constraints.tolerations.effect", "unknown value 42"),
        bad("a 5 MiB script",
            d -> d.setCommand(CommandSpec.newBuilder().setScript(ScriptCommand.newBuilder().setInterpreter("sh").setContent("#".repeat(5 << 20)))),
            Status.Code.INVALID_ARGUMENT, "definition.command.script.content", "at most 1048576"),
        bad("100,000 environment variables", d -> {
              for (int i = 0; i < 100_000; i++) {
                d.putEnv("V" + i, "x");
              }
              return d;
            }, Status.Code.INVALID_ARGUMENT, "definition.env", "at most 1000 variables"),
        bad("one environment value of 1 MiB", d -> d.putEnv("BIG", "x".repeat(1 << 20)), Status.Code.INVALID_ARGUMENT,
            "definition.env", "at most 262144"),
        bad("100,000 labels", d -> {
              for (int i = 0; i < 100_000; i++) {
                d.putLabels("l" + i, "x");
              }
              return d;
            }, Status.Code.INVALID_ARGUMENT, "definition.labels", "at most 64 labels"),
        bad("priority 10^9", d -> d.setConstraints(JobConstraints.newBuilder().setPriority(1_000_000_000)), Status.Code.INVALID_ARGUMENT,
            "definition.constraints.priority", "between -1000 and 1000"),
        bad("a timeout of a year", d -> d.setTimeout(com.google.protobuf.Duration.newBuilder().setSeconds(365L * 86400)),
            Status.Code.INVALID_ARGUMENT, "definition.timeout", "at most 30 days"));
  }

  private static Arguments bad(
      String name, UnaryOperator<JobDefinition.Builder> change, Status.Code code, String field, String says) {
    return Arguments.of(name, change.apply(GOOD.toBuilder()).build(), code, field, says);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void isRefusedNamingItsFieldAndTheServerGoesOn(String name, JobDefinition definition, Status.Code code, String field, String says) {
    int before = stored();

    var refused = catchThrowableOfType(StatusRuntimeException.class, () -> plane.queue(definition));

    assertThat(refused).as(name).isNotNull();
    assertThat(refused.getStatus().getCode()).as(refused.getStatus().toString()).isEqualTo(code);
    assertThat(refused.getStatus().getDescription()).startsWith(field + ":").contains(says);
    assertThat(refused.getTrailers().get(GrpcErrors.FIELD)).isEqualTo(field);
    assertThat(stored()).as("nothing stored").isEqualTo(before);
    assertThat(plane.queue(GOOD)).as("the server still queues a good job").isNotBlank();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void aDryRunRefusesTheSameInput(String name, JobDefinition definition, Status.Code code, String field, String says) {
    if (code == Status.Code.FAILED_PRECONDITION) {
      return; // a dry run explains why nothing fits instead; see SchedulingIT
    }
    var refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> SchedulerServiceGrpc.newBlockingStub(plane.channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .scheduleJob(ScheduleJobRequest.newBuilder().setDefinition(definition).build()));

    assertThat(refused).as(name).isNotNull();
    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(refused.getTrailers().get(GrpcErrors.FIELD)).isEqualTo(field);
  }

  @Test
  void anUnknownStateInAListingIsNamedByItsNumber() {
    var refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> plane.jobs().listJobs(ListJobsRequest.newBuilder().addStatesValue(99).build()));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(refused.getStatus().getDescription()).contains("unknown state 99").doesNotContain("UNRECOGNIZED");
    assertThat(refused.getTrailers().get(GrpcErrors.FIELD)).isEqualTo("states");
  }

  @ParameterizedTest(name = "worker id {0}")
  @org.junit.jupiter.params.provider.ValueSource(strings = {"1 MiB", "newline", "space"})
  void aRegistrationWithAWorkerIdNoLogCouldHoldIsRefusedBeforeAnythingIsLogged(String kind) {
    String id = switch (kind) {
      case "1 MiB" -> "w".repeat(1 << 20);
      case "newline" -> "w-1\n12:00:00 INFO forged line";
      default -> "w 1";
    };
    var refused =
        catchThrowableOfType(StatusRuntimeException.class, () -> io.hodei.api.v1.WorkerAgentServiceGrpc.newBlockingStub(plane.channel)
            .withDeadlineAfter(30, TimeUnit.SECONDS)
            .register(io.hodei.api.v1.RegisterRequest.newBuilder()
                .setAuthToken("not-an-otp")
                .setWorkerInfo(io.hodei.api.v1.WorkerInfo.newBuilder().setWorkerId(id))
                .build()));

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(refused.getTrailers().get(GrpcErrors.FIELD)).isEqualTo("worker_info.worker_id");
    assertThat(refused.getStatus().getDescription()).hasSizeLessThan(300);
    assertThat(plane.queue(GOOD)).isNotBlank();
  }

  @Test
  void whatAPoolCouldHoldOnceItsWorkersAreFreeIsQueued() {
    var fits = GOOD.toBuilder().setResources(ResourceSpec.newBuilder().setCpuCores(2).setMemoryBytes(1L << 30)).build();

    assertThat(plane.queue(fits)).isNotBlank();
  }

  private static int stored() {
    return plane.jobs().listJobs(ListJobsRequest.newBuilder().setPageSize(1000).build()).getJobsCount();
  }
}
