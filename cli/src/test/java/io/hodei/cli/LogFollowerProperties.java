package io.hodei.cli;

import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.google.protobuf.ByteString;
import io.hodei.api.v1.LogLine;
import io.hodei.api.v1.LogStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;

/**
 * The reading side of a job's log: {@code hodei logs} and {@code hodei run} print each {@code
 * LogLine} with {@link LogFollower#print}. The worker cuts its output into pieces at newlines
 * (dropping them) and inside lines longer than its piece size, and marks each piece no newline
 * followed with {@code no_newline} (the worker's {@code LineSplitterProperties} checks that
 * cutting). Here any output of both streams, cut anywhere that way and interleaved in any order,
 * is printed back byte for byte: stdout's bytes on stdout, stderr's on stderr.
 *
 * <p>The property is a Jazzer fuzz test. A plain build replays its inputs (Jazzer's regression
 * mode): the empty input plus the files under {@code LogFollowerPropertiesInputs/<method>/} in
 * the test resources, 40 files of random bytes made once with {@code head -c 512 /dev/urandom}:
 * 41 inputs, the same every run. {@code JAZZER_FUZZ=1 ./mvnw test -pl cli -am
 * -Dtest='LogFollowerProperties#anyCuttingOfBothStreamsIsPrintedBackExactly'} fuzzes it instead;
 * see docs/testing.md.
 */
class LogFollowerProperties {

  @FuzzTest
  void anyCuttingOfBothStreamsIsPrintedBackExactly(FuzzedDataProvider data) throws IOException {
    byte[] stdout = output(data);
    byte[] stderr = output(data);
    List<LogLine> outLines = cut(data, stdout, LogStream.LOG_STREAM_STDOUT);
    List<LogLine> errLines = cut(data, stderr, LogStream.LOG_STREAM_STDERR);
    List<LogLine> interleaved = new ArrayList<>();
    int o = 0;
    int e = 0;
    while (o < outLines.size() || e < errLines.size()) {
      boolean fromOut = e == errLines.size() || (o < outLines.size() && data.consumeBoolean());
      interleaved.add(fromOut ? outLines.get(o++) : errLines.get(e++));
    }

    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();
    try (var outStream = new PrintStream(out); var errStream = new PrintStream(err)) {
      for (LogLine line : interleaved) {
        LogFollower.print(line, outStream, errStream);
      }
    }

    assertThat(text(out.toByteArray())).as("stdout of %s", interleaved).isEqualTo(text(stdout));
    assertThat(text(err.toByteArray())).as("stderr of %s", interleaved).isEqualTo(text(stderr));
  }

  /**
   * The output cut as a worker may cut it: at each newline, which is dropped, and anywhere inside
   * a line, where the piece before is marked {@code no_newline}; a last line without newline is
   * marked too.
   */
  private static List<LogLine> cut(FuzzedDataProvider data, byte[] output, LogStream stream) {
    List<LogLine> lines = new ArrayList<>();
    int start = 0;
    for (int i = 0; i <= output.length; i++) {
      boolean end = i == output.length;
      if (end && start == i) {
        break;
      }
      if (end || output[i] == '\n') {
        lines.add(line(stream, output, start, i, !end));
        start = i + 1;
      } else if (data.consumeInt(0, 7) == 0) {
        lines.add(line(stream, output, start, i, false));
        start = i;
      }
    }
    return lines;
  }

  private static LogLine line(LogStream stream, byte[] output, int from, int to, boolean newline) {
    return LogLine.newBuilder()
        .setStream(stream)
        .setData(ByteString.copyFrom(output, from, to - from))
        .setNoNewline(!newline)
        .build();
  }

  /** Random bytes with LF, CRLF, empty lines and NULs, ending with a newline or not. */
  private static byte[] output(FuzzedDataProvider data) {
    var output = new ByteArrayOutputStream();
    for (int i = 0, n = data.consumeInt(0, 8); i < n; i++) {
      if (data.consumeBoolean()) {
        output.writeBytes(data.consumeBytes(data.consumeInt(0, 30)));
      } else {
        output.writeBytes(data.pickValue(List.of("\n", "\r\n", "\n\n", "\0", "line\n")).getBytes(ISO_8859_1));
      }
    }
    return output.toByteArray();
  }

  private static String text(byte[] bytes) {
    return new String(bytes, ISO_8859_1);
  }
}
