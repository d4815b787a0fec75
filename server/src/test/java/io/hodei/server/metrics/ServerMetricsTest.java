package io.hodei.server.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import io.hodei.core.job.CommandSpec;
import io.hodei.core.job.JobService;
import io.hodei.core.job.JobSpec;
import io.hodei.core.job.SpecLimits;
import io.hodei.server.workers.WorkerRegistry;
import io.hodei.store.Database;
import io.hodei.store.Stores;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The jobs-per-state gauges over a real SQLite store: counted once per scrape, and NaN when the store cannot count. */
class ServerMetricsTest {
  @TempDir Path dir;

  @Test
  void eachScrapeCountsTheJobsOfEveryStateAndAStoreThatCannotCountShowsNaN() {
    var database = Database.sqlite(dir.resolve("data"));
    var stores = Stores.open(database);
    var jobs = new JobService(stores.jobs(), stores.secrets(), Clock.systemUTC(), new Random(1), SpecLimits.DEFAULTS);
    // The real store, with a count of the table counts asked of it.
    var counts = new java.util.concurrent.atomic.AtomicInteger();
    var counted = (io.hodei.core.job.JobStore) java.lang.reflect.Proxy.newProxyInstance(
        getClass().getClassLoader(), new Class<?>[] {io.hodei.core.job.JobStore.class}, (proxy, method, args) -> {
          if (method.getName().equals("countByState")) {
            counts.incrementAndGet();
          }
          try {
            return method.invoke(stores.jobs(), args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
    var metrics = new ServerMetrics(counted, new WorkerRegistry(Clock.systemUTC(), Duration.ofSeconds(30)),
        Optional::empty, Optional::empty, Optional::empty);
    jobs.queue(JobSpec.of("a", new CommandSpec.Shell("true", List.of())));
    jobs.queue(JobSpec.of("b", new CommandSpec.Shell("true", List.of())));
    var cancelled = jobs.queue(JobSpec.of("c", new CommandSpec.Shell("true", List.of())));
    jobs.cancel(cancelled.id(), "not needed", "alice");

    String first = metrics.scrape();
    assertThat(first).contains("hodei_jobs{state=\"pending\"} 2.0", "hodei_jobs{state=\"cancelled\"} 1.0",
        "hodei_jobs{state=\"running\"} 0.0");
    assertThat(counts).as("one count of the table for the seven states' gauges").hasValue(1);
    jobs.queue(JobSpec.of("d", new CommandSpec.Shell("true", List.of())));
    assertThat(metrics.scrape()).as("the next scrape counts again").contains("hodei_jobs{state=\"pending\"} 3.0");

    database.close();
    String unreadable = metrics.scrape();
    assertThat(unreadable).contains("hodei_jobs{state=\"pending\"} NaN", "hodei_ready 1.0");
  }
}
