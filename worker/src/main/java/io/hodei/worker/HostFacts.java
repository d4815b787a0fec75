package io.hodei.worker;

import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.net.InetAddress;
import java.net.UnknownHostException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the worker tells the server about the machine it runs on.
 *
 * @param hostname the local host name, or {@code $HOSTNAME}, or "unknown"
 * @param ipAddress the address the host name resolves to, or empty
 * @param cpuCores the processors available to this JVM
 * @param memoryBytes the machine's total memory, or 0 when the JVM can't tell
 */
record HostFacts(String hostname, String ipAddress, double cpuCores, long memoryBytes) {
  private static final Logger log = LoggerFactory.getLogger(HostFacts.class);

  static HostFacts detect() {
    String hostname;
    String ipAddress;
    try {
      InetAddress local = InetAddress.getLocalHost();
      hostname = local.getHostName();
      ipAddress = local.getHostAddress();
    } catch (UnknownHostException e) {
      log.warn("can't resolve the local host name: {}", e.toString());
      hostname = System.getenv().getOrDefault("HOSTNAME", "unknown");
      ipAddress = "";
    }
    long memory = 0;
    OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    if (os instanceof com.sun.management.OperatingSystemMXBean extended) {
      memory = extended.getTotalMemorySize();
    }
    return new HostFacts(hostname, ipAddress, Runtime.getRuntime().availableProcessors(), memory);
  }
}
