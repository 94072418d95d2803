{{/*
Reading YAML back without losing anything. Helm's fromYaml does not fail on bad input: it returns
a map holding an "Error" key, and a key YAML treats specially (`<<`, the merge key) silently folds
one mapping into another. The helpers below fail the render instead, naming the cause.
*/}}

{{/* semantic-router.parse: fromYaml of .text that fails the render (naming .what) when the YAML does not parse. */}}
{{- define "semantic-router.parse" -}}
{{- $parsed := fromYaml .text -}}
{{- if and (hasKey $parsed "Error") (eq (len (keys $parsed)) 1) (kindIs "string" (get $parsed "Error")) -}}
{{- fail (printf "%s does not read back as YAML (%s): this is a chart defect, please report it with your values" .what (get $parsed "Error")) -}}
{{- end -}}
{{- toJson $parsed -}}
{{- end }}

{{/* semantic-router.mergeKeys: the paths under .at (prefixed .path) of every key `<<` or `=` and every value `=`, one per line; YAML 1.1 reads
the first as a merge and the second as its "value" type, not as data (PyYAML, which vllm-sr uses, cannot load it), and toYaml writes both unquoted. */}}
{{- define "semantic-router.mergeKeys" -}}
{{- $path := .path -}}
{{- if kindIs "map" .at -}}
{{- range $k, $v := .at -}}
{{- if has $k (list "<<" "=") -}}
{{- printf "%s.%s\n" $path $k -}}
{{- end -}}
{{- include "semantic-router.mergeKeys" (dict "at" $v "path" (printf "%s.%s" $path $k)) -}}
{{- end -}}
{{- else if and (kindIs "string" .at) (eq .at "=") -}}
{{- printf "%s = \"=\"\n" $path -}}
{{- else if kindIs "slice" .at -}}
{{- range $i, $v := .at -}}
{{- include "semantic-router.mergeKeys" (dict "at" $v "path" (printf "%s[%d]" $path $i)) -}}
{{- end -}}
{{- end -}}
{{- end }}

{{/* semantic-router.routerConfigChecked (configmap.yaml and the Envoy config, whichever renders first fails naming the field): the router config YAML, after proving it reads back (in Helm, in the router) as exactly the data written. */}}
{{- define "semantic-router.routerConfigChecked" -}}
{{- $found := list -}}
{{- range $field, $at := dict "config" .Values.config "reasoningFamilies" .Values.reasoningFamilies -}}
{{- $found = concat $found (splitList "\n" (include "semantic-router.mergeKeys" (dict "at" $at "path" $field)) | compact) -}}
{{- end -}}
{{- if $found -}}
{{- fail (printf "%s: a key named `<<` (a YAML merge key), or a key or value that is just `=` (YAML 1.1's value type), does not read back as written (`<<` merges or fails, `=` breaks vllm-sr); rename or remove the key, or change the value" (join ", " $found)) -}}
{{- end -}}
{{- $text := include "semantic-router.routerConfig" . -}}
{{- $parsed := include "semantic-router.parse" (dict "text" $text "what" "the rendered router config (config.yaml)") | fromJson -}}
{{- if ne (toYaml $parsed) $text -}}
{{- fail "the rendered router config (config.yaml) does not read back as the data written: a key or value YAML treats specially; check keys such as `<<` in config" -}}
{{- end -}}
{{- $text -}}
{{- end }}
