{{/* The chart name, at most 63 characters. */}}
{{- define "hodei.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The prefix of every object's name: RELEASE-hodei, or RELEASE when it already holds the chart name. */}}
{{- define "hodei.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hodei.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels that select the control-plane pods; never change them on upgrade. */}}
{{- define "hodei.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hodei.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: control-plane
{{- end -}}

{{/* Labels of every object but those of the workers' side. */}}
{{- define "hodei.labels" -}}
{{ include "hodei.selectorLabels" . }}
{{ include "hodei.commonLabels" . }}
{{- end -}}

{{/* Labels of the objects made for worker pods (their ServiceAccount). */}}
{{- define "hodei.workerLabels" -}}
app.kubernetes.io/name: {{ include "hodei.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: worker
{{ include "hodei.commonLabels" . }}
{{- end -}}

{{- define "hodei.commonLabels" -}}
helm.sh/chart: {{ include "hodei.chart" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hodei
{{- end -}}

{{- define "hodei.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "hodei.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* The namespace of the worker pods: workers.namespace, else the release's. */}}
{{- define "hodei.workerNamespace" -}}
{{- default .Release.Namespace .Values.workers.namespace -}}
{{- end -}}

{{- define "hodei.workerServiceAccountName" -}}
{{- default (printf "%s-worker" (include "hodei.fullname" .)) .Values.workers.serviceAccount.name -}}
{{- end -}}

{{- define "hodei.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Where the pod keeps things; the server's flags and the configuration file name these. */}}
{{- define "hodei.configFile" -}}/etc/hodei/config/config.yaml{{- end -}}
{{- define "hodei.dataDir" -}}/var/lib/hodei{{- end -}}
{{- define "hodei.passwordFile" -}}/etc/hodei/database/password{{- end -}}
{{- define "hodei.metricsTokenFile" -}}/etc/hodei/metrics/token{{- end -}}
{{- define "hodei.tlsSecretDir" -}}/etc/hodei/tls-secret{{- end -}}
{{- define "hodei.tlsDir" -}}
{{- if .Values.tls.copyToEmptyDir -}}/var/run/hodei/tls{{- else -}}{{ include "hodei.tlsSecretDir" . }}{{- end -}}
{{- end -}}

{{/*
What these values cannot run as: a fail with the reason, so that helm install stops before
anything is applied. Included by every template that depends on it (the Deployment, the ConfigMap).
*/}}
{{- define "hodei.validate" -}}
{{- $replicas := int .Values.replicas -}}
{{- if lt $replicas 1 -}}
{{- fail "replicas must be at least 1" -}}
{{- end -}}
{{- if and (gt $replicas 1) (not .Values.database.url) -}}
{{- fail (printf "replicas: %d needs database.url (PostgreSQL): replicas share one PostgreSQL database, and the embedded SQLite is one pod's own (docs/ha.md). Set database.url, or replicas: 1" $replicas) -}}
{{- end -}}
{{- if and (gt $replicas 1) (not .Values.secretKey.existingSecret) -}}
{{- fail (printf "replicas: %d needs secretKey.existingSecret: every replica must seal job secrets with the same HODEI_SECRET_KEY (docs/ha.md)" $replicas) -}}
{{- end -}}
{{- if and (gt $replicas 1) .Values.persistence.enabled -}}
{{- fail "persistence.enabled is for a single replica on SQLite; replicas keep their state in PostgreSQL" -}}
{{- end -}}
{{- if and .Values.database.url (regexMatch "(://[^/@?]*:[^/@?]*@)|([?&]password=)" .Values.database.url) -}}
{{- fail "database.url must not hold a password (the server refuses it): put it in the Secret database.passwordSecret names" -}}
{{- end -}}
{{- if and .Values.database.passwordSecret.name (not .Values.database.url) -}}
{{- fail "database.passwordSecret is set but database.url is empty: the embedded SQLite takes no password (set passwordSecret.name: \"\")" -}}
{{- end -}}
{{- if and .Values.tls.enabled (not .Values.tls.existingSecret) -}}
{{- fail "tls.enabled needs tls.existingSecret, a Secret with ca.crt, server.crt and server.key (hodei pki init)" -}}
{{- end -}}
{{- range $key := list "port" "replica-id" -}}
{{- if hasKey $.Values.server.settings $key -}}
{{- fail (printf "server.settings.%s is set by the chart (server.grpcPort; each pod's name): remove it" $key) -}}
{{- end -}}
{{- end -}}
{{- $readiness := include "hodei.readinessType" . -}}
{{- if and (eq $readiness "grpc") .Values.tls.enabled -}}
{{- fail "probes.readiness.type grpc cannot work with tls.enabled: kubelet gRPC probes speak plaintext and present no client certificate. Use auto or http" -}}
{{- end -}}
{{- if and (eq $readiness "http") (not .Values.metrics.enabled) -}}
{{- fail "the http readiness probe (GET /ready, used with tls.enabled) needs metrics.enabled" -}}
{{- end -}}
{{- if and (eq $readiness "http") .Values.metrics.tokenSecret.name -}}
{{- fail "the http readiness probe (GET /ready, used with tls.enabled) cannot send metrics.tokenSecret's token: /ready would answer 401. Leave metrics.tokenSecret.name empty with tls.enabled" -}}
{{- end -}}
{{- range $name, $probe := dict "liveness" .Values.probes.liveness "startup" .Values.probes.startup -}}
{{- if not (has $probe.type (list "tcp" "grpc")) -}}
{{- fail (printf "probes.%s.type: tcp or grpc, got %v" $name $probe.type) -}}
{{- end -}}
{{- if and (eq $probe.type "grpc") $.Values.tls.enabled -}}
{{- fail (printf "probes.%s.type grpc cannot work with tls.enabled: kubelet gRPC probes present no client certificate. Use tcp" $name) -}}
{{- end -}}
{{- end -}}
{{- if not (has .Values.podAntiAffinity (list "" "soft" "hard")) -}}
{{- fail (printf "podAntiAffinity: soft, hard or \"\", got %v" .Values.podAntiAffinity) -}}
{{- end -}}
{{- end -}}

{{/* grpc or http: what probes.readiness.type auto means for these values. */}}
{{- define "hodei.readinessType" -}}
{{- $type := .Values.probes.readiness.type -}}
{{- if eq $type "auto" -}}
{{- ternary "http" "grpc" .Values.tls.enabled -}}
{{- else if has $type (list "grpc" "http") -}}
{{- $type -}}
{{- else -}}
{{- fail (printf "probes.readiness.type: auto, grpc or http, got %v" $type) -}}
{{- end -}}
{{- end -}}

{{/* A probe's action: tcp or grpc on the gRPC port, or GET /ready on the metrics port. */}}
{{- define "hodei.probeAction" -}}
{{- $root := index . 0 -}}
{{- $type := index . 1 -}}
{{- if eq $type "grpc" -}}
grpc:
  port: {{ $root.Values.server.grpcPort }}
  service: ""
{{- else if eq $type "http" -}}
httpGet:
  path: /ready
  port: metrics
  scheme: {{ ternary "HTTPS" "HTTP" $root.Values.tls.enabled }}
{{- else -}}
tcpSocket:
  port: grpc
{{- end -}}
{{- end -}}

{{/* The configuration file (docs/configuration.md) the ConfigMap holds. */}}
{{- define "hodei.config" -}}
{{- $server := merge (dict "port" (int .Values.server.grpcPort)) (deepCopy .Values.server.settings) -}}
{{- $config := dict "server" $server -}}
{{- if .Values.database.url -}}
{{- $database := dict "url" .Values.database.url -}}
{{- if .Values.database.passwordSecret.name -}}
{{- $_ := set $database "password-file" (include "hodei.passwordFile" .) -}}
{{- end -}}
{{- $_ := set $config "database" $database -}}
{{- end -}}
{{- $pools := dict -}}
{{- range $name, $pool := .Values.workers.pools -}}
{{- $p := deepCopy (default (dict) $pool) -}}
{{- if eq (toString (index $p "type")) "kubernetes" -}}
{{- if not (hasKey $p "namespace") -}}
{{- $_ := set $p "namespace" (include "hodei.workerNamespace" $) -}}
{{- end -}}
{{- if and (not (hasKey $p "service-account")) $.Values.workers.serviceAccount.create -}}
{{- $_ := set $p "service-account" (include "hodei.workerServiceAccountName" $) -}}
{{- end -}}
{{- end -}}
{{- $_ := set $pools $name $p -}}
{{- end -}}
{{- if $pools -}}
{{- $_ := set $config "providers" $pools -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The container securityContext: the image's uid, nothing writable but the mounted volumes. */}}
{{- define "hodei.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}
