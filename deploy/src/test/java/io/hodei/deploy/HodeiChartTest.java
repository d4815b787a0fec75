package io.hodei.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.rbac.PolicyRule;
import io.fabric8.kubernetes.client.NamespacedKubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The chart rendered by helm with its default values and each file of ci/, every object applied
 * to a fabric8 mock API server (CRUD mode, loopback) and read back from it, then checked.
 */
class HodeiChartTest {
  private static KubernetesMockServer server;
  /** Held: java.util.logging keeps loggers weakly, and a collected one loses its level. */
  private static final java.util.logging.Logger MOCK_LOG = java.util.logging.Logger.getLogger("io.fabric8.mockwebserver");
  private static NamespacedKubernetesClient client;

  @BeforeAll
  static void startApiServer() {
    MOCK_LOG.setLevel(java.util.logging.Level.WARNING); // one line per request otherwise
    server = new KubernetesMockServer(new Context(), new MockWebServer(), new HashMap<>(), new KubernetesCrudDispatcher(), false);
    server.init(InetAddress.getLoopbackAddress(), 0);
    client = server.createClient();
  }

  @AfterAll
  static void stopApiServer() {
    client.close();
    server.destroy();
  }

  @AfterEach
  void forgetObjects() {
    server.reset();
  }

  /** What helm rendered, once applied: the objects parsed from its output. */
  record Applied(String yaml, List<HasMetadata> objects) {
    <T extends HasMetadata> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }
  }

  /** Renders, parses, and creates every object in the mock API server but custom resources. */
  private static Applied apply(String namespace, Optional<Path> values, Map<String, Object> set) {
    String yaml = Chart.template(namespace, values, set);
    List<HasMetadata> objects = Chart.parse(client, yaml);
    assertThat(objects).isNotEmpty();
    for (HasMetadata object : objects) {
      if (!object.getKind().startsWith("Cluster")) {
        assertThat(object.getMetadata().getNamespace())
            .as("%s %s names its namespace", object.getKind(), object.getMetadata().getName())
            .isNotBlank();
      }
      if (!(object instanceof GenericKubernetesResource)) {
        client.resource(object).create();
      }
    }
    return new Applied(yaml, objects);
  }

  private static Deployment deployment(String namespace) {
    var d = client.apps().deployments().inNamespace(namespace).withName(Chart.FULLNAME).get();
    assertThat(d).as("the Deployment, read back from the API server").isNotNull();
    return d;
  }

  private static Container controlPlane(Deployment d) {
    assertThat(d.getSpec().getTemplate().getSpec().getContainers()).hasSize(1);
    return d.getSpec().getTemplate().getSpec().getContainers().getFirst();
  }

  private static Map<String, Object> configFile(String namespace) {
    ConfigMap cm = client.configMaps().inNamespace(namespace).withName(Chart.FULLNAME).get();
    assertThat(cm).isNotNull();
    assertThat(cm.getData()).containsOnlyKeys("config.yaml");
    @SuppressWarnings("unchecked")
    Map<String, Object> config = client.getKubernetesSerialization().unmarshal(cm.getData().get("config.yaml"), Map.class);
    // Only keys HodeiConfig reads (cli/.../HodeiConfig.java); it refuses unknown ones at start.
    assertThat(config.keySet()).isSubsetOf("server", "database", "providers");
    assertThat(section(config, "server").keySet())
        .isSubsetOf("port", "strategy", "heartbeat-interval", "heartbeat-timeout", "kill-grace", "log-cap-mib", "replica-id");
    if (config.containsKey("database")) {
      assertThat(section(config, "database").keySet()).isSubsetOf("url", "password-file");
    }
    return config;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> section(Map<String, Object> map, String key) {
    assertThat(map).containsKey(key);
    return (Map<String, Object>) map.get(key);
  }

  private static Volume volume(PodSpec pod, String name) {
    return pod.getVolumes().stream().filter(v -> v.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no volume " + name + " in " + pod.getVolumes()));
  }

  private static VolumeMount mountAt(Container c, String path) {
    return c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(path)).findFirst()
        .orElseThrow(() -> new AssertionError("nothing mounted at " + path + " in " + c.getName()));
  }

  /** The value of {@code --flag=value} in the container's args. */
  private static String flag(Container c, String flag) {
    return c.getArgs().stream().filter(a -> a.startsWith(flag + "=")).map(a -> a.substring(flag.length() + 1))
        .findFirst().orElseThrow(() -> new AssertionError("no " + flag + " in " + c.getArgs()));
  }

  /** Checks that hold for every rendering: security context, secrets by reference only, RBAC. */
  private static void assertCommon(Applied applied, String namespace, String workerNamespace) {
    // The chart never carries a secret: it names Secrets that exist beforehand.
    assertThat(applied.all(Secret.class)).isEmpty();

    Deployment d = deployment(namespace);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    assertThat(pod.getServiceAccountName()).isEqualTo(Chart.FULLNAME);
    assertThat(client.serviceAccounts().inNamespace(namespace).withName(Chart.FULLNAME).get()).isNotNull();
    var podSecurity = pod.getSecurityContext();
    assertThat(podSecurity.getRunAsNonRoot()).isTrue();
    assertThat(podSecurity.getRunAsUser()).isEqualTo(10001L);
    assertThat(podSecurity.getRunAsGroup()).isEqualTo(10001L);
    assertThat(podSecurity.getFsGroup()).isEqualTo(10001L);
    assertThat(podSecurity.getSeccompProfile().getType()).isEqualTo("RuntimeDefault");

    var containers = Stream.concat(pod.getInitContainers().stream(), pod.getContainers().stream()).toList();
    for (Container c : containers) {
      var sc = c.getSecurityContext();
      assertThat(sc.getRunAsNonRoot()).as(c.getName()).isTrue();
      assertThat(sc.getRunAsUser()).as(c.getName()).isEqualTo(10001L);
      assertThat(sc.getRunAsGroup()).as(c.getName()).isEqualTo(10001L);
      assertThat(sc.getReadOnlyRootFilesystem()).as(c.getName()).isTrue();
      assertThat(sc.getAllowPrivilegeEscalation()).as(c.getName()).isFalse();
      assertThat(sc.getPrivileged()).as(c.getName()).isFalse();
      assertThat(sc.getCapabilities().getDrop()).as(c.getName()).containsExactly("ALL");
      assertThat(sc.getCapabilities().getAdd()).as(c.getName()).isNullOrEmpty();
      assertThat(sc.getSeccompProfile().getType()).as(c.getName()).isEqualTo("RuntimeDefault");
      // No literal values in the environment: the pod's own fields, or a Secret's key.
      for (EnvVar e : c.getEnv()) {
        assertThat(e.getValue()).as("env %s of %s", e.getName(), c.getName()).isNull();
        assertThat(e.getValueFrom()).as("env %s of %s", e.getName(), c.getName()).isNotNull();
        var from = e.getValueFrom();
        assertThat(from.getFieldRef() != null || from.getSecretKeyRef() != null).as(e.getName()).isTrue();
      }
      assertThat(c.getEnvFrom()).isNullOrEmpty();
      assertThat(c.getResources().getLimits()).as(c.getName()).containsKey("memory");
    }

    Container cp = controlPlane(d);
    assertThat(cp.getArgs().getFirst()).isEqualTo("server");
    assertThat(cp.getCommand()).as("the image's ENTRYPOINT runs the hodei CLI").isNullOrEmpty();
    assertThat(String.join(" ", cp.getArgs())).doesNotContainIgnoringCase("password=").doesNotContain("://");
    assertThat(cp.getEnv()).extracting(EnvVar::getName).doesNotHaveDuplicates()
        .doesNotContain("HODEI_DATABASE_PASSWORD");
    assertThat(cp.getEnv()).filteredOn(e -> e.getName().equals("HODEI_REPLICA_ID"))
        .singleElement().satisfies(e -> assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("metadata.name"));
    assertThat(flag(cp, "--bind")).isEqualTo("$(POD_IP)");
    assertThat(cp.getEnv()).filteredOn(e -> e.getName().equals("POD_IP"))
        .singleElement().satisfies(e -> assertThat(e.getValueFrom().getFieldRef().getFieldPath()).isEqualTo("status.podIP"));

    // The configuration file the server is told about is the ConfigMap, and the pod rolls with it.
    String configArg = flag(cp, "--config");
    var configMount = mountAt(cp, Path.of(configArg).getParent().toString());
    assertThat(configMount.getReadOnly()).isTrue();
    assertThat(volume(pod, configMount.getName()).getConfigMap().getName()).isEqualTo(Chart.FULLNAME);
    assertThat(Path.of(configArg).getFileName().toString()).isEqualTo("config.yaml");
    assertThat(d.getSpec().getTemplate().getMetadata().getAnnotations().get("checksum/config")).matches("[0-9a-f]{64}");
    // Writable: /tmp and the data directory, nothing else (the root is read-only).
    assertThat(volume(pod, mountAt(cp, "/tmp").getName()).getEmptyDir()).isNotNull();
    mountAt(cp, flag(cp, "--data-dir"));
    assertThat(cp.getVolumeMounts()).filteredOn(m -> !Boolean.TRUE.equals(m.getReadOnly()))
        .extracting(VolumeMount::getMountPath).containsExactlyInAnyOrder("/tmp", flag(cp, "--data-dir"));

    // Liveness and startup: the gRPC port accepts connections.
    for (var probe : List.of(cp.getLivenessProbe(), cp.getStartupProbe())) {
      assertThat(probe.getTcpSocket().getPort()).isEqualTo(new IntOrString("grpc"));
    }
    assertThat(cp.getPorts()).filteredOn(p -> p.getName().equals("grpc")).singleElement()
        .satisfies(p -> assertThat(p.getContainerPort()).isEqualTo(50051));

    // RBAC: exactly the rights listed, in the worker namespace, bound to the ServiceAccount.
    var roles = client.rbac().roles().inAnyNamespace().list().getItems();
    assertThat(roles).singleElement().satisfies(role -> {
      assertThat(role.getMetadata().getNamespace()).isEqualTo(workerNamespace);
      assertThat(role.getRules())
          .extracting(PolicyRule::getApiGroups, PolicyRule::getResources, PolicyRule::getVerbs)
          .containsExactlyInAnyOrder(
              tuple(List.of(""), List.of("pods"), List.of("create", "delete", "get", "list", "watch")),
              tuple(List.of(""), List.of("pods/log"), List.of("get")),
              tuple(List.of(""), List.of("secrets"), List.of("create", "delete", "get", "list", "watch", "patch")),
              tuple(List.of(""), List.of("events"), List.of("get", "list", "watch")));
      assertThat(role.getRules()).allSatisfy(r -> {
        assertThat(r.getVerbs()).doesNotContain("*");
        assertThat(r.getResources()).doesNotContain("*");
        assertThat(r.getResourceNames()).isNullOrEmpty();
        assertThat(r.getNonResourceURLs()).isNullOrEmpty();
      });
    });
    var bindings = client.rbac().roleBindings().inAnyNamespace().list().getItems();
    assertThat(bindings).singleElement().satisfies(b -> {
      assertThat(b.getMetadata().getNamespace()).isEqualTo(workerNamespace);
      assertThat(b.getRoleRef().getKind()).isEqualTo("Role");
      assertThat(b.getRoleRef().getName()).isEqualTo(roles.getFirst().getMetadata().getName());
      assertThat(b.getSubjects()).singleElement().satisfies(s -> {
        assertThat(s.getKind()).isEqualTo("ServiceAccount");
        assertThat(s.getName()).isEqualTo(pod.getServiceAccountName());
        assertThat(s.getNamespace()).isEqualTo(namespace);
      });
    });
    assertThat(client.rbac().clusterRoles().list().getItems()).as("no cluster-wide rights by default").isEmpty();
    assertThat(client.rbac().clusterRoleBindings().list().getItems()).isEmpty();

    // Worker pods get an account of their own, without API token.
    var workerAccount = client.serviceAccounts().inNamespace(workerNamespace).withName(Chart.FULLNAME + "-worker").get();
    assertThat(workerAccount).isNotNull();
    assertThat(workerAccount.getAutomountServiceAccountToken()).isFalse();

    // The Service selects exactly the Deployment's pods.
    var service = client.services().inNamespace(namespace).withName(Chart.FULLNAME).get();
    assertThat(service.getSpec().getSelector()).isEqualTo(d.getSpec().getSelector().getMatchLabels());
    assertThat(d.getSpec().getTemplate().getMetadata().getLabels()).containsAllEntriesOf(service.getSpec().getSelector());
    assertThat(service.getSpec().getPorts()).filteredOn(p -> p.getName().equals("grpc")).singleElement()
        .satisfies(p -> {
          assertThat(p.getPort()).isEqualTo(50051);
          assertThat(p.getTargetPort()).isEqualTo(new IntOrString("grpc"));
        });
  }

  @Test
  void lintsCleanInStrictMode() {
    var result = new Helm(Chart.DIR).lint().strict().call();
    assertThat(result.isFailed()).as("%s", result.getMessages()).isFalse();
    assertThat(result.getMessages()).allSatisfy(m -> assertThat(m).doesNotContain("[ERROR]", "[WARNING]"));
  }

  @Test
  void defaults() {
    String ns = "jobs";
    Applied applied = apply(ns, Optional.empty(), Map.of());
    assertCommon(applied, ns, ns);

    Deployment d = deployment(ns);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    Container cp = controlPlane(d);
    assertThat(d.getSpec().getReplicas()).isEqualTo(2);
    assertThat(d.getSpec().getStrategy().getType()).isEqualTo("RollingUpdate");
    assertThat(d.getSpec().getStrategy().getRollingUpdate().getMaxUnavailable()).isEqualTo(new IntOrString(0));
    assertThat(cp.getImage()).isEqualTo("hodei-control-plane:0.1.0");
    assertThat(cp.getArgs()).containsExactly(
        "server",
        "--config=/etc/hodei/config/config.yaml",
        "--data-dir=/var/lib/hodei",
        "--bind=$(POD_IP)",
        "--insecure",
        "--metrics-port=9090",
        "--metrics-bind=0.0.0.0");
    assertThat(pod.getInitContainers()).isEmpty();

    // Readiness: the native gRPC probe of the health service's overall status ("").
    var readiness = cp.getReadinessProbe();
    assertThat(readiness.getGrpc().getPort()).isEqualTo(50051);
    assertThat(readiness.getGrpc().getService()).isEmpty();
    assertThat(readiness.getHttpGet()).isNull();
    assertThat(readiness.getTcpSocket()).isNull();

    // The secret key from a Secret; the database password a file the configuration names.
    assertThat(cp.getEnv()).filteredOn(e -> e.getName().equals("HODEI_SECRET_KEY")).singleElement()
        .satisfies(e -> {
          assertThat(e.getValueFrom().getSecretKeyRef().getName()).isEqualTo("hodei-secret-key");
          assertThat(e.getValueFrom().getSecretKeyRef().getKey()).isEqualTo("secret-key");
        });
    var config = configFile(ns);
    var database = section(config, "database");
    assertThat(database).containsEntry("url", "postgresql://hodei@hodei-postgresql:5432/hodei");
    Path passwordFile = Path.of((String) database.get("password-file"));
    var passwordMount = mountAt(cp, passwordFile.getParent().toString());
    assertThat(passwordMount.getReadOnly()).isTrue();
    var passwordVolume = volume(pod, passwordMount.getName()).getSecret();
    assertThat(passwordVolume.getSecretName()).isEqualTo("hodei-database");
    assertThat(passwordVolume.getItems()).singleElement().satisfies(i -> {
      assertThat(i.getKey()).isEqualTo("password");
      assertThat(i.getPath()).isEqualTo(passwordFile.getFileName().toString());
    });
    assertThat(passwordVolume.getDefaultMode()).isEqualTo(0440);

    // The pool, in the release namespace, with the workers' account.
    assertThat(section(config, "server")).containsEntry("port", 50051);
    var pool = section(section(config, "providers"), "k8s");
    assertThat(pool).containsEntry("type", "kubernetes").containsEntry("image", "hodei-worker:dev")
        .containsEntry("max-workers", 10).containsEntry("namespace", ns)
        .containsEntry("service-account", Chart.FULLNAME + "-worker");

    var pdbs = client.policy().v1().podDisruptionBudget().inNamespace(ns).list().getItems();
    assertThat(pdbs).singleElement().satisfies(pdb -> {
      assertThat(pdb.getSpec().getMinAvailable()).isEqualTo(new IntOrString(1));
      assertThat(pdb.getSpec().getSelector().getMatchLabels()).isEqualTo(d.getSpec().getSelector().getMatchLabels());
    });
    assertThat(client.network().networkPolicies().inAnyNamespace().list().getItems()).isEmpty();
    assertThat(applied.all(GenericKubernetesResource.class)).as("no ServiceMonitor by default").isEmpty();
    assertThat(pod.getAffinity().getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution()).hasSize(1);
    assertThat(client.services().inNamespace(ns).withName(Chart.FULLNAME).get().getSpec().getPorts())
        .extracting(p -> p.getName(), p -> p.getPort()).containsExactly(tuple("grpc", 50051), tuple("metrics", 9090));
  }

  @Test
  void threeReplicasWithTlsAndANetworkPolicyAndWorkersElsewhere() {
    String ns = "hodei";
    String workers = "hodei-workers";
    Applied applied = apply(ns, Optional.of(Chart.HA_TLS), Map.of());
    assertCommon(applied, ns, workers);

    Deployment d = deployment(ns);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    Container cp = controlPlane(d);
    assertThat(d.getSpec().getReplicas()).isEqualTo(3);
    assertThat(cp.getArgs()).contains("--metrics-port=9090").doesNotContain("--insecure");

    // mTLS: the Secret copied by the init container into an in-memory emptyDir the server owns.
    String tlsDir = flag(cp, "--tls-dir");
    var tlsMount = mountAt(cp, tlsDir);
    assertThat(tlsMount.getReadOnly()).isTrue();
    var tlsVolume = volume(pod, tlsMount.getName());
    assertThat(tlsVolume.getEmptyDir().getMedium()).isEqualTo("Memory");
    assertThat(pod.getInitContainers()).singleElement().satisfies(init -> {
      assertThat(init.getCommand()).startsWith("/bin/sh", "-c");
      assertThat(init.getCommand().getLast()).contains("umask 077").contains(tlsDir);
      var secretMount = init.getVolumeMounts().stream().filter(m -> !m.getName().equals(tlsMount.getName())).findFirst().orElseThrow();
      assertThat(volume(pod, secretMount.getName()).getSecret().getSecretName()).isEqualTo("hodei-pki");
      assertThat(init.getVolumeMounts()).extracting(VolumeMount::getName).contains(tlsMount.getName());
    });

    // Kubelet gRPC probes present no client certificate: readiness is /ready over HTTPS.
    var readiness = cp.getReadinessProbe();
    assertThat(readiness.getGrpc()).isNull();
    assertThat(readiness.getHttpGet().getPath()).isEqualTo("/ready");
    assertThat(readiness.getHttpGet().getScheme()).isEqualTo("HTTPS");
    assertThat(readiness.getHttpGet().getPort()).isEqualTo(new IntOrString("metrics"));

    var config = configFile(ns);
    assertThat(section(config, "database")).containsEntry("url", "postgresql://hodei@postgresql.databases.svc:5432/hodei?sslmode=verify-full");
    assertThat(volume(pod, mountAt(cp, "/etc/hodei/database").getName()).getSecret().getSecretName()).isEqualTo("hodei-db");
    assertThat(cp.getEnv()).filteredOn(e -> e.getName().equals("HODEI_SECRET_KEY")).singleElement()
        .satisfies(e -> assertThat(e.getValueFrom().getSecretKeyRef()).satisfies(ref -> {
          assertThat(ref.getName()).isEqualTo("hodei-key");
          assertThat(ref.getKey()).isEqualTo("key");
        }));
    var providers = section(config, "providers");
    assertThat(providers).containsOnlyKeys("k8s", "gpu");
    assertThat(section(providers, "k8s")).containsEntry("namespace", workers).containsEntry("max-workers", 50)
        .containsEntry("min-idle", 2).containsEntry("service-account", Chart.FULLNAME + "-worker");
    assertThat(section(providers, "gpu")).containsEntry("namespace", workers).containsEntry("service-account", "gpu-worker")
        .containsEntry("labels", Map.of("gpu", "true"));

    assertThat(client.policy().v1().podDisruptionBudget().inNamespace(ns).list().getItems()).hasSize(1);
    var policies = client.network().networkPolicies().inAnyNamespace().list().getItems();
    assertThat(policies).singleElement().satisfies(np -> {
      assertThat(np.getMetadata().getNamespace()).isEqualTo(ns);
      assertThat(np.getSpec().getPodSelector().getMatchLabels()).isEqualTo(d.getSpec().getSelector().getMatchLabels());
      assertThat(np.getSpec().getPolicyTypes()).containsExactly("Ingress");
      assertThat(np.getSpec().getIngress()).hasSize(2);
      var grpc = np.getSpec().getIngress().get(0);
      assertThat(grpc.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort()).isEqualTo(new IntOrString("grpc")));
      assertThat(grpc.getFrom()).extracting(p -> p.getNamespaceSelector().getMatchLabels().get("kubernetes.io/metadata.name"))
          .containsExactly(workers, "ci");
      var metrics = np.getSpec().getIngress().get(1);
      assertThat(metrics.getPorts()).singleElement().satisfies(p -> assertThat(p.getPort()).isEqualTo(new IntOrString("metrics")));
      assertThat(metrics.getFrom()).singleElement().satisfies(p ->
          assertThat(p.getNamespaceSelector().getMatchLabels()).containsExactlyEntriesOf(Map.of("kubernetes.io/metadata.name", "monitoring")));
    });

    var affinity = pod.getAffinity().getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution();
    assertThat(affinity).singleElement().satisfies(t -> assertThat(t.getTopologyKey()).isEqualTo("kubernetes.io/hostname"));
    assertThat(pod.getTopologySpreadConstraints()).singleElement().satisfies(t -> {
      assertThat(t.getTopologyKey()).isEqualTo("topology.kubernetes.io/zone");
      assertThat(t.getLabelSelector().getMatchLabels()).isEqualTo(d.getSpec().getSelector().getMatchLabels());
    });

    // The ServiceMonitor (a custom resource, not applied): HTTPS, verified against the Hodei CA.
    assertThat(applied.all(GenericKubernetesResource.class)).singleElement().satisfies(sm -> {
      assertThat(sm.getKind()).isEqualTo("ServiceMonitor");
      @SuppressWarnings("unchecked")
      var spec = (Map<String, Object>) sm.getAdditionalProperties().get("spec");
      @SuppressWarnings("unchecked")
      var endpoint = ((List<Map<String, Object>>) spec.get("endpoints")).getFirst();
      assertThat(endpoint).containsEntry("port", "metrics").containsEntry("scheme", "https");
      assertThat(endpoint.toString()).contains("ca.crt").doesNotContain("insecureSkipVerify");
    });
  }

  @Test
  void minimal() {
    String ns = "small";
    Applied applied = apply(ns, Optional.of(Chart.MINIMAL), Map.of());
    assertCommon(applied, ns, ns);

    Deployment d = deployment(ns);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    Container cp = controlPlane(d);
    assertThat(d.getSpec().getReplicas()).isEqualTo(1);
    assertThat(d.getSpec().getStrategy().getType()).as("one SQLite control plane at a time").isEqualTo("Recreate");
    assertThat(cp.getArgs()).containsExactly(
        "server", "--config=/etc/hodei/config/config.yaml", "--data-dir=/var/lib/hodei", "--bind=$(POD_IP)", "--insecure");
    assertThat(cp.getEnv()).extracting(EnvVar::getName).containsExactly("POD_IP", "HODEI_REPLICA_ID");
    assertThat(cp.getPorts()).extracting(p -> p.getName()).containsExactly("grpc");
    assertThat(cp.getReadinessProbe().getGrpc().getPort()).isEqualTo(50051);
    assertThat(pod.getVolumes()).extracting(Volume::getName).containsExactlyInAnyOrder("config", "data", "tmp");
    assertThat(volume(pod, "data").getEmptyDir()).isNotNull();
    assertThat(pod.getAffinity()).isNull();
    assertThat(configFile(ns)).doesNotContainKey("database");

    assertThat(client.policy().v1().podDisruptionBudget().inAnyNamespace().list().getItems()).isEmpty();
    assertThat(client.network().networkPolicies().inAnyNamespace().list().getItems()).isEmpty();
    assertThat(client.persistentVolumeClaims().inAnyNamespace().list().getItems()).isEmpty();
    assertThat(client.services().inNamespace(ns).withName(Chart.FULLNAME).get().getSpec().getPorts())
        .extracting(p -> p.getName()).containsExactly("grpc");
  }

  @Test
  void persistenceKeepsTheSqliteDataDirectoryOnAClaim() {
    String ns = "kept";
    apply(ns, Optional.of(Chart.MINIMAL), Map.of("persistence.enabled", true, "persistence.size", "5Gi"));
    Deployment d = deployment(ns);
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    var claim = client.persistentVolumeClaims().inNamespace(ns).withName(Chart.FULLNAME + "-data").get();
    assertThat(claim.getSpec().getResources().getRequests().get("storage").toString()).isEqualTo("5Gi");
    assertThat(claim.getMetadata().getAnnotations()).containsEntry("helm.sh/resource-policy", "keep");
    var data = volume(pod, mountAt(controlPlane(d), "/var/lib/hodei").getName());
    assertThat(data.getPersistentVolumeClaim().getClaimName()).isEqualTo(claim.getMetadata().getName());
    assertThat(d.getSpec().getStrategy().getType()).isEqualTo("Recreate");
  }

  @Test
  void aClusterRoleForAccessReviewsOnlyWhenAsked() {
    String ns = "reviews";
    apply(ns, Optional.empty(), Map.of("rbac.selfSubjectAccessReviews", true));
    assertThat(client.rbac().clusterRoles().list().getItems()).singleElement().satisfies(role ->
        assertThat(role.getRules()).extracting(PolicyRule::getApiGroups, PolicyRule::getResources, PolicyRule::getVerbs)
            .containsExactly(tuple(List.of("authorization.k8s.io"), List.of("selfsubjectaccessreviews"), List.of("create"))));
    assertThat(client.rbac().clusterRoleBindings().list().getItems()).singleElement().satisfies(b ->
        assertThat(b.getSubjects()).singleElement().satisfies(s -> {
          assertThat(s.getName()).isEqualTo(Chart.FULLNAME);
          assertThat(s.getNamespace()).isEqualTo(ns);
        }));
  }

  @Test
  void tlsFromTheSecretVolumeItselfWhenNotCopied() {
    String ns = "direct";
    apply(ns, Optional.empty(), Map.of("tls.enabled", true, "tls.copyToEmptyDir", false));
    PodSpec pod = deployment(ns).getSpec().getTemplate().getSpec();
    Container cp = controlPlane(deployment(ns));
    assertThat(pod.getInitContainers()).isEmpty();
    var mount = mountAt(cp, flag(cp, "--tls-dir"));
    assertThat(mount.getReadOnly()).isTrue();
    assertThat(volume(pod, mount.getName()).getSecret().getSecretName()).isEqualTo("hodei-tls");
    assertThat(cp.getReadinessProbe().getHttpGet().getScheme()).isEqualTo("HTTPS");
  }

  @Test
  void metricsTokenFromAMountedSecret() {
    String ns = "scraped";
    apply(ns, Optional.empty(), Map.of("metrics.tokenSecret.name", "scrape-token", "metrics.tokenSecret.key", "t"));
    PodSpec pod = deployment(ns).getSpec().getTemplate().getSpec();
    Container cp = controlPlane(deployment(ns));
    Path tokenFile = Path.of(flag(cp, "--metrics-token-file"));
    var secret = volume(pod, mountAt(cp, tokenFile.getParent().toString()).getName()).getSecret();
    assertThat(secret.getSecretName()).isEqualTo("scrape-token");
    assertThat(secret.getItems()).singleElement().satisfies(i -> {
      assertThat(i.getKey()).isEqualTo("t");
      assertThat(i.getPath()).isEqualTo(tokenFile.getFileName().toString());
    });
    // Without TLS readiness stays the gRPC probe, which the token does not concern.
    assertThat(cp.getReadinessProbe().getGrpc().getPort()).isEqualTo(50051);
  }

  /** NOTES.txt, as helm install prints it (a client-only dry run: nothing is sent anywhere). */
  private static String notes(Optional<Path> values) {
    var install = new Helm(Chart.DIR).install().withName(Chart.RELEASE).withNamespace("jobs").dryRun().clientOnly();
    if (values.isPresent()) {
      install = install.withValuesFile(values.get());
    }
    String output = install.call().getOutput();
    assertThat(output).contains("NOTES:");
    return output.substring(output.indexOf("NOTES:"));
  }

  @Test
  void notesWarnWhatTheValuesRisk() {
    assertThat(notes(Optional.empty()))
        .contains("demo-hodei.jobs.svc:50051")
        .contains("WARNING: tls.enabled is false: hodei server runs with --insecure")
        .contains("create secret generic hodei-database", "create secret generic hodei-secret-key")
        .doesNotContain("SQLite");
    assertThat(notes(Optional.of(Chart.HA_TLS)))
        .doesNotContain("WARNING")
        .contains("hodei pki init --dir tls --san demo-hodei.jobs.svc", "create namespace hodei-workers");
    assertThat(notes(Optional.of(Chart.MINIMAL)))
        .contains("SQLite in /var/lib/hodei, an emptyDir", "No secretKey.existingSecret")
        .doesNotContain("Before the pods can start");
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of(Map.of("database.url", ""), "replicas: 2 needs database.url (PostgreSQL)"),
        Arguments.of(Map.of("replicas", 3, "database.url", ""), "replicas: 3 needs database.url (PostgreSQL)"),
        Arguments.of(Map.of("secretKey.existingSecret", ""), "needs secretKey.existingSecret"),
        Arguments.of(Map.of("database.url", "postgresql://hodei:hunter2@db/hodei"), "database.url must not hold a password"),
        Arguments.of(Map.of("database.url", "postgresql://hodei@db/hodei?password=x"), "database.url must not hold a password"),
        Arguments.of(Map.of("persistence.enabled", true), "persistence.enabled is for a single replica"),
        Arguments.of(Map.of("tls.enabled", true, "probes.readiness.type", "grpc"), "kubelet gRPC probes"),
        Arguments.of(Map.of("tls.enabled", true, "probes.liveness.type", "grpc"), "kubelet gRPC probes"),
        Arguments.of(Map.of("tls.enabled", true, "metrics.tokenSecret.name", "t"), "would answer 401"),
        Arguments.of(Map.of("tls.enabled", true, "metrics.enabled", false), "needs metrics.enabled"),
        Arguments.of(Map.of("server.settings.port", 1), "server.settings.port is set by the chart"));
  }

  @ParameterizedTest
  @MethodSource("refusals")
  void refusesToRender(Map<String, Object> set, String message) {
    assertThatThrownBy(() -> Chart.template("jobs", Optional.empty(), set))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining(message);
  }

  @Test
  void theSqliteReplicaRefusalNamesTheWayOut() {
    assertThatThrownBy(() -> Chart.template("jobs", Optional.of(Chart.MINIMAL), Map.of("replicas", 2)))
        .hasMessageContaining("replicas: 2 needs database.url (PostgreSQL): replicas share one PostgreSQL database")
        .hasMessageContaining("Set database.url, or replicas: 1");
  }
}
