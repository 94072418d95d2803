{{/*
Gateway mode: what the Gateway's Envoy needs to route like the standalone sidecar does. The router
(ext_proc) sets x-selected-model; the HTTPRoute has one rule per model matching that header and a
default rule to providers.defaults.model; the router is attached per implementation.
*/}}

{{/* semantic-router.gatewayNamespace: the namespace of the referenced Gateway (the release namespace when unset). */}}
{{- define "semantic-router.gatewayNamespace" -}}
{{- default .Release.Namespace .Values.gateway.existingRef.namespace -}}
{{- end }}

{{/*
semantic-router.gatewayRoutes: every provider model with backends as HTTPRoute backendRefs
({items: [{name, https, sni, backends: [{service, namespace, port, weight}]}], default: <model or "">}).
A backendRef names a Service, so each backend host must be a Service address
(<service>.<namespace>.svc[.cluster.local]); anything else fails naming the model.
*/}}
{{- define "semantic-router.gatewayRoutes" -}}
{{- $cfg := include "semantic-router.parse" (dict "text" (include "semantic-router.routerConfigChecked" .) "what" "the router config") | fromJson -}}
{{- $upstreams := (include "semantic-router.parse" (dict "text" (include "semantic-router.upstreams" (dict "config" $cfg)) "what" "the Envoy upstreams") | fromJson).items -}}
{{- $defaultModel := toString (dig "providers" "defaults" "model" "" $cfg) -}}
{{- $items := list -}}
{{- $default := "" -}}
{{- range $upstreams -}}
{{- $backends := list -}}
{{- $model := .name -}}
{{- range .endpoints -}}
{{- $parts := regexFindAll "^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.([a-z0-9]([-a-z0-9]*[a-z0-9])?)\\.svc(\\.cluster\\.local)?$" .host 1 -}}
{{- if not $parts -}}
{{- fail (printf "gateway mode: model %q has the backend %s:%d, which is not a Service address (<service>.<namespace>.svc.cluster.local); an HTTPRoute can only route to Services: use backend.type service or kserve, or a Service of type ExternalName in front of that host" $model .host (int .port)) -}}
{{- end -}}
{{- $labels := splitList "." .host -}}
{{- $backends = append $backends (dict "service" (index $labels 0) "namespace" (index $labels 1) "port" (int .port) "weight" (int .weight)) -}}
{{- end -}}
{{- if gt (len $backends) 16 -}}
{{- fail (printf "gateway mode: model %q has %d backends, more than the 16 backendRefs an HTTPRoute rule takes" $model (len $backends)) -}}
{{- end -}}
{{- $items = append $items (dict "name" $model "https" .https "sni" .sni "backends" $backends) -}}
{{- if eq $model $defaultModel -}}
{{- $default = $model -}}
{{- end -}}
{{- end -}}
{{- if gt (len $items) (ternary 15 16 (ne $default "")) -}}
{{- fail (printf "gateway mode: %d models need %d HTTPRoute rules, more than the 16 an HTTPRoute holds: route at most 15 models (plus the default rule) through one router" (len $items) (add (len $items) (ternary 1 0 (ne $default "")))) -}}
{{- end -}}
{{- toYaml (dict "items" $items "default" $default) -}}
{{- end }}

{{/* semantic-router.gatewayDuration: a duration (300s, 1.5s, 1h) in the Gateway API's form (whole seconds, else milliseconds). */}}
{{- define "semantic-router.gatewayDuration" -}}
{{- $seconds := include "semantic-router.envoyDuration" . | trimSuffix "s" | float64 -}}
{{- if eq (mulf $seconds 1000.0 | int64) (mulf (floor $seconds) 1000.0 | int64) -}}
{{- printf "%ds" (int64 $seconds) -}}
{{- else -}}
{{- printf "%dms" (round (mulf $seconds 1000.0) 0 | int64) -}}
{{- end -}}
{{- end }}

{{/* semantic-router.backendRefs: the HTTPRoute backendRefs of one model (dict model, release namespace). */}}
{{- define "semantic-router.backendRefs" -}}
{{- range .model.backends }}
- group: ""
  kind: Service
  name: {{ .service | quote }}
  {{- if ne .namespace $.namespace }}
  namespace: {{ .namespace | quote }}
  {{- end }}
  port: {{ int .port }}
  weight: {{ int .weight }}
{{- end }}
{{- end }}

{{/* semantic-router.extProcTimeout: the ext_proc message timeout in the Gateway API's duration form. */}}
{{- define "semantic-router.extProcTimeout" -}}
{{- include "semantic-router.gatewayDuration" .Values.envoy.extProc.messageTimeout -}}
{{- end }}

{{/* semantic-router.managementTokens: the management API bearer tokens with the env var each is bound to ({items: [{env, role, name, key}]}). */}}
{{- define "semantic-router.managementTokens" -}}
{{- $items := list -}}
{{- range $i, $t := (default (list) .Values.managementApi.tokens) -}}
{{- $ref := default (dict) $t.secretKeyRef -}}
{{- if or (not $ref.name) (not $ref.key) -}}
{{- fail (printf "managementApi.tokens[%d].secretKeyRef needs name and key: the Secret and the key holding the bearer token" $i) -}}
{{- end -}}
{{- $items = append $items (dict "env" (printf "SR_MANAGEMENT_TOKEN_%d" $i) "role" (default "viewer" $t.role) "name" $ref.name "key" $ref.key) -}}
{{- end -}}
{{- if and .Values.managementApi.expose (not $items) -}}
{{- fail "managementApi.expose needs at least one managementApi.tokens entry: the router refuses remote exposure without bearer authentication" -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end }}

{{/* semantic-router.managementApiConfig: sets global.services.management_api on the given global dict: loopback unless exposed, then 0.0.0.0 with bearer tokens from env. */}}
{{- define "semantic-router.managementApiConfig" -}}
{{- $services := default (dict) (get .global "services") -}}
{{- $api := default (dict) $services.management_api -}}
{{- $_ := set $api "port" (int .values.service.api.targetPort) -}}
{{- if .values.managementApi.expose -}}
{{- $tokens := list -}}
{{- range .tokens -}}
{{- $tokens = append $tokens (dict "env" .env "role" .role) -}}
{{- end -}}
{{- $_ := set $api "bind_address" "0.0.0.0" -}}
{{- $_ := set $api "remote_exposure" true -}}
{{- $_ := set $api "auth" (merge (dict "mode" "bearer" "tokens" $tokens) (omit (default (dict) $api.auth) "mode" "tokens")) -}}
{{- else -}}
{{- $_ := set $api "bind_address" "127.0.0.1" -}}
{{- $_ := set $api "remote_exposure" false -}}
{{- end -}}
{{- $_ := set $services "management_api" $api -}}
{{- $_ := set .global "services" $services -}}
{{- end }}
