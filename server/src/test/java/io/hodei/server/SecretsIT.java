package io.hodei.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.LogStream;
import io.hodei.api.v1.RetryJobRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secrets end to end: queued over gRPC, kept encrypted in a real SQLite file, handed to a real
 * worker process on stdin, redacted from what the job prints, and gone when the job ends.
 */
class SecretsIT {
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

  @Test
  void aJobReadsItsSecretsOnStdinAndItsOutputShowsThemRedactedInEveryForm() throws Exception {
    String token = "tok-" + UUID.randomUUID();
    String printed =
        "read -r json; echo \"$json\";"
            + " t=$(echo \"$json\" | sed 's/.*\"API_TOKEN\":\"\\([^\"]*\\)\".*/\\1/');"
            + " printf 'half: %s' \"$(echo \"$t\" | cut -c1-10)\"; sleep 0.3; printf '%s\\n' \"$(echo \"$t\" | cut -c11-)\";"
            + " printf 'b64: %s\\n' \"$(printf 'user:%s' \"$t\" | base64 -w0)\";"
            + " echo \"twice $t and $t\"";
    JobDefinition definition =
        TestControlPlane.shell("sh", "-c", printed).toBuilder().putSecrets("API_TOKEN", token).build();

    String id = plane.queue(definition);
    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    List<String> out = log.text(LogStream.LOG_STREAM_STDOUT);
    assertThat(String.join("\n", out)).doesNotContain(token).doesNotContain(token.substring(10));
    assertThat(out.get(0)).isEqualTo("{\"API_TOKEN\":\"[REDACTED:API_TOKEN]\"}");
    assertThat(out.get(1)).isEqualTo("half: [REDACTED:API_TOKEN]");
    assertThat(out.get(2)).startsWith("b64: ").contains("[REDACTED:API_TOKEN]")
        .doesNotContain(Base64.getEncoder().encodeToString(("user:" + token).getBytes(StandardCharsets.UTF_8)).substring(8, 40));
    assertThat(out.get(3)).isEqualTo("twice [REDACTED:API_TOKEN] and [REDACTED:API_TOKEN]");

    var job = plane.get(id);
    assertThat(job.getDefinition().getSecretsMap()).isEqualTo(Map.of("API_TOKEN", ""));
    assertThat(job.getAttempts(0).getDeliveredSecretsList()).containsExactly("API_TOKEN");
    assertThat(filesContaining(dir, token)).as("no file of the control plane or its workers holds the value").isEmpty();
    assertThat(plane.stores.secrets().reveal(new io.hodei.core.job.JobId(id))).as("deleted once the job ended").isEmpty();
  }

  @Test
  void aSecretTooShortToRedactIsRefusedNamingItWithoutItsValue() {
    var e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> plane.queue(TestControlPlane.shell("true").toBuilder().putSecrets("PIN", "1234").build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(e.getStatus().getDescription()).startsWith("definition.secrets.PIN:").contains("at least 8").doesNotContain("1234");
  }

  @Test
  void aFinishedJobWithSecretsCannotBeRetriedWithoutThem() {
    String id = plane.queue(TestControlPlane.shell("false").toBuilder().putSecrets("API_TOKEN", "long-enough-value").build());
    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);

    var e =
        catchThrowableOfType(
            StatusRuntimeException.class,
            () -> plane.jobs().retryJob(RetryJobRequest.newBuilder().setJobId(id).build()));

    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
    assertThat(e.getStatus().getDescription()).contains("deleted when it ended").contains("--secret API_TOKEN");
  }

  @Test
  void aFinishedJobWithSecretsIsRetriedWithNewValuesWhichReachItAndNoOthers() {
    String id = plane.queue(TestControlPlane.shell("sh", "-c", "read -r json; case \"$json\" in *second-value-42*) echo got-new;; *) exit 3;; esac")
        .toBuilder().putSecrets("API_TOKEN", "first-value-long").build());
    assertThat(plane.follow(id).finalState()).isEqualTo(JobState.JOB_STATE_FAILED);

    var wrongNames = catchThrowableOfType(StatusRuntimeException.class, () -> plane.jobs().retryJob(
        RetryJobRequest.newBuilder().setJobId(id).putSecrets("OTHER", "second-value-42").build()));
    assertThat(wrongNames.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(wrongNames.getStatus().getDescription()).contains("[API_TOKEN]").doesNotContain("second-value-42");

    plane.jobs().retryJob(RetryJobRequest.newBuilder().setJobId(id).putSecrets("API_TOKEN", "second-value-42").build());

    await().untilAsserted(() -> assertThat(plane.get(id).getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED));
    assertThat(plane.follow(id).text(LogStream.LOG_STREAM_STDOUT)).contains("got-new");
  }

  private static List<Path> filesContaining(Path root, String text) throws Exception {
    String needle = text;
    try (Stream<Path> files = Files.walk(root)) {
      return files
          .filter(Files::isRegularFile)
          .filter(
              f -> {
                try {
                  return new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1).contains(needle);
                } catch (java.io.IOException e) {
                  return false;
                }
              })
          .toList();
    }
  }
}
