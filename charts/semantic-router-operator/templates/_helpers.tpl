{{/*
Naming and label helpers shared by every template of the operator chart.
*/}}

{{/* semantic-router-operator.name: the app name label; nameOverride replaces it. */}}
{{- define "semantic-router-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router-operator.fullname: the prefix of every object's name, so that release `semantic-router-operator` names its objects exactly as config/default does (semantic-router-operator-controller-manager ...); a release name that lacks the chart name gets it appended, so two releases never share a cluster-scoped name. Cut to 35 characters, room for the longest suffix ("-manager-cluster-rolebinding") within 63: release names must differ within those 35. */}}
{{- define "semantic-router-operator.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 35 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "semantic-router-operator.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 35 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 35 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* semantic-router-operator.chart: chart name and version for the helm.sh/chart label, so objects show which chart made them. */}}
{{- define "semantic-router-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router-operator.labels: the standard labels on every object, so `-l app.kubernetes.io/instance=<release>` finds them all. */}}
{{- define "semantic-router-operator.labels" -}}
helm.sh/chart: {{ include "semantic-router-operator.chart" . }}
{{ include "semantic-router-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: semantic-router-operator
{{- end }}

{{/* semantic-router-operator.selectorLabels: name + instance only, because a Deployment's selector is immutable and must not change across upgrades. */}}
{{- define "semantic-router-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "semantic-router-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* semantic-router-operator.serviceAccountName: one place decides between the created account and a named existing one. */}}
{{- define "semantic-router-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (printf "%s-controller-manager" (include "semantic-router-operator.fullname" .)) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount the operator runs as (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end }}

{{/* semantic-router-operator.image: `repository:tag`, `repository@digest` or both; the tag defaults to appVersion. */}}
{{- define "semantic-router-operator.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag | toString -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end }}

{{/* semantic-router-operator.rbacFile: one role of config/rbac, copied into files/rbac by `make bundle`, so the chart grants exactly what kustomize and OLM grant. */}}
{{- define "semantic-router-operator.rbacFile" -}}
{{- $path := printf "files/rbac/%s" .file -}}
{{- $text := .root.Files.Get $path -}}
{{- if not $text -}}
{{- fail (printf "%s is missing from the chart: run `make bundle`" $path) -}}
{{- end -}}
{{- $text | fromYaml | toJson -}}
{{- end }}
