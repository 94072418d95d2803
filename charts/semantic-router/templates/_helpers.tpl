{{/*
Naming, labels, platform and security helpers shared by every template.
*/}}

{{/* semantic-router.name: the app name label; nameOverride lets two charts share a namespace without label clashes. */}}
{{- define "semantic-router.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router.fullname: the release name itself (or fullnameOverride), so `deployment/<release>` and `svc/<release>` are predictable; a name that is not a DNS label of at most 49 characters (room for the longest suffix, "-grpc-headless"), or that YAML reads as a boolean or null (`true`, `on`, `null` ...), gets dots made dashes, a letter in front, is cut and suffixed with a hash of the whole name, so it stays unique and stable. */}}
{{- define "semantic-router.fullname" -}}
{{- $name := default .Release.Name .Values.fullnameOverride -}}
{{- $yamlWords := list "y" "n" "yes" "no" "on" "off" "true" "false" "null" -}}
{{- if and (le (len $name) 49) (regexMatch "^[a-z]([-a-z0-9]*[a-z0-9])?$" $name) (not (has $name $yamlWords)) -}}
{{- $name -}}
{{- else -}}
{{- $label := replace "." "-" $name -}}
{{- if not (regexMatch "^[a-z]" $label) -}}
{{- $label = printf "sr-%s" $label -}}
{{- end -}}
{{- printf "%s-%s" ($label | trunc 38 | trimAll "-.") (sha256sum $name | trunc 10) -}}
{{- end -}}
{{- end }}

{{/* semantic-router.chart: chart name and version for the helm.sh/chart label, so objects show which chart made them. */}}
{{- define "semantic-router.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router.labels: the standard labels on every object, so `-l app.kubernetes.io/instance=<release>` finds them all. */}}
{{- define "semantic-router.labels" -}}
helm.sh/chart: {{ include "semantic-router.chart" . }}
{{ include "semantic-router.selectorLabels" . }}
app.kubernetes.io/version: {{ regexReplaceAll "[^-A-Za-z0-9_.]" ((.Values.image.tag | default .Chart.AppVersion) | toString) "-" | trunc 63 | trimAll "-_." | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: semantic-router
{{- end }}

{{/* semantic-router.selectorLabels: name + instance only, because selectors are immutable and must not change across upgrades. */}}
{{- define "semantic-router.selectorLabels" -}}
app.kubernetes.io/name: {{ include "semantic-router.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | quote }}
{{- end }}

{{/* semantic-router.serviceAccountName: one place decides between the created account, a named existing one and "default". */}}
{{- define "semantic-router.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "semantic-router.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* semantic-router.image: `[registry/]repository:tag` from an image block; the tag falls back to the given default. */}}
{{- define "semantic-router.image" -}}
{{- $img := .image -}}
{{- $registry := trimSuffix "/" (default "" $img.imageRegistry) -}}
{{- $tag := default .default $img.tag | toString -}}
{{- if $registry -}}
{{- printf "%s/%s:%s" $registry $img.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $img.repository $tag -}}
{{- end -}}
{{- end }}

{{/* semantic-router.isOpenShift: "true" on OpenShift (explicit, or detected by the Route API when platform is auto), else empty. */}}
{{- define "semantic-router.isOpenShift" -}}
{{- if eq .Values.platform "openshift" -}}
true
{{- else if and (eq .Values.platform "auto") (.Capabilities.APIVersions.Has "route.openshift.io/v1") -}}
true
{{- end -}}
{{- end }}

{{/* semantic-router.standalone: "true" when no existing Gateway is referenced, i.e. the pod carries its own Envoy. */}}
{{- define "semantic-router.standalone" -}}
{{- if not .Values.gateway.existingRef.name -}}
true
{{- end -}}
{{- end }}

{{/* semantic-router.podSecurityContext: platform defaults (no fixed IDs on OpenShift, whose SCCs assign them) with the user's podSecurityContext merged over them. */}}
{{- define "semantic-router.podSecurityContext" -}}
{{- $ctx := dict "runAsNonRoot" true "seccompProfile" (dict "type" "RuntimeDefault") -}}
{{- if not (include "semantic-router.isOpenShift" .) -}}
{{- $_ := set $ctx "runAsUser" 1000 -}}
{{- $_ := set $ctx "runAsGroup" 1000 -}}
{{- $_ := set $ctx "fsGroup" 1000 -}}
{{- end -}}
{{- toYaml (mergeOverwrite $ctx (deepCopy (default (dict) .Values.podSecurityContext))) -}}
{{- end }}

{{/* semantic-router.containerSecurityContext: the hardened container defaults with a user override (dict `user`) merged over them. */}}
{{- define "semantic-router.containerSecurityContext" -}}
{{- $ctx := dict "allowPrivilegeEscalation" false "readOnlyRootFilesystem" true "runAsNonRoot" true "capabilities" (dict "drop" (list "ALL")) -}}
{{- toYaml (mergeOverwrite $ctx (deepCopy (default (dict) .user))) -}}
{{- end }}

{{/* semantic-router.routerConfigName: the router ConfigMap's name, shared by the ConfigMap and the Deployment. */}}
{{- define "semantic-router.routerConfigName" -}}
{{- printf "%s-config" (include "semantic-router.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router.envoyConfigName: the Envoy ConfigMap's name, shared by the ConfigMap and the Deployment. */}}
{{- define "semantic-router.envoyConfigName" -}}
{{- printf "%s-envoy" (include "semantic-router.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* semantic-router.headlessName: the headless gRPC Service; the fullname is shortened so the suffix still fits 63 chars. */}}
{{- define "semantic-router.headlessName" -}}
{{- printf "%s-grpc-headless" (include "semantic-router.fullname" . | trunc 49 | trimSuffix "-") }}
{{- end }}

{{/* semantic-router.modelsClaimName: the PVC the models volume mounts (an existing claim wins over the chart's own). */}}
{{- define "semantic-router.modelsClaimName" -}}
{{- if .Values.persistence.existingClaim -}}
{{- .Values.persistence.existingClaim -}}
{{- else -}}
{{- printf "%s-models" (include "semantic-router.fullname" . | trunc 56 | trimSuffix "-") -}}
{{- end -}}
{{- end }}

{{/* semantic-router.mostReplicas: how many router pods may run at once (the autoscaler's maxReplicas when it is on), which decides whether one node-bound models claim can serve them all. */}}
{{- define "semantic-router.mostReplicas" -}}
{{- ternary (int .Values.autoscaling.maxReplicas) (int .Values.replicas) (eq (toString .Values.autoscaling.enabled) "true") -}}
{{- end }}

{{/* semantic-router.routerArgs: the router container's args ({items: [...]}). The router listens where its flags say (--port 50051, --metrics-port 9190 unless given), not where the Service points: a targetPort of another number is passed as the flag, before the user's args. */}}
{{- define "semantic-router.routerArgs" -}}
{{- $args := list -}}
{{- if ne (int .Values.service.grpc.targetPort) 50051 -}}
{{- $args = append $args (printf "--port=%d" (int .Values.service.grpc.targetPort)) -}}
{{- end -}}
{{- if ne (int .Values.service.metrics.targetPort) 9190 -}}
{{- $args = append $args (printf "--metrics-port=%d" (int .Values.service.metrics.targetPort)) -}}
{{- end -}}
{{- toYaml (dict "items" (concat $args (default (list) .Values.args))) -}}
{{- end }}
