package io.hodei.server;

import static io.hodei.api.v1.LogStream.LOG_STREAM_STDERR;
import static io.hodei.api.v1.LogStream.LOG_STREAM_STDOUT;
import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.api.v1.CommandSpec;
import io.hodei.api.v1.JobDefinition;
import io.hodei.api.v1.JobState;
import io.hodei.api.v1.ScriptCommand;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Jobs end to end over real sockets, on workers the local provider starts as real processes. */
class EndToEndIT {
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
  void echoHelloSucceedsAndItsLogIsHello() {
    String id = plane.queue(TestControlPlane.shell("echo", "hello"));

    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(log.text(LOG_STREAM_STDOUT)).containsExactly("hello");
    assertThat(log.text(LOG_STREAM_STDERR)).isEmpty();
    var job = plane.get(id);
    assertThat(job.getState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(job.getExitCode()).isZero();
    assertThat(job.getAttemptsList()).singleElement().satisfies(a -> {
      assertThat(a.getWorkerId()).startsWith("w-");
      assertThat(a.hasStartedAt()).isTrue();
      assertThat(a.hasFinishedAt()).isTrue();
    });
  }

  @Test
  void aNonZeroExitFailsTheJobWithItsCodeAndKeepsEachStreamInOrder() {
    String id =
        plane.queue(
            TestControlPlane.shell(
                "sh", "-c", "echo out; echo err >&2; echo out2; echo err2 >&2; echo out3; exit 3"));

    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_FAILED);
    assertThat(log.text(LOG_STREAM_STDOUT)).containsExactly("out", "out2", "out3");
    assertThat(log.text(LOG_STREAM_STDERR)).containsExactly("err", "err2");
    assertThat(log.lines()).extracting(l -> l.getSequence()).containsExactly(0L, 1L, 2L, 3L, 4L);
    var job = plane.get(id);
    assertThat(job.getExitCode()).isEqualTo(3);
    assertThat(job.getErrorMessage()).contains("exited with code 3");
  }

  @Test
  void aScriptJobRunsWithItsInterpreterAndEnvironment() {
    var definition =
        JobDefinition.newBuilder()
            .setName("script")
            .setCommand(
                CommandSpec.newBuilder()
                    .setScript(
                        ScriptCommand.newBuilder()
                            .setInterpreter("bash")
                            .setContent("for i in 1 2 3; do echo \"line $i\"; done\necho \"greeting=$GREETING\"\n")))
            .putEnv("GREETING", "hola")
            .build();

    var log = plane.follow(plane.queue(definition));

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
    assertThat(log.text(LOG_STREAM_STDOUT)).containsExactly("line 1", "line 2", "line 3", "greeting=hola");
  }

  @Test
  void aProgramThatDoesNotExistFailsWithoutAnExitCode() {
    String id = plane.queue(TestControlPlane.shell("/no/such/program"));

    var log = plane.follow(id);

    assertThat(log.finalState()).isEqualTo(JobState.JOB_STATE_FAILED);
    var job = plane.get(id);
    assertThat(job.hasExitCode()).isFalse();
    assertThat(job.getErrorMessage()).contains("/no/such/program");
  }

  @Test
  void tenJobsQueuedAtOnceAllFinish() throws Exception {
    List<String> ids = new ArrayList<>();
    try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
      List<Future<String>> queued = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        int n = i;
        queued.add(pool.submit((Callable<String>) () -> plane.queue(TestControlPlane.shell("echo", "job-" + n))));
      }
      for (var f : queued) {
        ids.add(f.get());
      }
      List<Future<TestControlPlane.FollowedLog>> logs = new ArrayList<>();
      for (String id : ids) {
        logs.add(pool.submit(() -> plane.follow(id)));
      }
      for (int i = 0; i < ids.size(); i++) {
        var log = logs.get(i).get();
        assertThat(log.finalState()).as("job %d", i).isEqualTo(JobState.JOB_STATE_SUCCEEDED);
        assertThat(log.text(LOG_STREAM_STDOUT)).containsExactly("job-" + i);
      }
    }
    assertThat(ids).doesNotHaveDuplicates();
  }
}
