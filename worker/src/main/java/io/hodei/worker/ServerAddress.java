package io.hodei.worker;

/**
 * The control plane's {@code host:port}. IPv6 literals go in brackets: {@code [::1]:9090}. A
 * control plane of several replicas is a comma-separated list of them ({@link #parseList}).
 *
 * @param host a name or address literal (without brackets)
 * @param port 1..65535
 */
record ServerAddress(String host, int port) {

  ServerAddress {
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("server address has no host");
    }
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("server port out of range: " + port);
    }
  }

  static ServerAddress parse(String text) {
    String value = text.strip();
    int colon = value.lastIndexOf(':');
    if (colon <= 0 || colon == value.length() - 1) {
      throw new IllegalArgumentException("server address must be host:port, got '" + text + "'");
    }
    String host = value.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.contains(":")) {
      throw new IllegalArgumentException(
          "an IPv6 server address needs brackets, like [::1]:9090; got '" + text + "'");
    }
    try {
      return new ServerAddress(host, Integer.parseInt(value.substring(colon + 1)));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("server port is not a number in '" + text + "'", e);
    }
  }

  /**
   * Every replica of the control plane, in the order to try them: {@code host:port[,host:port...]}.
   *
   * @throws IllegalArgumentException naming the entry that is not a {@code host:port}
   */
  static java.util.List<ServerAddress> parseList(String text) {
    var out = new java.util.ArrayList<ServerAddress>();
    for (String entry : text.split(",", -1)) {
      if (entry.isBlank()) {
        throw new IllegalArgumentException("server address list has an empty entry: '" + text + "'");
      }
      out.add(parse(entry));
    }
    return java.util.List.copyOf(out);
  }

  @Override
  public String toString() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
