// The CustomResourceDefinitions of the other projects whose kinds the chart renders or the operator
// reads (Gateway API HTTPRoute, OpenShift Route, Prometheus Operator ServiceMonitor, KServe
// InferenceService), pinned and checksummed here: the end-to-end tier installs them on the local
// control plane from these modules' own files (tests/e2e/apis.py). Nothing here is compiled.
module github.com/vllm-project/semantic-router-operator/tools/apis

go 1.26.0

require (
	github.com/openshift/api v0.0.0-20260420151639-34e60874783e
	github.com/prometheus-operator/prometheus-operator v0.85.0
	sigs.k8s.io/gateway-api v1.6.3
)
