/** Workers as Kubernetes pods (docs/kubernetes.md). */
package io.hodei.provider.kubernetes;
