{{/* Environment shared by the Redis and Sentinel init scripts. */}}
{{- define "session-auth.redisScriptEnv" -}}
- name: POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: POD_NAMESPACE
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: CLUSTER_DOMAIN
  value: {{ .Values.clusterDomain | quote }}
- name: TOPOLOGY
  value: {{ .Values.redis.topology | quote }}
- name: REDIS_STS
  value: {{ include "session-auth.redisName" . | quote }}
- name: REDIS_HEADLESS
  value: {{ include "session-auth.redisHeadless" . | quote }}
- name: REDIS_PORT
  value: {{ .Values.redis.port | quote }}
- name: REDIS_REPLICAS
  value: {{ include "session-auth.redisReplicas" . | quote }}
- name: SENTINEL_STS
  value: {{ include "session-auth.sentinelName" . | quote }}
- name: SENTINEL_HEADLESS
  value: {{ include "session-auth.sentinelHeadless" . | quote }}
- name: REDIS_SUBDOMAIN
  value: {{ include "session-auth.redisSubdomain" . | quote }}
- name: SENTINEL_SUBDOMAIN
  value: {{ include "session-auth.sentinelSubdomain" . | quote }}
- name: SENTINEL_REPLICAS
  value: {{ .Values.redis.sentinel.replicas | quote }}
- name: SENTINEL_PORT
  value: {{ .Values.redis.sentinel.port | quote }}
- name: MASTER_NAME
  value: {{ .Values.redis.masterName | quote }}
- name: INIT_WAIT_SECONDS
  value: {{ .Values.redis.initWaitSeconds | quote }}
{{- if include "session-auth.clusterEnabled" . }}
- name: CLUSTER_BUS_PORT
  value: {{ include "session-auth.clusterBusPort" . | quote }}
- name: CLUSTER_PRIMARIES
  value: {{ .Values.redis.cluster.primaries | quote }}
- name: CLUSTER_REPLICAS_PER_PRIMARY
  value: {{ .Values.redis.cluster.replicasPerPrimary | quote }}
{{- end }}
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

{{/* Data nodes: redis.replicas with Sentinel, primaries x (1 + replicas per primary) in a cluster, else 1. */}}
{{- define "session-auth.redisReplicas" -}}
{{- if include "session-auth.sentinelEnabled" . }}{{ .Values.redis.replicas }}
{{- else if include "session-auth.clusterEnabled" . }}{{ mul (int .Values.redis.cluster.primaries) (add 1 (int .Values.redis.cluster.replicasPerPrimary)) }}
{{- else }}1{{ end }}
{{- end }}

{{/* redis-cli health check; REDISCLI_AUTH comes from the container env. Call with
     (dict "port" <port> "timeout" <seconds> "live" <bool>): liveness also accepts LOADING. */}}
{{- define "session-auth.redisPing" -}}
{{- $ok := ternary "PONG|LOADING*" "PONG" (default false .live) -}}
- sh
- -c
- {{ printf "out=$(timeout %d redis-cli --no-auth-warning -p %d PING 2>&1); case \"$out\" in %s) exit 0;; *) echo \"$out\"; exit 1;; esac" (int .timeout) (int .port) $ok | quote }}
{{- end }}
