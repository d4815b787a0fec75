package io.hodei.cli;

import com.google.protobuf.Timestamp;
import io.grpc.ManagedChannel;
import io.hodei.api.v1.AdminServiceGrpc;
import io.hodei.api.v1.CreateTokenRequest;
import io.hodei.api.v1.ListTokensRequest;
import io.hodei.api.v1.RevokeTokenRequest;
import io.hodei.api.v1.Role;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hodei tokens create | list | revoke}: API tokens, for admins. */
@Command(
    name = "tokens",
    mixinStandardHelpOptions = true,
    description = "Manages API tokens (admins only).",
    subcommands = {
      TokensCommand.Create.class,
      TokensCommand.ListTokens.class,
      TokensCommand.Revoke.class
    })
final class TokensCommand {
  enum RoleName {
    user,
    admin,
    worker
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = "Issues a token and prints it once; only its hash is kept.")
  static final class Create extends ClientCommand {
    @Option(names = "--role", required = true, description = "user, admin or worker.")
    RoleName role;

    @Option(
        names = "--name",
        required = true,
        description = "Unique; the owner of the jobs it queues.")
    String name;

    @Option(
        names = "--expires",
        paramLabel = "DURATION",
        description = "Lifetime such as 90d or 12h (default: never expires).",
        converter = Durations.Converter.class)
    Duration expires;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var request =
          CreateTokenRequest.newBuilder()
              .setName(name)
              .setRole(
                  switch (role) {
                    case user -> Role.ROLE_USER;
                    case admin -> Role.ROLE_ADMIN;
                    case worker -> Role.ROLE_WORKER;
                  });
      if (expires != null) {
        Instant at = Instant.now().plus(expires);
        request.setExpiresAt(
            Timestamp.newBuilder().setSeconds(at.getEpochSecond()).setNanos(at.getNano()));
      }
      var created = AdminServiceGrpc.newBlockingStub(channel).createToken(request.build());
      out.println(created.getToken());
      return 0;
    }
  }

  @Command(
      name = "list",
      mixinStandardHelpOptions = true,
      description = "Lists tokens (never their values).")
  static final class ListTokens extends ClientCommand {
    @Option(
        names = {"-o", "--output"},
        description = "table or json (default: ${DEFAULT-VALUE}).",
        defaultValue = "table")
    JobsCommand.Output output;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      var tokens =
          AdminServiceGrpc.newBlockingStub(channel)
              .listTokens(ListTokensRequest.getDefaultInstance());
      if (output == JobsCommand.Output.json) {
        out.println(JobsCommand.json(tokens));
        return 0;
      }
      String format = "%-24s  %-6s  %-20s  %-20s  %s%n";
      out.printf(format, "NAME", "ROLE", "CREATED", "EXPIRES", "STATE");
      for (var t : tokens.getTokensList()) {
        out.printf(
            format,
            t.getName(),
            t.getRole().name().substring("ROLE_".length()).toLowerCase(Locale.ROOT),
            instant(t.getCreatedAt()),
            t.hasExpiresAt() ? instant(t.getExpiresAt()) : "never",
            t.hasRevokedAt() ? "revoked " + instant(t.getRevokedAt()) : "active");
      }
      return 0;
    }
  }

  @Command(
      name = "revoke",
      mixinStandardHelpOptions = true,
      description = "Revokes a token for good.")
  static final class Revoke extends ClientCommand {
    @Parameters(paramLabel = "NAME")
    String name;

    @Override
    int run(ManagedChannel channel, PrintWriter out) {
      AdminServiceGrpc.newBlockingStub(channel)
          .revokeToken(RevokeTokenRequest.newBuilder().setName(name).build());
      out.println("revoked " + name);
      return 0;
    }
  }

  static String instant(Timestamp t) {
    return Instant.ofEpochSecond(t.getSeconds()).toString();
  }
}
