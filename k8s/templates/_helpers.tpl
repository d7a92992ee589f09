{{/*
Names, labels, images and the settings every Yuqing container shares.
Templates pass a dict: (dict "ctx" $ "component" "api").
*/}}

{{- define "yuqing.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yuqing.fullname" -}}
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

{{/* "<fullname>-<component>", e.g. yq-yuqing-api. */}}
{{- define "yuqing.componentName" -}}
{{- printf "%s-%s" (include "yuqing.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "yuqing.selectorLabels" -}}
app.kubernetes.io/name: {{ include "yuqing.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "yuqing.labels" -}}
{{ include "yuqing.selectorLabels" . }}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: yuqing
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* A Yuqing image: (dict "ctx" $ "image" "app"|"crawler"|"spark"|"asrCuda"). */}}
{{- define "yuqing.image" -}}
{{- $images := .ctx.Values.images }}
{{- $repo := (index $images .image).repository }}
{{- printf "%s/%s:%s" (trimSuffix "/" $images.registry) $repo (default .ctx.Chart.AppVersion $images.tag) }}
{{- end }}

{{- define "yuqing.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "yuqing.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "yuqing.imagePullSecrets" -}}
{{- with .Values.images.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end }}

{{- define "yuqing.podSecurityContext" -}}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{- define "yuqing.containerSecurityContext" -}}
securityContext:
  {{- toYaml .Values.containerSecurityContext | nindent 2 }}
{{- end }}

{{/* Pod annotations that roll the pods when the mounted configuration changes. */}}
{{- define "yuqing.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
{{- end }}

{{/* --- Where the dependencies are ------------------------------------------------- */}}

{{- define "yuqing.objectStoreUrl" -}}
{{- if .Values.minio.enabled }}
{{- printf "s3://%s" .Values.minio.bucket }}
{{- else }}
{{- .Values.objectStore.url }}
{{- end }}
{{- end }}

{{- define "yuqing.s3EndpointUrl" -}}
{{- if .Values.minio.enabled }}
{{- printf "http://%s:9000" (include "yuqing.componentName" (dict "ctx" . "component" "minio")) }}
{{- else }}
{{- .Values.objectStore.endpointUrl }}
{{- end }}
{{- end }}

{{- define "yuqing.redisAddress" -}}
{{- printf "%s:6379" (include "yuqing.componentName" (dict "ctx" . "component" "redis")) }}
{{- end }}

{{- define "yuqing.llmBaseUrl" -}}
{{- if .Values.vllm.enabled }}
{{- printf "http://%s:%v/v1" (include "yuqing.componentName" (dict "ctx" . "component" "vllm")) .Values.vllm.service.port }}
{{- else }}
{{- .Values.llm.baseUrl }}
{{- end }}
{{- end }}

{{- define "yuqing.llmModel" -}}
{{- default .Values.vllm.servedModelName .Values.llm.model }}
{{- end }}

{{/* A URL that carries a password belongs in a Secret: (dict "what" "database.url" "url" $url). */}}
{{- define "yuqing.refusePlaintextPassword" -}}
{{- if regexMatch "://[^/@]*:[^/@]+@" .url }}
{{- fail (printf "%s carries a password; put the URL in a Secret and name it in %s.existingSecret (values must hold no secrets)" .what (trimSuffix ".url" .what)) }}
{{- end }}
{{- end }}

{{/* Combinations the schema cannot express; rendered (as nothing) by configmap.yaml. */}}
{{- define "yuqing.validate" -}}
{{- $v := .Values -}}
{{- include "yuqing.refusePlaintextPassword" (dict "what" "database.url" "url" $v.database.url) }}
{{- include "yuqing.refusePlaintextPassword" (dict "what" "broker.url" "url" $v.broker.url) }}
{{- if and (not $v.postgresql.enabled) (not $v.database.existingSecret.name) (not $v.database.url) }}
{{- fail "no database: set database.existingSecret.name (a Secret holding the SQLAlchemy URL), database.url, or postgresql.enabled=true" }}
{{- end }}
{{- if and (not $v.redis.enabled) (not $v.broker.existingSecret.name) (not $v.broker.url) }}
{{- fail "no broker: set broker.existingSecret.name (a Secret holding the Redis URL), broker.url, or redis.enabled=true" }}
{{- end }}
{{- if and (eq $v.config.analyzer "llm") (not $v.vllm.enabled) (not $v.llm.baseUrl) }}
{{- fail "config.analyzer is llm but vllm.enabled is false and llm.baseUrl is empty: enable vLLM, point llm.baseUrl at a server, or use config.analyzer=offline" }}
{{- end }}
{{- if and $v.vllm.lora.enabled (not $v.vllm.lora.adapters) }}
{{- fail "vllm.lora.enabled needs at least one adapter in vllm.lora.adapters (name and path)" }}
{{- end }}
{{- if and $v.analysis.autoscaling.enabled (eq $v.analysis.autoscaling.mode "keda") (not $v.redis.enabled) (not $v.analysis.autoscaling.keda.redisAddress) }}
{{- fail "analysis.autoscaling.mode=keda reads the queue from Redis: set analysis.autoscaling.keda.redisAddress (host:port) or redis.enabled=true" }}
{{- end }}
{{- $names := list }}
{{- range $v.crawl.sources }}
{{- if has .name $names }}
{{- fail (printf "crawl.sources: the name %q is used twice" .name) }}
{{- end }}
{{- $names = append $names .name }}
{{- end }}
{{- end }}

{{/* --- What every Yuqing container gets --------------------------------------------- */}}

{{- define "yuqing.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .secret }}
      key: {{ .key }}
{{- end }}

{{/* YQ_DATABASE_URL: from the bundled PostgreSQL's generated Secret, an existing Secret, or a password-less URL. */}}
{{- define "yuqing.databaseEnv" -}}
{{- $v := .Values -}}
{{- if $v.postgresql.enabled }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_DATABASE_URL" "secret" (include "yuqing.componentName" (dict "ctx" . "component" "postgresql")) "key" "url") }}
{{- else if $v.database.existingSecret.name }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_DATABASE_URL" "secret" $v.database.existingSecret.name "key" $v.database.existingSecret.key) }}
{{- else }}
- name: YQ_DATABASE_URL
  value: {{ $v.database.url | quote }}
{{- end }}
{{- end }}

{{/* Environment of every Yuqing container: settings (yuqing/settings.py) and where the secrets are. */}}
{{- define "yuqing.env" -}}
{{- $v := .Values -}}
- name: YQ_CONFIG
  value: /etc/yuqing/config/yuqing.yaml
- name: YQ_DATA_DIR
  value: /var/lib/yuqing
- name: YQ_LOG_LEVEL
  value: {{ $v.config.logLevel | quote }}
- name: YQ_LOG_FORMAT
  value: json
- name: YQ_ANALYZER
  value: {{ $v.config.analyzer | quote }}
- name: HOME
  value: /tmp
{{ include "yuqing.databaseEnv" . }}
{{- if $v.redis.enabled }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_BROKER_URL" "secret" (include "yuqing.componentName" (dict "ctx" . "component" "redis")) "key" "url") }}
{{- else if $v.broker.existingSecret.name }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_BROKER_URL" "secret" $v.broker.existingSecret.name "key" $v.broker.existingSecret.key) }}
{{- else }}
- name: YQ_BROKER_URL
  value: {{ $v.broker.url | quote }}
{{- end }}
- name: YQ_OBJECT_STORE_URL
  value: {{ include "yuqing.objectStoreUrl" . | quote }}
{{- with include "yuqing.s3EndpointUrl" . }}
- name: YQ_S3__ENDPOINT_URL
  value: {{ . | quote }}
{{- end }}
- name: YQ_S3__REGION
  value: {{ $v.objectStore.region | quote }}
- name: YQ_S3__ADDRESSING_STYLE
  value: {{ if $v.minio.enabled }}path{{ else }}{{ $v.objectStore.addressingStyle }}{{ end }}
{{- if $v.minio.enabled }}
{{- $minio := include "yuqing.componentName" (dict "ctx" . "component" "minio") }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_S3__ACCESS_KEY_ID" "secret" $minio "key" "root-user") }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_S3__SECRET_ACCESS_KEY" "secret" $minio "key" "root-password") }}
{{- else if $v.objectStore.existingSecret.name }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_S3__ACCESS_KEY_ID" "secret" $v.objectStore.existingSecret.name "key" $v.objectStore.existingSecret.accessKeyIdKey) }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_S3__SECRET_ACCESS_KEY" "secret" $v.objectStore.existingSecret.name "key" $v.objectStore.existingSecret.secretAccessKeyKey) }}
{{- end }}
{{- with include "yuqing.llmBaseUrl" . }}
- name: YQ_LLM__BASE_URL
  value: {{ . | quote }}
{{- end }}
- name: YQ_LLM__MODEL
  value: {{ include "yuqing.llmModel" . | quote }}
{{- if and $v.vllm.enabled $v.vllm.apiKey.secretName }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_LLM__API_KEY" "secret" $v.vllm.apiKey.secretName "key" $v.vllm.apiKey.key) }}
{{- else if and (not $v.vllm.enabled) $v.llm.apiKey.secretName }}
{{ include "yuqing.secretEnv" (dict "name" "YQ_LLM__API_KEY" "secret" $v.llm.apiKey.secretName "key" $v.llm.apiKey.key) }}
{{- end }}
{{- if $v.crawl.sources }}
- name: YQ_CRAWL__SOURCES_FILE
  value: /etc/yuqing/sources/sources.yaml
{{- end }}
{{- with $v.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "yuqing.volumeMounts" -}}
- name: config
  mountPath: /etc/yuqing/config
  readOnly: true
{{- if .Values.crawl.sources }}
- name: sources
  mountPath: /etc/yuqing/sources
  readOnly: true
{{- end }}
- name: data
  mountPath: /var/lib/yuqing
- name: tmp
  mountPath: /tmp
{{- end }}

{{/* Volumes behind yuqing.volumeMounts: the settings file, the sources file, scratch space. */}}
{{- define "yuqing.volumes" -}}
- name: config
  configMap:
    name: {{ include "yuqing.componentName" (dict "ctx" . "component" "config") }}
{{- if .Values.crawl.sources }}
- name: sources
  configMap:
    name: {{ include "yuqing.componentName" (dict "ctx" . "component" "sources") }}
{{- end }}
- name: data
  emptyDir: {}
- name: tmp
  emptyDir: {}
{{- end }}

{{/* Pod placement: (dict "nodeSelector" .. "tolerations" .. "affinity" ..). */}}
{{- define "yuqing.placement" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}

{{/*
A Celery worker pod template: (dict "ctx" $ "component" "analysis-worker" "queues" "analysis"
"concurrency" 8 "image" "app" "resources" {...} "env" [..] "volumeMounts" [..] "volumes" [..]
"placement" {...} "podExtra" {...}). Liveness is `celery inspect ping` against this very worker.
*/}}
{{- define "yuqing.workerPodTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "yuqing.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
  annotations:
    {{- include "yuqing.configChecksum" $ctx | nindent 4 }}
spec:
  serviceAccountName: {{ include "yuqing.serviceAccountName" $ctx }}
  automountServiceAccountToken: false
  {{- include "yuqing.imagePullSecrets" $ctx | nindent 2 }}
  {{- include "yuqing.podSecurityContext" $ctx | nindent 2 }}
  # Celery finishes the task in hand on SIGTERM (acks_late tasks are re-delivered if it cannot).
  terminationGracePeriodSeconds: 300
  {{- with .podExtra }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  containers:
    - name: worker
      image: {{ include "yuqing.image" (dict "ctx" $ctx "image" .image) }}
      imagePullPolicy: {{ $ctx.Values.images.pullPolicy }}
      args: ["worker", "--queues", {{ .queues | quote }}, "--concurrency", {{ .concurrency | quote }}]
      env:
        {{- include "yuqing.env" $ctx | nindent 8 }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumeMounts:
        {{- include "yuqing.volumeMounts" $ctx | nindent 8 }}
        {{- with .volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- include "yuqing.containerSecurityContext" $ctx | nindent 6 }}
      resources:
        {{- toYaml .resources | nindent 8 }}
      livenessProbe:
        exec:
          command: ["sh", "-c", "celery --app yuqing.celery_app inspect ping --timeout 10 --destination celery@$HOSTNAME"]
        initialDelaySeconds: 60
        periodSeconds: 120
        timeoutSeconds: 30
        failureThreshold: 3
  volumes:
    {{- include "yuqing.volumes" $ctx | nindent 4 }}
    {{- with .volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- include "yuqing.placement" .placement | nindent 2 }}
{{- end }}

{{/* Chromium and chromedriver as installed in the crawler image (docker/crawler.Dockerfile). */}}
{{- define "yuqing.crawlerEnv" -}}
- name: YQ_CRAWL__CHROMIUM_PATH
  value: /usr/bin/chromium
- name: YQ_CRAWL__CHROMEDRIVER_PATH
  value: /usr/bin/chromedriver
# Selenium Manager must not look for drivers on the network.
- name: SE_OFFLINE
  value: "true"
- name: SE_AVOID_STATS
  value: "true"
{{- end }}

{{/*
The pod template of a run-once Yuqing command (crawl, enqueue):
(dict "ctx" $ "component" "crawl" "image" "app" "args" (list ..) "resources" {..}
"env" [..] "volumeMounts" [..] "volumes" [..] "placement" {..}).
*/}}
{{- define "yuqing.jobPodTemplate" -}}
{{- $ctx := .ctx -}}
metadata:
  labels:
    {{- include "yuqing.labels" (dict "ctx" $ctx "component" .component) | nindent 4 }}
spec:
  restartPolicy: Never
  serviceAccountName: {{ include "yuqing.serviceAccountName" $ctx }}
  automountServiceAccountToken: false
  {{- include "yuqing.imagePullSecrets" $ctx | nindent 2 }}
  {{- include "yuqing.podSecurityContext" $ctx | nindent 2 }}
  containers:
    - name: {{ .component }}
      image: {{ include "yuqing.image" (dict "ctx" $ctx "image" .image) }}
      imagePullPolicy: {{ $ctx.Values.images.pullPolicy }}
      {{- with .command }}
      command:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      args:
        {{- toYaml .args | nindent 8 }}
      env:
        {{- include "yuqing.env" $ctx | nindent 8 }}
        {{- with .env }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumeMounts:
        {{- include "yuqing.volumeMounts" $ctx | nindent 8 }}
        {{- with .volumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- include "yuqing.containerSecurityContext" $ctx | nindent 6 }}
      resources:
        {{- toYaml .resources | nindent 8 }}
  volumes:
    {{- include "yuqing.volumes" $ctx | nindent 4 }}
    {{- with .volumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- include "yuqing.placement" (default dict .placement) | nindent 2 }}
{{- end }}

{{/* The Spark driver's wrapper in the spark image (docker/spark/clean_job.py) and its arguments. */}}
{{- define "yuqing.cleanArgs" -}}
- --since-days
- {{ .Values.clean.sinceDays | quote }}
{{- if and .Values.clean.enqueueAnalysis .Values.analysis.enabled }}
- --enqueue-analysis
{{- end }}
{{- end }}

{{/* Labels Spark puts on the executor pods (NetworkPolicy and clean-up select them). */}}
{{- define "yuqing.sparkExecutorLabels" -}}
{{ include "yuqing.labels" (dict "ctx" . "component" "clean-executor") }}
{{- end }}

{{/*
A password the chart generates for a bundled dependency, kept across upgrades: the value
already in the release's Secret when there is one, else a new random one.
(dict "ctx" $ "secret" NAME "key" KEY)
*/}}
{{- define "yuqing.generatedPassword" -}}
{{- $existing := lookup "v1" "Secret" .ctx.Release.Namespace .secret }}
{{- if and $existing $existing.data (hasKey $existing.data .key) }}
{{- index $existing.data .key | b64dec }}
{{- else }}
{{- randAlphaNum 32 }}
{{- end }}
{{- end }}
