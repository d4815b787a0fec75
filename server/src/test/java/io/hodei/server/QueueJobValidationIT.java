package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Duration;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.ListJobsRequest;
import io.hodei.api.v1.ScriptCommand;
import io.hodei.api.v1.ShellCommand;
import io.hodei.server.api.GrpcErrors;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QueueJobValidationIT {
  @TempDir static Path dir;
  static TestControlPlane plane;

  @BeforeAll
  static void start() {
    plane = TestControlPlane.start(dir);
  }

  @AfterAll
  static void stop() {
    plane.close();
  }

  private StatusRuntimeException rejected(JobDefinition definition) {
    return catchThrowableOfType(StatusRuntimeException.class, () -> plane.queue(definition));
  }

  private static void assertInvalid(StatusRuntimeException e, String field) {
    assertThat(e).isNotNull();
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).startsWith(field + ":");
    assertThat(e.getTrailers().get(GrpcErrors.FIELD)).isEqualTo(field);
  }

  @Test
  void anEmptyCommandIsRejectedNamingTheField() {
    assertInvalid(
        rejected(
            JobDefinition.newBuilder()
                .setCommand(CommandSpec.newBuilder().setShell(ShellCommand.newBuilder().setCmd("")))
                .build()),
        "definition.command.shell.cmd");
    assertInvalid(rejected(JobDefinition.newBuilder().setName("nothing").build()), "definition.command");
  }

  @Test
  void aNegativeTimeoutIsRejectedNamingTheField() {
    assertInvalid(
        rejected(TestControlPlane.shell("echo", "x").toBuilder().setTimeout(Duration.newBuilder().setSeconds(-5)).build()),
        "definition.timeout");
  }

  @Test
  void anUnknownInterpreterIsRejectedNamingTheField() {
    var e =
        rejected(
            JobDefinition.newBuilder()
                .setCommand(
                    CommandSpec.newBuilder()
                        .setScript(ScriptCommand.newBuilder().setInterpreter("cobol").setContent("DISPLAY 'HI'.")))
                .build());
    assertInvalid(e, "definition.command.script.interpreter");
    assertThat(e.getStatus().getDescription()).contains("cobol");
  }

  @Test
  void rejectedJobsAreNotStoredAndTheServerStaysUp() {
    rejected(JobDefinition.newBuilder().build());
    assertThat(plane.jobs().listJobs(ListJobsRequest.getDefaultInstance()).getJobsList()).isEmpty();
  }

  @Test
  void anUnknownJobIsNotFound() {
    var e = catchThrowableOfType(StatusRuntimeException.class, () -> plane.get("no-such-job"));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
  }
}
