package io.hodei.deploy;

import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The chart under deploy/helm/hodei, rendered by helm-java (helm's own code, as a native library). */
final class Chart {
  static final Path DIR = Path.of("helm", "hodei").toAbsolutePath();
  static final Path HA_TLS = DIR.resolve("ci/ha-tls-values.yaml");
  static final Path MINIMAL = DIR.resolve("ci/minimal-values.yaml");
  static final String RELEASE = "demo";
  static final String FULLNAME = "demo-hodei";

  private Chart() {}

  /**
   * {@code helm template demo deploy/helm/hodei --namespace NAMESPACE [-f VALUES] [--set K=V...]}.
   *
   * @throws IllegalStateException with helm's message when rendering fails (a template's fail)
   */
  static String template(String namespace, Optional<Path> values, Map<String, Object> set) {
    var command = new Helm(DIR).template().withName(RELEASE).withNamespace(namespace);
    if (values.isPresent()) {
      command = command.withValuesFile(values.get());
    }
    for (var e : set.entrySet()) {
      command = command.set(e.getKey(), e.getValue());
    }
    return command.call();
  }

  /** The rendered documents as objects, parsed by fabric8 (no server involved). */
  static List<HasMetadata> parse(KubernetesClient client, String yaml) {
    return client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
  }
}
