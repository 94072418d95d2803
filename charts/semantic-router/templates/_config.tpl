{{/*
The router config (canonical v0.3) and the facts derived from it: backend addresses,
credential env vars and the per-model upstream groups the Envoy sidecar routes to.
Each helper returns YAML; callers read it back with semantic-router.parse (never a bare fromYaml).
*/}}

{{/* semantic-router.endpoints: every vllmEndpoints entry with its backend address resolved ({items: [...]}); fails naming the field on bad input. */}}
{{- define "semantic-router.endpoints" -}}
{{- $items := list -}}
{{- $seen := dict -}}
{{- range $i, $ep := .Values.vllmEndpoints -}}
{{- $field := printf "vllmEndpoints[%d]" $i -}}
{{- if not $ep.name -}}
{{- fail (printf "%s.name is required: give every endpoint a unique name" $field) -}}
{{- end -}}
{{- if hasKey $seen $ep.name -}}
{{- fail (printf "%s.name %q is used twice: endpoint names must be unique" $field $ep.name) -}}
{{- end -}}
{{- $_ := set $seen $ep.name true -}}
{{- if not $ep.model -}}
{{- fail (printf "%s.model is required: the model name clients and the router use (e.g. llama3-8b)" $field) -}}
{{- end -}}
{{- $b := default (dict) $ep.backend -}}
{{- $r := default (dict) $b.resolved -}}
{{- $host := "" -}}
{{- $port := 0 -}}
{{- $protocol := "http" -}}
{{- if $r.host -}}
{{- if not $r.port -}}
{{- fail (printf "%s.backend.resolved.port is required when backend.resolved.host is set" $field) -}}
{{- end -}}
{{- $host = $r.host -}}
{{- $port = int $r.port -}}
{{- $protocol = default "http" $r.protocol -}}
{{- else if eq (default "" $b.type) "service" -}}
{{- $svc := default (dict) $b.service -}}
{{- if not $svc.name -}}
{{- fail (printf "%s.backend.service.name is required for backend.type service: the Service in front of the model server" $field) -}}
{{- end -}}
{{- if not $svc.port -}}
{{- fail (printf "%s.backend.service.port is required for backend.type service: the Service port serving the OpenAI API (e.g. 8000)" $field) -}}
{{- end -}}
{{- $host = printf "%s.%s.svc.cluster.local" $svc.name (default $.Release.Namespace $svc.namespace) -}}
{{- $port = int $svc.port -}}
{{- else if eq (default "" $b.type) "kserve" -}}
{{- if not $b.inferenceServiceName -}}
{{- fail (printf "%s.backend.inferenceServiceName is required for backend.type kserve: the InferenceService in the release namespace" $field) -}}
{{- end -}}
{{- $host = printf "%s-predictor.%s.svc.cluster.local" $b.inferenceServiceName $.Release.Namespace -}}
{{- $port = 8443 -}}
{{- $protocol = "https" -}}
{{- else if eq (default "" $b.type) "llamastack" -}}
{{- fail (printf "%s.backend.type llamastack needs backend.resolved {host, port, protocol}: Llama Stack discovery (listing Services by discoveryLabels) is done by the operator; when installing the chart directly, set backend.resolved" $field) -}}
{{- else -}}
{{- fail (printf "%s.backend.type must be one of kserve, llamastack, service (got %q)" $field (default "" $b.type)) -}}
{{- end -}}
{{- if not (has $protocol (list "http" "https")) -}}
{{- fail (printf "%s.backend.resolved.protocol must be http or https (got %q)" $field $protocol) -}}
{{- end -}}
{{- if and (eq $protocol "https") (regexMatch "^[0-9.]+$|:" $host) -}}
{{- fail (printf "%s: https backends need a DNS hostname (got %q) so the certificate can be verified" $field $host) -}}
{{- end -}}
{{- $loras := list -}}
{{- range $ep.loras -}}
{{- if kindIs "string" . -}}
{{- $loras = append $loras (dict "name" .) -}}
{{- else -}}
{{- $loras = append $loras . -}}
{{- end -}}
{{- end -}}
{{- $items = append $items (dict "name" $ep.name "model" $ep.model "host" $host "port" $port "protocol" $protocol "weight" (int (default 1 $ep.weight)) "reasoningFamily" (default "" $ep.reasoningFamily) "loras" $loras) -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end }}

{{/* semantic-router.credentials: password_secret_ref (and Qdrant's api_key_secret_ref) locations in the cache config and the env var each becomes ({items: [{path, env, field, name, key, optional}]}). Milvus has none: the router connects to it without credentials, and the chart refuses its auth block. */}}
{{- define "semantic-router.credentials" -}}
{{- $items := list -}}
{{- $rc := dig "global" "stores" "response_cache" (dict) (default (dict) .Values.config) -}}
{{- $spots := list
  (dict "path" "config.global.stores.response_cache.redis.connection" "env" "SR_CACHE_REDIS_PASSWORD" "field" "password" "at" (dig "redis" "connection" (dict) $rc))
  (dict "path" "config.global.stores.response_cache.valkey.connection" "env" "SR_CACHE_VALKEY_PASSWORD" "field" "password" "at" (dig "valkey" "connection" (dict) $rc))
  (dict "path" "config.global.stores.response_cache.qdrant" "env" "SR_CACHE_QDRANT_API_KEY" "field" "api_key" "at" (dig "qdrant" (dict) $rc)) -}}
{{- range $spots -}}
{{- $refKey := printf "%s_secret_ref" .field -}}
{{- $ref := get .at $refKey -}}
{{- if $ref -}}
{{- if or (not (kindIs "map" $ref)) (not $ref.name) (not $ref.key) -}}
{{- fail (printf "%s.%s needs both name and key: the Secret and the key holding the %s" .path $refKey .field) -}}
{{- end -}}
{{- $items = append $items (dict "path" .path "env" .env "field" .field "name" $ref.name "key" $ref.key "optional" (eq (toString $ref.optional) "true")) -}}
{{- else if and (get .at .field) (not (regexMatch "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" (toString (get .at .field)))) -}}
{{- fail (printf "%s.%s holds a literal secret, which would land in a ConfigMap: use %s {name, key} pointing at a Secret instead" .path .field $refKey) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end }}

{{/* semantic-router.routerConfig: the config value with providers, model cards, a default decision, listeners and credential placeholders added (v0.3 YAML). */}}
{{- define "semantic-router.routerConfig" -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- $_ := set $cfg "version" (default "v0.3" $cfg.version) -}}
{{- $endpoints := (include "semantic-router.parse" (dict "text" (include "semantic-router.endpoints" .) "what" "the endpoints") | fromJson).items -}}
{{- $families := default (dict) .Values.reasoningFamilies -}}
{{- /* listeners: the router owns one only in standalone mode, matching the Envoy sidecar */ -}}
{{- if include "semantic-router.standalone" . -}}
{{- $_ := set $cfg "listeners" (list (dict "name" (printf "http-%d" (int .Values.envoy.port)) "address" "0.0.0.0" "port" (int .Values.envoy.port) "timeout" .Values.envoy.routeTimeout)) -}}
{{- else -}}
{{- $_ := set $cfg "listeners" (list) -}}
{{- end -}}
{{- /* providers.models: one per distinct endpoint model, one backend_ref per endpoint; user entries are kept */ -}}
{{- $providers := default (dict) $cfg.providers -}}
{{- $models := list -}}
{{- $known := dict -}}
{{- range (default (list) $providers.models) -}}
{{- $models = append $models . -}}
{{- $_ := set $known (toString .name) true -}}
{{- end -}}
{{- $order := list -}}
{{- $groups := dict -}}
{{- range $endpoints -}}
{{- if not (hasKey $groups .model) -}}
{{- $order = append $order .model -}}
{{- $_ := set $groups .model (list) -}}
{{- end -}}
{{- $_ := set $groups .model (append (get $groups .model) .) -}}
{{- end -}}
{{- range $model := $order -}}
{{- if not (hasKey $known $model) -}}
{{- $refs := list -}}
{{- $family := "" -}}
{{- range (get $groups $model) -}}
{{- $refs = append $refs (dict "name" .name "provider" "vllm" "endpoint" (printf "%s:%d" .host (int .port)) "protocol" .protocol "weight" (int .weight)) -}}
{{- if and (not $family) .reasoningFamily -}}
{{- $family = .reasoningFamily -}}
{{- end -}}
{{- end -}}
{{- $entry := dict "name" $model "backend_refs" $refs -}}
{{- if $family -}}
{{- if hasKey $families $family -}}
{{- $reasoning := deepCopy (get $families $family) -}}
{{- /* a family given as {type, parameter} is a toggle: requests may turn reasoning on or off */ -}}
{{- if not (hasKey $reasoning "modes") -}}
{{- $_ := set $reasoning "modes" (list "enabled" "disabled") -}}
{{- end -}}
{{- /* an effort family must list its levels (the router refuses one without): one that lists none passes the legacy efforts */ -}}
{{- if and (has (toString $reasoning.type) (list "reasoning_effort" "top_level_reasoning_effort")) (not $reasoning.levels) -}}
{{- $_ := set $reasoning "levels" (list "low" "medium" "high") -}}
{{- if not (hasKey $reasoning "default") -}}
{{- $_ := set $reasoning "default" "medium" -}}
{{- end -}}
{{- end -}}
{{- if not (hasKey $reasoning "default_mode") -}}
{{- $_ := set $reasoning "default_mode" (first $reasoning.modes) -}}
{{- end -}}
{{- $_ := set $entry "reasoning" $reasoning -}}
{{- else -}}
{{- $_ := set $entry "reasoning" (dict "family" $family) -}}
{{- end -}}
{{- end -}}
{{- $models = append $models $entry -}}
{{- end -}}
{{- end -}}
{{- $_ := set $providers "models" $models -}}
{{- $defaults := default (dict) $providers.defaults -}}
{{- if and (not $defaults.model) $models -}}
{{- $_ := set $defaults "model" (toString (first $models).name) -}}
{{- end -}}
{{- if $defaults -}}
{{- $_ := set $providers "defaults" $defaults -}}
{{- end -}}
{{- $_ := set $cfg "providers" $providers -}}
{{- /* routing: a model card per model (with its LoRAs) and, without user decisions, one catch-all decision */ -}}
{{- $routing := default (dict) $cfg.routing -}}
{{- $cards := list -}}
{{- $carded := dict -}}
{{- range (default (list) $routing.modelCards) -}}
{{- $cards = append $cards . -}}
{{- $_ := set $carded (toString .name) true -}}
{{- end -}}
{{- range $model := $order -}}
{{- if not (hasKey $carded $model) -}}
{{- $loras := list -}}
{{- $loraSeen := dict -}}
{{- range (get $groups $model) -}}
{{- range .loras -}}
{{- if not (hasKey $loraSeen (toString .name)) -}}
{{- $_ := set $loraSeen (toString .name) true -}}
{{- $loras = append $loras . -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $card := dict "name" $model -}}
{{- if $loras -}}
{{- $_ := set $card "loras" $loras -}}
{{- end -}}
{{- $cards = append $cards $card -}}
{{- end -}}
{{- end -}}
{{- if $cards -}}
{{- $_ := set $routing "modelCards" $cards -}}
{{- end -}}
{{- if and (not $routing.decisions) $models -}}
{{- $refs := list -}}
{{- range $models -}}
{{- $refs = append $refs (dict "model" (toString .name) "use_reasoning" (ne (include "semantic-router.reasoningCanBeOff" .) "true")) -}}
{{- end -}}
{{- $_ := set $routing "decisions" (list (dict "name" "default-route" "description" "Catch-all route added by the chart: every request may use every configured model." "priority" 100 "rules" (dict "operator" "AND" "conditions" (list)) "modelRefs" $refs)) -}}
{{- end -}}
{{- /* guards: the router loads the jailbreak and PII models only when a decision uses their signal */ -}}
{{- include "semantic-router.guardDecisions" (dict "routing" $routing "global" (default (dict) $cfg.global) "models" $models "catchAll" (not (default (list) (default (dict) .Values.config.routing).decisions))) -}}
{{- $_ := set $cfg "routing" $routing -}}
{{- /* global: the response cache as the router can run it, and Kubernetes defaults for what the router would otherwise reach for */ -}}
{{- $global := default (dict) $cfg.global -}}
{{- include "semantic-router.checkResponseCache" (dig "stores" "response_cache" (dict) $global) -}}
{{- $looperEndpoint := "" -}}
{{- if include "semantic-router.standalone" . -}}
{{- $looperEndpoint = printf "http://127.0.0.1:%d/v1/chat/completions" (int .Values.envoy.port) -}}
{{- end -}}
{{- include "semantic-router.kubernetesDefaults" (dict "global" $global "bufferLimitBytes" .Values.envoy.bufferLimitBytes "looperEndpoint" $looperEndpoint) -}}
{{- include "semantic-router.checkLooperReachable" (dict "routing" $routing "global" $global) -}}
{{- include "semantic-router.promptGuardDefaults" $global -}}
{{- /* management API: loopback unless managementApi.expose, then bearer tokens bound from env */ -}}
{{- $tokens := (include "semantic-router.parse" (dict "text" (include "semantic-router.managementTokens" .) "what" "the management API tokens") | fromJson).items -}}
{{- include "semantic-router.managementApiConfig" (dict "global" $global "values" .Values "tokens" $tokens) -}}
{{- $_ := set $cfg "global" $global -}}
{{- /* credentials: password_secret_ref becomes ${ENV}; the env var is bound to the Secret on the router container */ -}}
{{- $rc := dig "global" "stores" "response_cache" (dict) $cfg -}}
{{- range (include "semantic-router.parse" (dict "text" (include "semantic-router.credentials" .) "what" "the credentials") | fromJson).items -}}
{{- $at := dict -}}
{{- if eq .env "SR_CACHE_REDIS_PASSWORD" -}}
{{- $at = dig "redis" "connection" (dict) $rc -}}
{{- else if eq .env "SR_CACHE_VALKEY_PASSWORD" -}}
{{- $at = dig "valkey" "connection" (dict) $rc -}}
{{- else -}}
{{- $at = dig "qdrant" (dict) $rc -}}
{{- end -}}
{{- $_ := unset $at (printf "%s_secret_ref" .field) -}}
{{- $_ := set $at .field (printf "${%s}" .env) -}}
{{- end -}}
{{- toYaml $cfg -}}
{{- end }}

{{/* semantic-router.upstreams: the Envoy view of every provider model with endpoints ({items: [{name, cluster, https, sni, endpoints}]}); fails when one model mixes transports. */}}
{{- define "semantic-router.upstreams" -}}
{{- $cfg := .config -}}
{{- $items := list -}}
{{- range $m := (default (list) (dig "providers" "models" (list) $cfg)) -}}
{{- $eps := list -}}
{{- $protocols := dict -}}
{{- $httpsHosts := dict -}}
{{- range $i, $ref := (default (list) $m.backend_refs) -}}
{{- $raw := default "" (default $ref.endpoint $ref.base_url) | toString -}}
{{- if $raw -}}
{{- $protocol := lower (default "http" $ref.protocol) -}}
{{- $authority := $raw -}}
{{- if contains "://" $raw -}}
{{- $u := urlParse $raw -}}
{{- $protocol = lower (default $protocol $u.scheme) -}}
{{- $authority = $u.host -}}
{{- else -}}
{{- $authority = first (splitList "/" $raw) -}}
{{- end -}}
{{- $parts := splitList ":" $authority -}}
{{- if gt (len $parts) 2 -}}
{{- fail (printf "providers.models[%s].backend_refs[%d].endpoint %q: use a hostname or IPv4 address (host:port)" $m.name $i $raw) -}}
{{- end -}}
{{- $host := first $parts -}}
{{- $port := ternary 443 80 (eq $protocol "https") -}}
{{- if eq (len $parts) 2 -}}
{{- $port = int (last $parts) -}}
{{- end -}}
{{- if or (lt $port 1) (gt $port 65535) -}}
{{- fail (printf "providers.models[%s].backend_refs[%d].endpoint %q: the port must be a number from 1 to 65535" $m.name $i $raw) -}}
{{- end -}}
{{- $authorityOut := $host -}}
{{- if not (or (and (eq $protocol "http") (eq $port 80)) (and (eq $protocol "https") (eq $port 443))) -}}
{{- $authorityOut = printf "%s:%d" $host $port -}}
{{- end -}}
{{- $_ := set $protocols $protocol (append (default (list) (get $protocols $protocol)) (default (printf "backend-%d" (add1 $i)) $ref.name)) -}}
{{- if eq $protocol "https" -}}
{{- $_ := set $httpsHosts $host true -}}
{{- end -}}
{{- $eps = append $eps (dict "host" $host "port" $port "authority" $authorityOut "weight" (int (default 1 $ref.weight))) -}}
{{- end -}}
{{- end -}}
{{- if and (hasKey $protocols "http") (hasKey $protocols "https") -}}
{{- fail (printf "model %q mixes http backends (%s) and https backends (%s): one model is one Envoy cluster with one TLS setting; give the https and http endpoints different model names" $m.name (join ", " (get $protocols "http")) (join ", " (get $protocols "https"))) -}}
{{- end -}}
{{- if gt (len (keys $httpsHosts)) 1 -}}
{{- fail (printf "model %q has https backends on several hosts (%s): one TLS server name per model; give each host its own model name" $m.name (join ", " (sortAlpha (keys $httpsHosts)))) -}}
{{- end -}}
{{- if $eps -}}
{{- $name := toString $m.name -}}
{{- $cluster := printf "model_%s_%s" (regexReplaceAll "[^A-Za-z0-9]+" $name "_" | trunc 40) (sha256sum $name | trunc 8) -}}
{{- $https := hasKey $protocols "https" -}}
{{- $items = append $items (dict "name" $name "cluster" $cluster "https" $https "sni" (ternary (first (keys $httpsHosts)) "" $https) "endpoints" $eps) -}}
{{- end -}}
{{- end -}}
{{- toYaml (dict "items" $items) -}}
{{- end }}

{{/* semantic-router.guardDecisions: adds, to .routing, a jailbreak signal and a blocking decision when the prompt guard is enabled, and (with the chart's catch-all) a PII signal and a decision that records it; a guard some user decision already uses is left alone. */}}
{{- define "semantic-router.guardDecisions" -}}
{{- $routing := .routing -}}
{{- $modules := dig "model_catalog" "modules" (dict) .global -}}
{{- $used := dict -}}
{{- range (default (list) $routing.decisions) -}}
{{- range (dig "rules" "conditions" (list) .) -}}
{{- $_ := set $used (toString .type) true -}}
{{- end -}}
{{- end -}}
{{- $signals := default (dict) $routing.signals -}}
{{- $decisions := default (list) $routing.decisions -}}
{{- $guard := default (dict) $modules.prompt_guard -}}
{{- if and $guard.enabled (not (hasKey $used "jailbreak")) -}}
{{- $rule := dict "name" "prompt-guard" "threshold" (default 0.7 $guard.threshold) "description" "Jailbreak attempts, by the prompt guard model (added by the chart)." -}}
{{- $_ := set $signals "jailbreak" (append (default (list) $signals.jailbreak) $rule) -}}
{{- $decisions = append $decisions (dict "name" "block-jailbreak" "description" "Refuses prompts the prompt guard flags as jailbreak attempts (added by the chart)." "priority" 1000 "rules" (dict "operator" "OR" "conditions" (list (dict "type" "jailbreak" "name" "prompt-guard"))) "plugins" (list (dict "type" "fast_response" "configuration" (dict "message" "This request was blocked by the prompt guard: it looks like a jailbreak attempt.")))) -}}
{{- end -}}
{{- $pii := dig "classifier" "pii" (dict) $modules -}}
{{- if and .catchAll $pii.model_id .models (not (hasKey $used "pii")) -}}
{{- $rule := dict "name" "pii-detected" "threshold" (default 0.7 $pii.threshold) "description" "Personal data in the prompt, by the PII classifier (added by the chart)." -}}
{{- $_ := set $signals "pii" (append (default (list) $signals.pii) $rule) -}}
{{- $refs := list -}}
{{- range .models -}}
{{- $refs = append $refs (dict "model" (toString .name) "use_reasoning" (ne (include "semantic-router.reasoningCanBeOff" .) "true")) -}}
{{- end -}}
{{- $decisions = append $decisions (dict "name" "pii-detected" "description" "Requests with personal data, routed like every other request; the PII classifier runs and its result is reported (added by the chart)." "priority" 200 "rules" (dict "operator" "OR" "conditions" (list (dict "type" "pii" "name" "pii-detected"))) "modelRefs" $refs) -}}
{{- end -}}
{{- if $signals -}}
{{- $_ := set $routing "signals" $signals -}}
{{- end -}}
{{- if $decisions -}}
{{- $_ := set $routing "decisions" $decisions -}}
{{- end -}}
{{- end }}

{{/* semantic-router.checkLooperReachable: fails when a decision would call the router's looper where nothing can answer (on {routing, global}, after kubernetesDefaults). The looper sends a decision's model calls back through an Envoy whose ext_proc is this router, at global.integrations.looper.endpoint (a string; anything else leaves the router's default): in standalone mode the chart has pointed it at the sidecar; in gateway mode only the user knows the Gateway's address, and the router's default, localhost:8899, reaches nothing in the pod. What uses the looper follows the router (pkg/extproc/req_filter_looper.go hasLooperModelInputs, req_filter_prompt_selector.go, config/validator_prompt.go and validator_decision.go): the remom, workflows and fusion algorithms with one model or more (fusion also with analysis models), confidence and ratings with two or more, which an endpoint of "" turns off (the router then routes the decision without the looper); the prompt algorithm and context_compression recovery, which the router refuses to start without an endpoint. */}}
{{- define "semantic-router.checkLooperReachable" -}}
{{- $endpoint := dig "integrations" "looper" "endpoint" nil .global -}}
{{- range (default (list) .routing.decisions) -}}
{{- $d := . -}}
{{- $alg := get $d "algorithm" -}}
{{- $alg = ternary $alg (dict) (kindIs "map" $alg) -}}
{{- $type := toString (get $alg "type") -}}
{{- $refs := len (default (list) $d.modelRefs) -}}
{{- $fusion := get $alg "fusion" -}}
{{- $analysis := not (empty (get (ternary $fusion (dict) (kindIs "map" $fusion)) "analysis_models")) -}}
{{- $uses := "" -}}
{{- $needs := false -}}
{{- if or (and (has $type (list "remom" "workflows" "fusion")) (ge $refs 1)) (and (eq $type "fusion") $analysis) (and (has $type (list "confidence" "ratings")) (ge $refs 2)) -}}
{{- $uses = printf "the %s algorithm" $type -}}
{{- else if eq $type "prompt" -}}
{{- $uses = "the prompt algorithm" -}}
{{- $needs = true -}}
{{- end -}}
{{- range (default (list) $d.plugins) -}}
{{- $plugin := ternary . (dict) (kindIs "map" .) -}}
{{- $conf := get $plugin "configuration" -}}
{{- $recovery := get (ternary $conf (dict) (kindIs "map" $conf)) "recovery" -}}
{{- if and (eq (toString (get $plugin "type")) "context_compression") (get (ternary $recovery (dict) (kindIs "map" $recovery)) "enabled") -}}
{{- $uses = "context_compression recovery" -}}
{{- $needs = true -}}
{{- end -}}
{{- end -}}
{{- if and $uses (not (kindIs "string" $endpoint)) -}}
{{- fail (printf "routing decision %q uses %s, which the router runs through its looper at global.integrations.looper.endpoint; in gateway mode its default (http://localhost:8899/v1/chat/completions) reaches nothing in the pod. Set the endpoint to your Gateway's listener, http://<gateway address>/v1/chat/completions (CR: spec.config.looper.endpoint; with more than one replica a looper call can reach another replica, which handles it as an ordinary request)%s" (toString $d.name) $uses (ternary "" ", or to \"\" to route the decision without the looper" $needs)) -}}
{{- end -}}
{{- if and $needs (eq (toString $endpoint) "") (kindIs "string" $endpoint) -}}
{{- fail (printf "routing decision %q uses %s, which needs the router's looper, but global.integrations.looper.endpoint (CR: spec.config.looper.endpoint) is \"\": the router would refuse to start. Set it to the address of an Envoy whose ext_proc is this router (gateway mode: your Gateway's listener, http://<gateway address>/v1/chat/completions)" (toString $d.name) $uses) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* semantic-router.checkResponseCache: fails on response cache settings the router (v0.4.0) refuses at start-up or ignores, and lets a Milvus-backed cache create its collection unless told otherwise. */}}
{{- define "semantic-router.checkResponseCache" -}}
{{- $at := "config.global.stores.response_cache" -}}
{{- $type := default "memory" .backend_type -}}
{{- if and .redis (ne $type "redis") -}}
{{- fail (printf "%s.redis is set but backend_type is %s: the router refuses a store block its backend does not use; remove redis or set backend_type redis" $at $type) -}}
{{- end -}}
{{- if and .milvus (not (has $type (list "milvus" "hybrid"))) -}}
{{- fail (printf "%s.milvus is set but backend_type is %s: the router refuses a store block its backend does not use; remove milvus or set backend_type milvus or hybrid" $at $type) -}}
{{- end -}}
{{- if and (eq $type "hybrid") (or (hasKey . "max_entries") (hasKey . "eviction_policy")) -}}
{{- if or .max_entries .eviction_policy -}}
{{- fail (printf "%s: backend_type hybrid ignores max_entries and eviction_policy (the router caps its in-memory index itself); set them to null" $at) -}}
{{- end -}}
{{- end -}}
{{- $redis := dig "redis" "connection" (dict) . -}}
{{- if dig "tls" "enabled" false $redis -}}
{{- fail (printf "%s.redis.connection.tls is not supported: the router (v0.4.0) connects to Redis in plain text; remove tls or set tls.enabled false" $at) -}}
{{- end -}}
{{- $milvus := dig "milvus" "connection" (dict) . -}}
{{- $auth := default (dict) $milvus.auth -}}
{{- if or $auth.enabled $auth.password $auth.password_secret_ref -}}
{{- fail (printf "%s.milvus.connection.auth is not supported: the router (v0.4.0) connects to Milvus without credentials; remove auth" $at) -}}
{{- end -}}
{{- if not (has (toString (default "default" $milvus.database)) (list "default")) -}}
{{- fail (printf "%s.milvus.connection.database is not supported: the router (v0.4.0) always uses the database named default; remove database" $at) -}}
{{- end -}}
{{- if dig "tls" "enabled" false $milvus -}}
{{- fail (printf "%s.milvus.connection.tls is not supported: the router (v0.4.0) connects to Milvus in plain text; remove tls or set tls.enabled false" $at) -}}
{{- end -}}
{{- if and .milvus (has $type (list "milvus" "hybrid")) -}}
{{- $dev := default (dict) .milvus.development -}}
{{- if not (hasKey $dev "auto_create_collection") -}}
{{- $_ := set $dev "auto_create_collection" true -}}
{{- $_ := set .milvus "development" $dev -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* semantic-router.kubernetesDefaults: router defaults that do not fit a Kubernetes install, set explicitly unless the config says otherwise (on {global, bufferLimitBytes, looperEndpoint}):
- no second (mmBERT) embedding model to download, unless tools are on: the router embeds the tools database with mmBERT and loads it only once an mmBERT (or Qwen3, Gemma) embedding model is ready, never with the BERT model alone;
- no tracing to a Jaeger that is not there, no Response API without its Redis store;
- an ext_proc gRPC message as large as the body Envoy buffers: the router refuses a message over grpc_max_msg_size_mb (4 MiB by default), which would fail every larger request;
- in standalone mode, looper calls sent to the pod's own Envoy listener (looperEndpoint), unless a string is set: the router's default, localhost:8899, is where the vllm-sr container's Envoy listens, not ours. They must pass through an Envoy whose ext_proc is this router, which recognises them by x-vsr-looper-request and its per-process token (x-vsr-internal-auth) and removes those headers; the listener's strip list applies only on the way upstream. */}}
{{- define "semantic-router.kubernetesDefaults" -}}
{{- $g := .global -}}
{{- $catalog := default (dict) (get $g "model_catalog") -}}
{{- $embeddings := default (dict) $catalog.embeddings -}}
{{- $semantic := default (dict) $embeddings.semantic -}}
{{- $integrations := default (dict) (get $g "integrations") -}}
{{- $tools := default (dict) $integrations.tools -}}
{{- if and (not (hasKey $semantic "mmbert_model_path")) (not $tools.enabled) -}}
{{- $_ := set $semantic "mmbert_model_path" "" -}}
{{- end -}}
{{- $_ := set $embeddings "semantic" $semantic -}}
{{- $_ := set $catalog "embeddings" $embeddings -}}
{{- $_ := set $g "model_catalog" $catalog -}}
{{- $looper := default (dict) $integrations.looper -}}
{{- if not (hasKey $looper "grpc_max_msg_size_mb") -}}
{{- $_ := set $looper "grpc_max_msg_size_mb" (add1 (div (add (int64 .bufferLimitBytes) 1048575) 1048576)) -}}
{{- end -}}
{{- if and .looperEndpoint (not (kindIs "string" $looper.endpoint)) -}}
{{- $_ := set $looper "endpoint" .looperEndpoint -}}
{{- end -}}
{{- $_ := set $integrations "looper" $looper -}}
{{- $_ := set $g "integrations" $integrations -}}
{{- $services := default (dict) (get $g "services") -}}
{{- $observability := default (dict) $services.observability -}}
{{- $tracing := default (dict) $observability.tracing -}}
{{- if not (hasKey $tracing "enabled") -}}
{{- $_ := set $tracing "enabled" false -}}
{{- end -}}
{{- $_ := set $observability "tracing" $tracing -}}
{{- $_ := set $services "observability" $observability -}}
{{- $responseAPI := default (dict) $services.response_api -}}
{{- if not (hasKey $responseAPI "enabled") -}}
{{- $_ := set $responseAPI "enabled" false -}}
{{- end -}}
{{- $_ := set $services "response_api" $responseAPI -}}
{{- $_ := set $g "services" $services -}}
{{- end }}

{{/* semantic-router.promptGuardDefaults: a prompt guard on a model of its own (model_id other than the router's default mmBERT-32K detector) is loaded by the router's generic Candle classifier with the label mapping its model folder ships. Left to the router, it would keep the defaults of its own detector (variant mmbert32k, that detector's mapping file, which is not downloaded) and fail at start-up once a decision uses the guard. A remote guard (backend or protocol) is left alone. */}}
{{- define "semantic-router.promptGuardDefaults" -}}
{{- $guard := dig "model_catalog" "modules" "prompt_guard" (dict) . -}}
{{- $model := trimSuffix "/" (toString (default "" $guard.model_id)) -}}
{{- if and $model (ne $model "models/mmbert32k-jailbreak-detector-merged") (not $guard.backend) (not $guard.protocol) -}}
{{- if not (hasKey $guard "variant") -}}
{{- $_ := set $guard "variant" "candle" -}}
{{- end -}}
{{- if not (hasKey $guard "jailbreak_mapping_path") -}}
{{- $_ := set $guard "jailbreak_mapping_path" (printf "%s/jailbreak_type_mapping.json" $model) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* semantic-router.reasoningCanBeOff: "true" when a provider model may be sent with reasoning
off, which the chart's own decisions do. The router refuses `use_reasoning: false` for an inline
family that is always on: no activation_parameter, no disabled setting, no "disabled" mode. A
catalog family (`reasoning: {family: name}`) is the router's to judge: off is assumed. */}}
{{- define "semantic-router.reasoningCanBeOff" -}}
{{- $r := default (dict) .reasoning -}}
{{- if or (not $r) $r.family $r.activation_parameter $r.disabled (has "disabled" (default (list) $r.modes)) -}}true{{- end -}}
{{- end }}
