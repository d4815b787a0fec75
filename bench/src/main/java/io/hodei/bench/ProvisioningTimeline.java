package io.hodei.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where the time of one cold start went, read from the control plane's log and the worker's own
 * log: both print {@code HH:mm:ss.SSS} in the machine's time zone, at millisecond resolution.
 *
 * @param queued the server logged the job as queued
 * @param workerStarted the provider started the worker process or container (after {@code
 *     docker create} and {@code docker start} for Docker)
 * @param workerLogging the worker's first log line: JVM started, logging set up, the agent built
 * @param workerRegistering the worker sends {@code Register}
 * @param registered the server accepted the registration
 * @param attached the server saw the worker's stream attached
 */
record ProvisioningTimeline(
    String workerId,
    Optional<Instant> queued,
    Optional<Instant> workerStarted,
    Optional<Instant> workerLogging,
    Optional<Instant> workerRegistering,
    Optional<Instant> registered,
    Optional<Instant> attached,
    Optional<String> container,
    Optional<Long> pid) {
  private static final Pattern TIME = Pattern.compile("^(\\d{2}:\\d{2}:\\d{2}\\.\\d{3}) ");
  private static final Pattern STARTED =
      Pattern.compile("started (?:local )?worker (w-[0-9a-f]+)(?: as pid (\\d+)| in container \\S+ \\((\\S+)\\))");

  /**
   * Reads the timeline of the job {@code jobId} from the server log, and from the worker's log
   * lines when given.
   *
   * @param day the date of the run (log lines carry only the time of day)
   */
  static ProvisioningTimeline read(Path serverLog, String jobId, LocalDate day, List<String> workerLog)
      throws IOException {
    List<String> lines = Files.readAllLines(serverLog);
    Optional<Instant> queued = Optional.empty();
    String worker = null;
    Optional<Instant> started = Optional.empty();
    Optional<String> container = Optional.empty();
    Optional<Long> pid = Optional.empty();
    for (String line : lines) {
      if (queued.isEmpty() && line.contains("job " + jobId + " queued")) {
        queued = time(line, day);
      } else if (queued.isPresent() && worker == null) {
        Matcher m = STARTED.matcher(line);
        if (m.find()) {
          worker = m.group(1);
          started = time(line, day);
          pid = Optional.ofNullable(m.group(2)).map(Long::parseLong);
          container = Optional.ofNullable(m.group(3));
        }
      }
    }
    Optional<Instant> registered = Optional.empty();
    Optional<Instant> attached = Optional.empty();
    if (worker != null) {
      for (String line : lines) {
        if (registered.isEmpty() && line.contains("worker " + worker + " registered")) {
          registered = time(line, day);
        } else if (attached.isEmpty() && line.contains("worker " + worker + " attached its stream")) {
          attached = time(line, day);
        }
      }
    }
    Optional<Instant> logging = Optional.empty();
    Optional<Instant> registering = Optional.empty();
    for (String line : workerLog) {
      Optional<Instant> t = time(line, day);
      if (t.isPresent() && logging.isEmpty()) {
        logging = t;
      }
      if (registering.isEmpty() && line.contains("registering with")) {
        registering = t;
      }
    }
    return new ProvisioningTimeline(
        worker == null ? "" : worker, queued, started, logging, registering, registered, attached, container, pid);
  }

  static Optional<Instant> time(String line, LocalDate day) {
    Matcher m = TIME.matcher(line);
    if (!m.find()) {
      return Optional.empty();
    }
    try {
      return Optional.of(LocalTime.parse(m.group(1)).atDate(day).atZone(ZoneId.systemDefault()).toInstant());
    } catch (DateTimeParseException e) {
      return Optional.empty();
    }
  }

  /** Seconds from {@code a} to {@code b}, or NaN when either is unknown. */
  static double between(Optional<Instant> a, Optional<Instant> b) {
    if (a.isEmpty() || b.isEmpty()) {
      return Double.NaN;
    }
    return (b.get().toEpochMilli() - a.get().toEpochMilli()) / 1000.0;
  }
}
