package io.hodei.cli;

import java.util.List;

/** {@link UntrustedJobIT} on the local provider: {@code hodei dev}'s workers are its child processes. */
class LocalUntrustedJobIT extends UntrustedJobIT {
  @Override
  List<String> providerArguments() {
    return List.of();
  }

  @Override
  boolean inContainers() {
    return false;
  }
}
