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
      "Runs the worker agent. Normally started by a provider, which sets HODEI_SERVER_ADDRESS and",
      "HODEI_WORKER_ID and hands over the one-time token (and TLS material) on stdin or in a file.",
      "By hand: echo $TOKEN | hodei worker, or HODEI_TOKEN_FILE=FILE; for mTLS HODEI_TLS_CA_FILE,",
      "HODEI_TLS_CERT_FILE, HODEI_TLS_KEY_FILE."
    })
final class WorkerCommand implements Callable<Integer> {
  /** {@code --worker-id=ID}: the provider's mark in the command line; must match HODEI_WORKER_ID. */
  @picocli.CommandLine.Option(names = "--worker-id", hidden = true)
  String workerId;

  @Override
  public Integer call() {
    DevCommand.setLogLevel(ch.qos.logback.classic.Level.INFO);
    if (AotTraining.requested(System.getenv())) {
      return AotTraining.run(); // the training run of the worker's class cache (WorkerAotCache)
    }
    WorkerConfig config =
        WorkerMain.configure(workerId == null ? new String[0] : new String[] {WorkerMain.WORKER_ID_ARGUMENT + workerId});
    return WorkerMain.run(config);
  }
}
