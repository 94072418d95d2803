{{/*
semantic-router.envoyConfig: the standalone-mode Envoy bootstrap, the same shape `vllm-sr config envoy`
generates: listener -> http_connection_manager -> ext_proc (router on 127.0.0.1) -> router filter,
one route and one cluster per model keyed on the x-selected-model header the router sets.
A request without a router selection (the router passed it on without choosing, or fail open with the
router down) goes to the default model (providers.defaults.model), as in the router's reference config;
without a default model that has a backend it gets a 404 JSON error.
*/}}
{{- define "semantic-router.envoyConfig" -}}
{{- $cfg := include "semantic-router.parse" (dict "text" (include "semantic-router.routerConfigChecked" .) "what" "the router config") | fromJson -}}
{{- $upstreams := (include "semantic-router.parse" (dict "text" (include "semantic-router.upstreams" (dict "config" $cfg)) "what" "the Envoy upstreams") | fromJson).items -}}
{{- $defaultModel := toString (dig "providers" "defaults" "model" "" $cfg) -}}
{{- $default := dict -}}
{{- range $upstreams -}}
{{- if and $defaultModel (eq .name $defaultModel) -}}
{{- $default = . -}}
{{- end -}}
{{- end -}}
{{- $e := .Values.envoy -}}
{{- $tls := default (dict) $e.upstreamTls -}}
{{- $caFile := default "/etc/ssl/certs/ca-certificates.crt" $tls.caFile -}}
{{- if and $tls.caConfigMap $tls.caConfigMap.name -}}
{{- $caFile = printf "/etc/envoy-ca/%s" (default "ca.crt" $tls.caConfigMap.key) -}}
{{- end -}}
admin:
  address:
    socket_address:
      # Admin stays on loopback: it can change runtime state and must not be reachable from the network.
      address: 127.0.0.1
      port_value: {{ int $e.adminPort }}
static_resources:
  listeners:
  - name: http-{{ int $e.port }}
    address:
      socket_address:
        address: 0.0.0.0
        port_value: {{ int $e.port }}
    per_connection_buffer_limit_bytes: {{ int64 $e.bufferLimitBytes }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          codec_type: AUTO
          stream_idle_timeout: {{ include "semantic-router.envoyDuration" $e.streamIdleTimeout }}
          # Only the router may choose the backend: a client-sent x-selected-model is dropped before
          # route selection (early mutation), so neither fail-open nor an unrouted request can use it.
          early_header_mutation_extensions:
          - name: envoy.http.early_header_mutation.header_mutation
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation
              mutations:
              - remove: x-selected-model
          {{- if $e.accessLog }}
          access_log:
          - name: envoy.access_loggers.stdout
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
          {{- end }}
          route_config:
            name: local_route
            virtual_hosts:
            - name: semantic_router
              domains: ["*"]
              # Internal headers are never accepted from clients.
              request_headers_to_remove:
              - x-vsr-looper-request
              - x-vsr-looper-secret
              - x-vsr-looper-decision
              - x-vsr-looper-iteration
              - x-authz-user-id
              - x-authz-user-groups
              routes:
              {{- range $upstreams }}
              - match:
                  prefix: /
                  headers:
                  - name: x-selected-model
                    string_match:
                      exact: {{ .name | quote }}
                route:
                  cluster: {{ .cluster }}
                  timeout: {{ include "semantic-router.envoyDuration" $e.routeTimeout }}
                  auto_host_rewrite: true
              {{- end }}
              {{- if $default.cluster }}
              # No x-selected-model (the router chose no model, or fail open with the router down): the
              # default model {{ $default.name | quote }}, as in the router's reference Envoy config.
              - match:
                  prefix: /
                route:
                  cluster: {{ $default.cluster }}
                  timeout: {{ include "semantic-router.envoyDuration" $e.routeTimeout }}
                  auto_host_rewrite: true
              {{- else }}
              # No x-selected-model and no default model with a backend: a clear error, never a guessed model.
              - match:
                  prefix: /
                direct_response:
                  status: 404
                  body:
                    inline_string: '{"error":{"message":"no model was selected for this request: the semantic router did not set x-selected-model (check the request model name and the router decisions)","type":"invalid_request_error","code":"model_not_selected"}}'
                response_headers_to_add:
                - header:
                    key: content-type
                    value: application/json
                  append_action: OVERWRITE_IF_EXISTS_OR_ADD
              {{- end }}
          http_filters:
          - name: envoy.filters.http.ext_proc
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
              # false = fail closed: when the router is unreachable requests fail instead of bypassing routing and guards;
              # true = fail open: they skip the router and go to the default model.
              failure_mode_allow: {{ $e.extProc.failureModeAllow }}
              allow_mode_override: true
              grpc_service:
                envoy_grpc:
                  cluster_name: extproc_service
              processing_mode:
                request_header_mode: SEND
                response_header_mode: SEND
                request_body_mode: BUFFERED
                response_body_mode: BUFFERED
              message_timeout: {{ include "semantic-router.envoyDuration" $e.extProc.messageTimeout }}
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: extproc_service
    connect_timeout: 5s
    type: STATIC
    lb_policy: ROUND_ROBIN
    typed_extension_protocol_options:
      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
        "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
        explicit_http_config:
          http2_protocol_options: {}
    load_assignment:
      cluster_name: extproc_service
      endpoints:
      - lb_endpoints:
        - endpoint:
            address:
              socket_address:
                address: 127.0.0.1
                port_value: {{ int .Values.service.grpc.targetPort }}
  {{- range $upstreams }}
  # Model {{ .name | quote }}
  - name: {{ .cluster }}
    connect_timeout: {{ include "semantic-router.envoyDuration" $e.upstreamConnectTimeout }}
    type: STRICT_DNS
    dns_lookup_family: V4_PREFERRED
    lb_policy: ROUND_ROBIN
    load_assignment:
      cluster_name: {{ .cluster }}
      endpoints:
      - lb_endpoints:
        {{- range .endpoints }}
        - endpoint:
            address:
              socket_address:
                address: {{ .host | quote }}
                port_value: {{ int .port }}
            hostname: {{ .authority | quote }}
          load_balancing_weight: {{ int .weight }}
        {{- end }}
    {{- if .https }}
    transport_socket:
      name: envoy.transport_sockets.tls
      typed_config:
        "@type": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext
        sni: {{ .sni | quote }}
        auto_sni_san_validation: true
        common_tls_context:
          tls_params:
            tls_minimum_protocol_version: TLSv1_2
            tls_maximum_protocol_version: TLSv1_3
          validation_context:
            trusted_ca:
              filename: {{ $caFile | quote }}
    {{- end }}
  {{- end }}
layered_runtime:
  layers:
  - name: static_layer
    static_layer:
      overload:
        global_downstream_max_connections: 50000
{{- end }}

{{/*
semantic-router.envoyDuration: a duration as the values take it (300s, 500ms, 1h30m, 1.5s) in the only
form Envoy's config accepts, seconds with an optional fraction ("5400s", "0.5s").
*/}}
{{- define "semantic-router.envoyDuration" -}}
{{- $factors := dict "ms" 0.001 "s" 1.0 "m" 60.0 "h" 3600.0 -}}
{{- $seconds := 0.0 -}}
{{- range regexFindAll "[0-9]+(\\.[0-9]+)?(ms|s|m|h)" (toString .) -1 -}}
{{- $unit := regexFind "(ms|s|m|h)$" . -}}
{{- $seconds = addf $seconds (mulf (float64 (trimSuffix $unit .)) (get $factors $unit)) -}}
{{- end -}}
{{- regexReplaceAll "\\.?0+$" (printf "%.9f" $seconds) "" -}}s
{{- end }}
