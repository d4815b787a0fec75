package io.hodei.cli;

import io.hodei.security.CertificateKind;
import io.hodei.security.Pki;
import io.hodei.security.PkiException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code hodei pki}: the certificate authority and the certificates mTLS needs. */
@Command(
    name = "pki",
    mixinStandardHelpOptions = true,
    description = "Creates a certificate authority and issues certificates for mTLS.",
    subcommands = {PkiCommand.Init.class, PkiCommand.Issue.class})
final class PkiCommand {

  /** {@code hodei pki init}: CA, server and admin certificates. */
  @Command(
      name = "init",
      mixinStandardHelpOptions = true,
      description = {
        "Creates DIR/ca.crt, ca.key (10 years), server.crt, server.key (1 year) and admin.crt,"
            + " admin.key (90 days).",
        "Keys are EC P-256, PEM (PKCS#8), mode 0600."
      })
  static final class Init implements Callable<Integer> {
    @Option(
        names = "--dir",
        paramLabel = "DIR",
        required = true,
        description = "Where the files go (created 0700).")
    Path dir;

    @Option(
        names = "--san",
        paramLabel = "DNS_OR_IP",
        description = "Names the server is reached by; repeatable (default: localhost, 127.0.0.1).")
    List<String> sans = new ArrayList<>();

    @Option(
        names = "--force",
        description = "Replace an existing CA; every certificate it signed stops working.")
    boolean force;

    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      try {
        Pki.init(dir, sans, force);
      } catch (PkiException e) {
        throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_CANTCREAT);
      }
      var out = spec.commandLine().getOut();
      out.println(
          "hodei pki: wrote ca.crt, ca.key, server.crt, server.key, admin.crt, admin.key to "
              + dir
              + " (server names: "
              + String.join(", ", sans.isEmpty() ? Pki.DEFAULT_SANS : sans)
              + ")");
      out.println(
          "Next: hodei dev --tls-dir " + dir + ", then hodei run --tls-dir " + dir + " -- echo hi");
      out.flush();
      return 0;
    }
  }

  /** {@code hodei pki issue}: one more certificate from the CA in DIR. */
  @Command(
      name = "issue",
      mixinStandardHelpOptions = true,
      description = "Writes DIR/NAME.crt and DIR/NAME.key signed by the CA in DIR.")
  static final class Issue implements Callable<Integer> {
    @Option(
        names = "--dir",
        paramLabel = "DIR",
        required = true,
        description = "Holds ca.crt and ca.key.")
    Path dir;

    @Option(
        names = "--kind",
        paramLabel = "KIND",
        required = true,
        description = "worker, user or admin.")
    String kind;

    @Option(
        names = "--name",
        paramLabel = "NAME",
        required = true,
        description = "The subject's CN; a worker's id for a worker.")
    String name;

    @Option(
        names = "--days",
        paramLabel = "D",
        description = "Lifetime in days (default: admin and user 90, worker 1).")
    Integer days;

    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      CertificateKind certificateKind;
      try {
        certificateKind = CertificateKind.of(kind);
      } catch (IllegalArgumentException e) {
        throw new HodeiCli.UserError("--kind: " + e.getMessage(), 64);
      }
      if (certificateKind == CertificateKind.SERVER) {
        throw new HodeiCli.UserError("--kind: use hodei pki init for the server certificate", 64);
      }
      if (days != null && days < 1) {
        throw new HodeiCli.UserError("--days: must be at least 1", 64);
      }
      Duration lifetime = days == null ? certificateKind.defaultLifetime() : Duration.ofDays(days);
      try {
        var issued = Pki.load(dir).issueInto(dir, certificateKind, name, lifetime);
        var out = spec.commandLine().getOut();
        out.println(
            "hodei pki: wrote "
                + dir.resolve(name + ".crt")
                + " and "
                + name
                + ".key ("
                + certificateKind.unit()
                + ", valid until "
                + issued.certificate().getNotAfter().toInstant()
                + ")");
        out.flush();
        return 0;
      } catch (PkiException e) {
        throw new HodeiCli.UserError(e.getMessage(), HodeiCli.EX_NOINPUT);
      }
    }
  }
}
