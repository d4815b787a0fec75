package io.hodei.cli;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code hodei} command. Exit codes follow sysexits.h where one fits. */
@Command(
    name = "hodei",
    mixinStandardHelpOptions = true,
    versionProvider = HodeiCli.Version.class,
    description = "Hodei Jobs: queue jobs, run them on workers provisioned on demand.",
    subcommands = {
      DevCommand.class,
      ServerCommand.class,
      PkiCommand.class,
      RunCommand.class,
      WaitCommand.class,
      ScheduleCommand.class,
      JobsCommand.class,
      LogsCommand.class,
      CancelCommand.class,
      RetryCommand.class,
      WorkersCommand.class,
      ProvidersCommand.class,
      TokensCommand.class,
      AuditCommand.class,
      WorkerCommand.class,
      CommandLine.HelpCommand.class
    })
public final class HodeiCli {
  static final int EX_DATAERR = 65;
  static final int EX_NOINPUT = 66;
  static final int EX_UNAVAILABLE = 69;
  static final int EX_SOFTWARE = 70;
  static final int EX_CANTCREAT = 73;
  static final int EX_NOPERM = 77;

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** The configured command line; tests execute it in-process. */
  public static CommandLine commandLine() {
    var cli = new CommandLine(new HodeiCli());
    cli.setExecutionExceptionHandler(
        (e, commandLine, parseResult) -> {
          var err = commandLine.getErr();
          if (e instanceof StatusRuntimeException sre) {
            err.println("hodei: " + describe(sre, commandLine));
            err.flush();
            return exitCode(sre.getStatus().getCode());
          }
          if (e instanceof UserError u) {
            err.println("hodei: " + u.getMessage());
            err.flush();
            return u.exitCode();
          }
          throw e;
        });
    return cli;
  }

  static int exitCode(Status.Code code) {
    return switch (code) {
      case UNAVAILABLE, DEADLINE_EXCEEDED -> EX_UNAVAILABLE;
      case INVALID_ARGUMENT, FAILED_PRECONDITION, UNIMPLEMENTED -> EX_DATAERR;
      case NOT_FOUND -> EX_NOINPUT;
      case UNAUTHENTICATED, PERMISSION_DENIED -> EX_NOPERM;
      default -> EX_SOFTWARE;
    };
  }

  /** What a plaintext client sees from a server that requires mTLS: the connection closed or reset at once. */
  private static boolean plaintextAgainstTls(Status status) {
    String description = status.getDescription() == null ? "" : status.getDescription();
    String cause = status.getCause() == null ? "" : rootMessage(status.getCause());
    return description.contains("Network closed for unknown reason") || cause.contains("Connection reset");
  }

  private static String describe(StatusRuntimeException e, CommandLine commandLine) {
    Status status = e.getStatus();
    String detail = status.getDescription() == null ? "" : status.getDescription();
    if (status.getCode() == Status.Code.UNAVAILABLE && tlsFailure(status.getCause())) {
      return "TLS handshake with the Hodei server at "
          + ServerOptions.addressOf(commandLine)
          + " failed: "
          + rootMessage(status.getCause());
    }
    if ((status.getCode() == Status.Code.UNAVAILABLE || status.getCode() == Status.Code.RESOURCE_EXHAUSTED)
        && status.getCause() == null && detail.startsWith("store could not")) {
      // The server answered: it is its storage that fails, and it says why.
      return "the Hodei server at " + ServerOptions.addressOf(commandLine) + " cannot serve this now: " + detail;
    }
    return switch (status.getCode()) {
      case UNAVAILABLE ->
          "cannot reach the Hodei server at "
              + ServerOptions.addressOf(commandLine)
              + (status.getCause() != null ? " (" + rootMessage(status.getCause()) + ")" : "")
              + (plaintextAgainstTls(status)
                  ? "; it closed the connection: if it runs with --tls-dir, pass --tls-dir DIR (or set HODEI_TLS_DIR)"
                  : "; is `hodei dev` running?");
      case INVALID_ARGUMENT -> "invalid request: " + detail;
      case NOT_FOUND -> detail;
      default -> status.getCode() + ": " + detail;
    };
  }

  /** Whether {@code t} (or a cause) is a TLS failure: wrong CA, expired or missing certificate. */
  private static boolean tlsFailure(Throwable t) {
    for (; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException
          || t instanceof java.security.cert.CertificateException
          || (t.getMessage() != null && t.getMessage().contains("SSL"))) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable t) {
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }

  /** A mistake the user can fix, reported as one line and an exit code. */
  static final class UserError extends RuntimeException {
    private final int exitCode;

    UserError(String message, int exitCode) {
      super(message);
      this.exitCode = exitCode;
    }

    int exitCode() {
      return exitCode;
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = HodeiCli.class.getPackage().getImplementationVersion();
      return new String[] {"hodei " + (v == null ? "dev" : v)};
    }
  }
}
