// The CustomResourceDefinitions of the other projects whose kinds the chart renders or the operator
// reads (Gateway API HTTPRoute, Gateway and BackendTLSPolicy, Envoy Gateway EnvoyExtensionPolicy and
// ClientTrafficPolicy, Istio EnvoyFilter, OpenShift Route, Prometheus Operator ServiceMonitor),
// pinned and checksummed here: the chart tier checks rendered objects against them and the
// end-to-end tier installs them on the local control plane, from these modules' own files
// (tests/support/apis.py). KServe publishes no module the proxy serves (tests/e2e/apis.py).
// Nothing here is compiled.
module github.com/vllm-project/semantic-router-operator/tools/apis

go 1.26.0

require (
	github.com/envoyproxy/gateway v1.9.1
	github.com/openshift/api v0.0.0-20260420151639-34e60874783e
	github.com/prometheus-operator/prometheus-operator v0.85.0
	istio.io/api v1.32.0
	sigs.k8s.io/gateway-api v1.6.3
)
