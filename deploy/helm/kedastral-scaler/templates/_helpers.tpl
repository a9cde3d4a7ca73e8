{{/* SPDX-License-Identifier: Apache-2.0 */}}
{{/*
Names and labels, the port numbers read from the listen addresses, and the YAML -> libconfig
renderer that turns `config` into kedastral-scaler.conf.
*/}}

{{- define "kedastral-scaler.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kedastral-scaler.fullname" -}}
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

{{/* The headless Service's name; "-headless" must survive the 63-character cut. */}}
{{- define "kedastral-scaler.headlessName" -}}
{{- printf "%s-headless" (include "kedastral-scaler.fullname" . | trunc 54 | trimSuffix "-") }}
{{- end }}

{{- define "kedastral-scaler.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kedastral-scaler.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kedastral-scaler.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kedastral-scaler.labels" -}}
helm.sh/chart: {{ include "kedastral-scaler.chart" . }}
{{ include "kedastral-scaler.selectorLabels" . }}
app.kubernetes.io/component: scaler
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "kedastral-scaler.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The port of a "host:port" listen address. Containers, probes and Services use these numbers,
so editing config.listen moves everything together (gRPC probes accept numbers only).
*/}}
{{- define "kedastral-scaler.portOf" -}}
{{- $port := regexFind "[0-9]+$" . }}
{{- if not $port }}
{{- fail (printf "listen address %q has no port; write host:port, e.g. \"0.0.0.0:50051\"" .) }}
{{- end }}
{{- $port }}
{{- end }}

{{- define "kedastral-scaler.grpcPort" -}}
{{- include "kedastral-scaler.portOf" .Values.config.listen }}
{{- end }}

{{- define "kedastral-scaler.httpPort" -}}
{{- include "kedastral-scaler.portOf" .Values.config.httpListen }}
{{- end }}

{{/*
One YAML scalar as a libconfig value. Strings are quoted with libconfig's escapes, booleans
and integers are bare (Helm reads every YAML number as float64, so whole floats are
integers), other numbers are floats. Durations and sizes are strings in both languages.
Arrays of scalars (a route's overrides, list options) become libconfig arrays; nothing else
is written.
*/}}
{{- define "kedastral-scaler.libconfig.value" -}}
{{- $v := . }}
{{- if kindIs "string" $v }}
{{- printf "\"%s\"" ($v | replace "\\" "\\\\" | replace "\"" "\\\"" | replace "\n" "\\n" | replace "\r" "\\r" | replace "\t" "\\t") }}
{{- else if kindIs "bool" $v }}
{{- ternary "true" "false" $v }}
{{- else if or (kindIs "float64" $v) (kindIs "float32" $v) }}
{{- if eq (float64 (int64 $v)) (float64 $v) }}
{{- include "kedastral-scaler.libconfig.int" (int64 $v) }}
{{- else }}
{{- $text := printf "%v" $v }}
{{- if not (regexMatch "[.eE]" $text) }}{{ $text = printf "%s.0" $text }}{{ end }}
{{- $text }}
{{- end }}
{{- else if or (kindIs "int" $v) (kindIs "int64" $v) (kindIs "int32" $v) (kindIs "uint64" $v) }}
{{- include "kedastral-scaler.libconfig.int" (int64 $v) }}
{{- else if kindIs "slice" $v }}
{{- $items := list }}
{{- range $v }}
{{- if or (kindIs "slice" .) (kindIs "map" .) }}
{{- fail "kedastral-scaler.conf arrays hold strings, numbers or booleans" }}
{{- end }}
{{- $items = append $items (include "kedastral-scaler.libconfig.value" .) }}
{{- end }}
{{- printf "[%s]" (join ", " $items) }}
{{- else }}
{{- fail (printf "kedastral-scaler.conf values are strings, numbers or booleans, not a %s" (kindOf $v)) }}
{{- end }}
{{- end }}

{{/* libconfig integers are 32-bit unless suffixed with L. */}}
{{- define "kedastral-scaler.libconfig.int" -}}
{{- $i := int64 . }}
{{- if or (gt $i 2147483647) (lt $i -2147483648) }}{{ printf "%dL" $i }}{{ else }}{{ printf "%d" $i }}{{ end }}
{{- end }}

{{/*
A map as a libconfig group on one line: identifying keys first (name, plugin, match,
source, policy), then the rest in alphabetical order; null values are left out.
*/}}
{{- define "kedastral-scaler.libconfig.group" -}}
{{- $m := . }}
{{- $first := list "name" "plugin" "match" "source" "policy" }}
{{- $keys := $first }}
{{- range $k := keys $m | sortAlpha }}{{ if not (has $k $first) }}{{ $keys = append $keys $k }}{{ end }}{{ end }}
{{- $parts := list }}
{{- range $k := $keys }}
{{- if and (hasKey $m $k) (not (kindIs "invalid" (get $m $k))) }}
{{- if not (regexMatch "^[A-Za-z*][-A-Za-z0-9_*]*$" $k) }}
{{- fail (printf "%q is not a valid kedastral-scaler.conf key (letters, digits, _ and -, starting with a letter)" $k) }}
{{- end }}
{{- $parts = append $parts (printf "%s = %s;" $k (include "kedastral-scaler.libconfig.value" (get $m $k))) }}
{{- end }}
{{- end }}
{{- printf "{ %s }" (join " " $parts) }}
{{- end }}

{{/* A top-level list of groups (sources, policies, workloads), one entry per line. */}}
{{- define "kedastral-scaler.libconfig.groupList" -}}
{{- $items := list }}
{{- range . }}
{{- if not (kindIs "map" .) }}
{{- fail (printf "entries of sources, policies and workloads must be maps, not %s" (kindOf .)) }}
{{- end }}
{{- $items = append $items (printf "    %s" (include "kedastral-scaler.libconfig.group" .)) }}
{{- end }}
{{- if $items }}
{{- printf "(\n%s\n)" (join ",\n" $items) }}
{{- else }}
{{- print "( )" }}
{{- end }}
{{- end }}

{{/* kedastral-scaler.conf from .Values.config. */}}
{{- define "kedastral-scaler.configFile" -}}
{{- $c := .Values.config -}}
# kedastral-scaler.conf, rendered by the {{ include "kedastral-scaler.chart" . }} chart from its values
# (config.*). Edit the values, not this file; `kedastral-scaler --check-config` validates it.
{{- range $pair := list (list "listen" "listen") (list "httpListen" "http_listen") (list "pluginDir" "plugin_dir") (list "logLevel" "log_level") (list "logFormat" "log_format") (list "reflection" "reflection") (list "maxMessageSize" "max_message_size") (list "defaultDeadline" "default_deadline") (list "shutdownTimeout" "shutdown_timeout") (list "configPoll" "config_poll") }}
{{- $v := index $c (index $pair 0) }}
{{- if and (not (kindIs "invalid" $v)) (ne (toString $v) "") }}
{{ index $pair 1 }} = {{ include "kedastral-scaler.libconfig.value" $v }};
{{- end }}
{{- end }}
{{- range $key := list "sources" "policies" "workloads" }}
{{ $key }} = {{ include "kedastral-scaler.libconfig.groupList" (get $c $key | default list) }};
{{- end }}
{{- with .Values.tls }}
{{- if .secretName }}
{{- $dir := include "kedastral-scaler.tlsDir" $ }}
{{- $group := dict "cert" (printf "%s/tls.crt" $dir) "key" (printf "%s/tls.key" $dir) "client_auth" .clientAuth "min_version" .minVersion }}
{{- if ne .clientAuth "none" }}{{ $_ := set $group "client_ca" (printf "%s/ca.crt" $dir) }}{{ end }}
tls = {{ include "kedastral-scaler.libconfig.group" $group }};
{{- end }}
{{- end }}
{{- end }}

{{/* Where tls.secretName is mounted (not below the ConfigMap's folder: no nested mounts). */}}
{{- define "kedastral-scaler.tlsDir" -}}
/etc/kedastral-scaler-tls
{{- end }}
