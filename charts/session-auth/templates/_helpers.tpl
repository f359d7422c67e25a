{{/* Chart name, truncated to 63 chars (DNS label). */}}
{{- define "session-auth.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart, or the release name when it already contains the chart name. */}}
{{- define "session-auth.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "session-auth.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Common labels (without component). */}}
{{- define "session-auth.labels" -}}
helm.sh/chart: {{ include "session-auth.chart" . }}
app.kubernetes.io/name: {{ include "session-auth.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: session-auth
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels; call with (dict "ctx" $ "component" "app"). */}}
{{- define "session-auth.selectorLabels" -}}
app.kubernetes.io/name: {{ include "session-auth.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* Resource names. */}}
{{- define "session-auth.redisName" -}}{{ printf "%s-redis" (include "session-auth.fullname" .) | trunc 52 | trimSuffix "-" }}{{- end }}
{{- define "session-auth.redisHeadless" -}}{{ printf "%s-redis-headless" (include "session-auth.fullname" .) | trunc 63 | trimSuffix "-" }}{{- end }}
{{- define "session-auth.sentinelName" -}}{{ printf "%s-sentinel" (include "session-auth.fullname" .) | trunc 52 | trimSuffix "-" }}{{- end }}
{{- define "session-auth.sentinelHeadless" -}}{{ printf "%s-sentinel-headless" (include "session-auth.fullname" .) | trunc 63 | trimSuffix "-" }}{{- end }}
{{- define "session-auth.secretName" -}}{{ default (include "session-auth.fullname" .) .Values.secret.existingSecret }}{{- end }}
{{- define "session-auth.chaosName" -}}{{ printf "%s-chaos" (include "session-auth.fullname" .) | trunc 63 | trimSuffix "-" }}{{- end }}

{{- define "session-auth.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "session-auth.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "session-auth.sentinelEnabled" -}}
{{- if eq .Values.redis.topology "sentinel" }}true{{ end }}
{{- end }}

{{- define "session-auth.clusterEnabled" -}}
{{- if eq .Values.redis.topology "cluster" }}true{{ end }}
{{- end }}

{{/* Redis Cluster's bus port: the data port + 10000, Redis's own rule (cluster-port left unset). */}}
{{- define "session-auth.clusterBusPort" -}}{{ add (int .Values.redis.port) 10000 }}{{- end }}

{{/* host:port,... of every cluster node's stable name (REDIS_CLUSTER_NODES; the client discovers the rest from any of them). */}}
{{- define "session-auth.clusterNodes" -}}
{{- $out := list }}
{{- range $i := until (int (include "session-auth.redisReplicas" $)) }}
{{- $out = append $out (printf "%s:%d" (include "session-auth.podDNS" (list $ (include "session-auth.redisName" $) (include "session-auth.redisHeadless" $) $i)) (int $.Values.redis.port)) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/*
Stable DNS name of pod <i> of a StatefulSet; call with (list $ "<sts>" "<headless svc>" i).
With redis.podServices (the default) the name of the pod's own ClusterIP Service,
<pod>.<ns>.svc.<domain>, whose address never changes; else <pod>.<headless>.<ns>.svc.<domain>, an
A record of the pod's IP, which changes on every restart and which cluster DNS caches (30 s with
CoreDNS's usual settings).
*/}}
{{- define "session-auth.podDNS" -}}
{{- $ctx := index . 0 -}}
{{- if $ctx.Values.redis.podServices -}}
{{- printf "%s-%d.%s.svc.%s" (index . 1) (int (index . 3)) $ctx.Release.Namespace $ctx.Values.clusterDomain -}}
{{- else -}}
{{- printf "%s-%d.%s.%s.svc.%s" (index . 1) (int (index . 3)) (index . 2) $ctx.Release.Namespace $ctx.Values.clusterDomain -}}
{{- end -}}
{{- end }}

{{/* What the scripts put between a pod's name and ".<ns>.svc.<domain>" (see podDNS). */}}
{{- define "session-auth.redisSubdomain" -}}{{ if not .Values.redis.podServices }}.{{ include "session-auth.redisHeadless" . }}{{ end }}{{- end }}
{{- define "session-auth.sentinelSubdomain" -}}{{ if not .Values.redis.podServices }}.{{ include "session-auth.sentinelHeadless" . }}{{ end }}{{- end }}

{{/* host:port,host:port,... of every Sentinel (REDIS_SENTINELS). */}}
{{- define "session-auth.sentinelAddresses" -}}
{{- $out := list }}
{{- range $i := until (int .Values.redis.sentinel.replicas) }}
{{- $out = append $out (printf "%s:%d" (include "session-auth.podDNS" (list $ (include "session-auth.sentinelName" $) (include "session-auth.sentinelHeadless" $) $i)) (int $.Values.redis.sentinel.port)) }}
{{- end }}
{{- join "," $out }}
{{- end }}

{{/* Image references. */}}
{{- define "session-auth.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag }}
{{- if .Values.image.digest }}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository $tag }}
{{- end }}
{{- end }}

{{- define "session-auth.chaosImage" -}}
{{- printf "%s:%s" .Values.chaos.image.repository (default .Chart.AppVersion .Values.chaos.image.tag) }}
{{- end }}

{{- define "session-auth.redisImage" -}}
{{- printf "%s:%s" .Values.redis.image.repository .Values.redis.image.tag }}
{{- end }}

{{/* REDIS_WAIT_REPLICAS: explicit value, else 1 with Sentinel and cluster (the shard's replica) and 0 standalone. */}}
{{- define "session-auth.waitReplicas" -}}
{{- if kindIs "invalid" .Values.config.redisWaitReplicas }}
{{- if or (include "session-auth.sentinelEnabled" .) (include "session-auth.clusterEnabled" .) }}1{{ else }}0{{ end }}
{{- else }}
{{- .Values.config.redisWaitReplicas }}
{{- end }}
{{- end }}

{{/* Grace period consistent with preStop + SHUTDOWN_DELAY_MS + SHUTDOWN_TIMEOUT_MS. */}}
{{- define "session-auth.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- $shutdownMs := add .Values.config.shutdownDelayMs .Values.config.shutdownTimeoutMs }}
{{- $shutdownS := div (add $shutdownMs 999) 1000 }}
{{- add .Values.lifecycle.preStopSleepSeconds $shutdownS .Values.terminationGraceBufferSeconds }}
{{- else }}
{{- .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Env vars that read the Secret (REDIS_PASSWORD, REDIS_SENTINEL_PASSWORD). */}}
{{- define "session-auth.redisAuthEnv" -}}
{{- if .Values.redis.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "session-auth.secretName" . }}
      key: {{ .Values.secret.redisPasswordKey }}
{{- end }}
{{- if and (include "session-auth.sentinelEnabled" .) .Values.redis.sentinel.auth.enabled }}
- name: REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "session-auth.secretName" . }}
      key: {{ .Values.secret.sentinelPasswordKey }}
{{- end }}
{{- end }}

{{/* Labels of a component's pods and objects: common labels + component (no duplicates with the selector). */}}
{{- define "session-auth.componentLabels" -}}
{{ include "session-auth.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}
