package io.hodei.cli;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.hodei.server.provisioning.PoolPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The control plane's configuration file (YAML). Every key is optional; what it does not say
 * keeps its default, and command-line flags and {@code HODEI_*} environment variables win over
 * it. Unknown keys are errors, so a typo never passes silently.
 *
 * <pre>
 * server:
 *   port: 50051
 *   strategy: least-connections
 *   heartbeat-interval: 5s
 *   heartbeat-timeout: 15s
 *   kill-grace: 10s
 *   log-cap-mib: 100
 * database:
 *   url: postgresql://hodei@db:5432/hodei   # default: SQLite in the data directory
 *   password-file: /run/secrets/db-password
 * providers:
 *   local:
 *     type: local
 *     max-workers: 4
 *     min-idle: 0
 *     idle-timeout: 2m
 *     max-lifetime: 0s
 *     ephemeral: false
 *     jobs-per-worker: 1
 *     labels: {zone: eu-1a}
 *   docker:
 *     type: docker
 *     image: hodei-worker:dev
 *     docker-host: unix:///var/run/docker.sock
 *     cpus: 1
 *     memory: 512Mi
 *     pids-limit: 512
 *     max-workers: 4
 *   k8s:
 *     type: kubernetes
 *     namespace: hodei-workers
 *     image: hodei-worker:dev
 *     kubeconfig: /etc/hodei/kubeconfig     # default: in-cluster, else ~/.kube/config
 *     service-account: hodei-worker
 *     cpus: 1                                # a worker's default requests and limits
 *     memory: 512Mi
 *     ephemeral: true                        # one pod per job
 *     pending-timeout: 5m
 *     image-pull-timeout: 2m
 *     registration-timeout: 10m
 *     pod:
 *       labels: {team: ci}
 *       annotations: {}
 *       node-selector: {kubernetes.io/os: linux}
 *       tolerations: [{key: ci, operator: Equal, value: "yes", effect: NoSchedule}]
 *       affinity: {}                         # a Kubernetes Affinity, as in a pod spec
 *       image-pull-secrets: [regcred]
 *       priority-class-name: ci
 *       runtime-class-name: gvisor
 *     maximums:                              # what a job may ask
 *       cpu: 4
 *       memory: 8Gi
 *       gpu: 1
 *       gpu-resource: nvidia.com/gpu
 *       node-selectors: [disktype]           # label keys a job may select nodes by
 *       tolerations: [gpu]                   # toleration keys a job may add
 * </pre>
 *
 * The keys {@code docker-host}, {@code pids-limit} and {@code job-sandbox} belong to Docker pools,
 * {@code image}, {@code cpus} and {@code memory} to Docker and Kubernetes pools, and the
 * Kubernetes keys to Kubernetes pools; a pool of another type that sets them is refused.
 */
record HodeiConfig(Server server, Map<String, Provider> providers, Database database) {

  /** Where the store is: {@code url} empty for the embedded SQLite; the password only from a file. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record Database(String url, String passwordFile) {
    static final Database EMPTY = new Database(null, null);
  }

  /** Without a database section. */
  HodeiConfig(Server server, Map<String, Provider> providers) {
    this(server, providers, Database.EMPTY);
  }

  @JsonIgnoreProperties(ignoreUnknown = false)
  record Server(
      Integer port,
      String strategy,
      String heartbeatInterval,
      String heartbeatTimeout,
      String killGrace,
      Long logCapMib,
      String replicaId) {
    static final Server EMPTY = new Server(null, null, null, null, null, null, null);
  }

  /** What a Kubernetes pool adds to each of its pods. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record Pod(
      Map<String, String> labels,
      Map<String, String> annotations,
      Map<String, String> nodeSelector,
      java.util.List<Map<String, Object>> tolerations,
      Map<String, Object> affinity,
      java.util.List<String> imagePullSecrets,
      String priorityClassName,
      String runtimeClassName) {}

  /** What a job may ask of a Kubernetes pool. */
  @JsonIgnoreProperties(ignoreUnknown = false)
  record Maximums(
      Double cpu,
      String memory,
      Integer gpu,
      String gpuResource,
      java.util.List<String> nodeSelectors,
      java.util.List<String> tolerations) {}

  record Provider(
      String type,
      Integer maxWorkers,
      Integer minIdle,
      String idleTimeout,
      String maxLifetime,
      Boolean ephemeral,
      Integer jobsPerWorker,
      Map<String, String> labels,
      String image,
      String dockerHost,
      Double cpus,
      String memory,
      Long pidsLimit,
      String jobSandbox,
      String registrationTimeout,
      String namespace,
      String kubeconfig,
      String serviceAccount,
      String clusterId,
      String pendingTimeout,
      String imagePullTimeout,
      Pod pod,
      Maximums maximums) {

    /** A pool of the given type that says nothing else. */
    static Provider ofType(String type) {
      return new Provider(type, null, null, null, null, null, null, null, null, null, null, null, null, null,
          null, null, null, null, null, null, null, null, null);
    }

    String typeOrLocal() {
      return type == null ? "local" : type;
    }

    /** The Docker keys this section sets, for refusing them on a pool of another type. */
    java.util.List<String> dockerKeys() {
      var keys = new java.util.ArrayList<String>();
      if (image != null) keys.add("image");
      if (dockerHost != null) keys.add("docker-host");
      if (cpus != null) keys.add("cpus");
      if (memory != null) keys.add("memory");
      if (pidsLimit != null) keys.add("pids-limit");
      if (jobSandbox != null) keys.add("job-sandbox");
      return keys;
    }

    /** The Docker keys a Kubernetes pool has no use for. */
    java.util.List<String> dockerOnlyKeys() {
      return dockerKeys().stream().filter(k -> !java.util.Set.of("image", "cpus", "memory").contains(k)).toList();
    }

    /** The Kubernetes keys this section sets, for refusing them on a pool of another type. */
    java.util.List<String> kubernetesKeys() {
      var keys = new java.util.ArrayList<String>();
      if (namespace != null) keys.add("namespace");
      if (kubeconfig != null) keys.add("kubeconfig");
      if (serviceAccount != null) keys.add("service-account");
      if (clusterId != null) keys.add("cluster-id");
      if (pendingTimeout != null) keys.add("pending-timeout");
      if (imagePullTimeout != null) keys.add("image-pull-timeout");
      if (pod != null) keys.add("pod");
      if (maximums != null) keys.add("maximums");
      return keys;
    }

    /** The pool policy this provider's section describes, over {@code defaults}. */
    PoolPolicy policy(String name, PoolPolicy defaults) {
      var policy =
          new PoolPolicy(
              maxWorkers != null ? maxWorkers : defaults.maxWorkers(),
              duration(idleTimeout, "providers." + name + ".idle-timeout").orElse(defaults.idleTimeout()),
              duration(registrationTimeout, "providers." + name + ".registration-timeout").orElse(defaults.registrationTimeout()),
              minIdle != null ? minIdle : defaults.minIdle(),
              duration(maxLifetime, "providers." + name + ".max-lifetime").orElse(defaults.maxLifetime()),
              ephemeral != null ? ephemeral : defaults.ephemeral(),
              jobsPerWorker != null ? jobsPerWorker : defaults.jobsPerWorker());
      return policy;
    }

    Map<String, String> labelsOrEmpty() {
      return labels == null ? Map.of() : labels;
    }
  }

  static final HodeiConfig EMPTY = new HodeiConfig(Server.EMPTY, Map.of());

  HodeiConfig {
    server = server == null ? Server.EMPTY : server;
    database = database == null ? Database.EMPTY : database;
    providers = providers == null ? Map.of() : new LinkedHashMap<>(providers);
    // A section with nothing under it ("local:") is a pool that keeps every default.
    if (providers.values().stream().anyMatch(java.util.Objects::isNull)) {
      var filled = new LinkedHashMap<String, Provider>();
      providers.forEach((name, section) -> filled.put(name, section != null ? section : Provider.ofType(null)));
      providers = filled;
    }
  }

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .setPropertyNamingStrategy(PropertyNamingStrategies.KEBAB_CASE)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  /** Reads {@code file}; a missing, unreadable or malformed file is a one-line user error. */
  static HodeiConfig load(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new HodeiCli.UserError("configuration file " + file + " does not exist", 66);
    }
    try {
      String text = Files.readString(file);
      if (text.isBlank()) {
        return EMPTY;
      }
      HodeiConfig config = YAML.readValue(text, HodeiConfig.class);
      return config == null ? EMPTY : config;
    } catch (com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException e) {
      throw new HodeiCli.UserError(
          oneLine("configuration file " + file + ": unknown key " + path(e) + "; known there: "
              + String.join(", ", e.getKnownPropertyIds().stream().map(Object::toString).sorted().toList())),
          65);
    } catch (JsonMappingException e) {
      if (e.getCause() instanceof com.fasterxml.jackson.core.JsonParseException syntax) {
        // A syntax error met while reading a section, wrapped with the section's path.
        throw notYaml(file, syntax);
      }
      throw new HodeiCli.UserError(oneLine("configuration file " + file + ": " + e.getOriginalMessage() + " at " + path(e)), 65);
    } catch (java.nio.charset.CharacterCodingException e) {
      throw new HodeiCli.UserError("configuration file " + file + " is not UTF-8 text", 65);
    } catch (com.fasterxml.jackson.core.JsonParseException e) {
      throw notYaml(file, e);
    } catch (IOException e) {
      throw new HodeiCli.UserError("cannot read configuration file " + file + ": " + e.getMessage(), 66);
    }
  }

  /**
   * What the YAML parser found wrong, and where, on one line: its own messages span several, with
   * the offending line quoted under a caret.
   */
  private static HodeiCli.UserError notYaml(Path file, com.fasterxml.jackson.core.JsonParseException e) {
    return new HodeiCli.UserError("configuration file " + file + " is not valid YAML: " + syntaxError(e), 65);
  }

  private static String syntaxError(com.fasterxml.jackson.core.JsonParseException e) {
    if (e.getCause() instanceof org.yaml.snakeyaml.error.MarkedYAMLException marked && marked.getProblemMark() != null) {
      return marked.getProblem() + " at line " + (marked.getProblemMark().getLine() + 1)
          + ", column " + (marked.getProblemMark().getColumn() + 1);
    }
    if (e.getCause() instanceof org.yaml.snakeyaml.reader.ReaderException reader) {
      return String.format("character U+%04X is not allowed in YAML (at offset %d)", reader.getCodePoint(), reader.getPosition());
    }
    return e.getOriginalMessage().strip().replaceAll("\\s*\\R\\s*", " ");
  }

  /** {@code message} with each line break in it (a key or value it quotes may have some) as {@code \\n}. */
  private static String oneLine(String message) {
    return message.replaceAll("\\R", "\\\\n");
  }

  private static String path(JsonMappingException e) {
    return e.getPath().stream()
        .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
        .reduce((a, b) -> a + "." + b)
        .orElse("the top");
  }

  static Optional<Duration> duration(String text, String key) {
    if (text == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(Durations.parse(text));
    } catch (RuntimeException e) {
      throw new HodeiCli.UserError(key + ": " + e.getMessage(), 65);
    }
  }
}
