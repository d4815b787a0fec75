package io.hodei.cli;

import io.hodei.worker.AotTraining;
import io.hodei.worker.WorkerConfig;
import io.hodei.worker.WorkerMain;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code hodei worker}: the worker agent, configured from its environment. */
@Command(
    name = "worker",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the worker agent. Normally started by a provider, which sets",
      "HODEI_TOKEN (one-time registration token), HODEI_SERVER_ADDRESS and HODEI_WORKER_ID;",
      "for mTLS, HODEI_TLS_CA, HODEI_TLS_CERT, HODEI_TLS_KEY (PEM text) or their *_FILE variants."
    })
final class WorkerCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    DevCommand.setLogLevel(ch.qos.logback.classic.Level.INFO);
    if (AotTraining.requested(System.getenv())) {
      return AotTraining.run(); // the training run of the worker's class cache (WorkerAotCache)
    }
    return WorkerMain.run(WorkerConfig.fromEnvironment());
  }
}
