"""The router configuration schema (``spec.config``): keys are the router's own snake_case."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    ConfigDict,
    Field,
)

from semantic_router_operator.models.base import (
    ConfigModel,
    Ratio,
)
from semantic_router_operator.models.cache import (
    SemanticCacheConfig,
)
from semantic_router_operator.router_sections import (
    ComplexityRule,
    Decision,
    Effort,
    EmbeddingModelsConfig,
    NumberOrText,
    RoutingConfig,
    Strategy,
)


class ClassifierModelConfig(ConfigModel):
    """A classification model."""

    model_id: str | None = Field(
        None, description="Model path or id, e.g. models/mom-embedding-light."
    )
    threshold: Ratio | None = Field(
        None, description='Confidence threshold, 0 to 1 (0.6 or "0.6").'
    )
    use_cpu: bool | None = Field(None, description="Run the model on CPU.")


class BertModelConfig(ClassifierModelConfig):
    """The embedding model used for similarity (semantic cache, tool selection)."""


class PromptGuardConfig(ClassifierModelConfig):
    """Jailbreak detection on incoming prompts."""

    enabled: bool | None = Field(None, description="Turn jailbreak detection on.")
    use_modernbert: bool | None = Field(
        None, description="The model is a ModernBERT classifier (dropped: v0.3 uses variant)."
    )
    jailbreak_mapping_path: str | None = Field(None, description="Path of the label mapping JSON.")
    variant: Literal["candle", "mmbert32k"] | None = Field(
        None,
        description="Classifier family of model_id: candle (BERT/LoRA, e.g. "
        "mom-jailbreak-classifier) or mmbert32k (the router's bundled mmBERT-32K guard).",
    )
    protocol: Literal["http_chat", "http_classify"] | None = Field(
        None,
        description="Remote guard protocol of the upstream operator. The router (v0.4.0) has "
        "no such setting: a non-empty value is refused with the fix (name a guardrail model "
        "under global.model_catalog.external and set backend).",
    )
    on_error: Literal["allow", "block"] | None = Field(
        None, description="What a request gets when the guard fails: allow (fail open) or block."
    )
    positive_labels: list[str] | None = Field(
        None, description="Classifier labels that count as a jailbreak, e.g. [jailbreak]."
    )


class CategoryModelConfig(ClassifierModelConfig):
    """The intent (category) classifier."""

    use_modernbert: bool | None = Field(None, description="The model is a ModernBERT classifier.")
    category_mapping_path: str | None = Field(
        None, description="Path of the category mapping JSON."
    )
    fallback_category: str | None = Field(
        None, description="Category used when confidence is too low."
    )


class PIIModelConfig(ClassifierModelConfig):
    """The PII token classifier."""

    use_modernbert: bool | None = Field(None, description="The model is a ModernBERT classifier.")
    pii_mapping_path: str | None = Field(None, description="Path of the PII type mapping JSON.")


class ClassifierConfig(ConfigModel):
    """Request classifiers."""

    category_model: CategoryModelConfig | None = Field(
        None, description="Intent/category classifier."
    )
    pii_model: PIIModelConfig | None = Field(None, description="PII detector.")


class ToolsConfig(ConfigModel):
    """Automatic tool selection from spec.toolsDb."""

    enabled: bool | None = Field(None, description="Select tools for each request.")
    top_k: int | None = Field(None, ge=1, description="Tools added per request.")
    similarity_threshold: Ratio | None = Field(
        None, description='Similarity a tool needs to be chosen, 0 to 1 (0.2 or "0.2").'
    )
    tools_db_path: str | None = Field(
        None,
        description="Path of the tools database in the pod; the chart mounts spec.toolsDb there.",
    )
    fallback_to_empty: bool | None = Field(
        None, description="Send no tools rather than fail when none match."
    )


class ReasoningFamily(ConfigModel):
    """How a model family turns reasoning on."""

    type: Literal["chat_template_kwargs", "reasoning_effort"] = Field(
        description="chat_template_kwargs (a template flag) or reasoning_effort (an API field)."
    )
    parameter: str = Field(min_length=1, description="Flag or field name, e.g. enable_thinking.")


class BatchMetricsConfig(ConfigModel):
    """Metrics of the batch classification API."""

    enabled: bool | None = Field(None, description="Record batch metrics.")
    detailed_goroutine_tracking: bool | None = Field(
        None, description="Track goroutines in detail."
    )
    high_resolution_timing: bool | None = Field(None, description="Use high resolution timers.")
    sample_rate: Ratio | None = Field(None, description="Fraction of batches measured, 0 to 1.")
    duration_buckets: list[NumberOrText] | None = Field(
        None,
        description='Histogram buckets in seconds, as numbers or numeric strings ("0.005"); '
        "the router gets numbers.",
    )
    size_buckets: list[int] | None = Field(None, description="Histogram buckets (batch sizes).")


class BatchClassificationConfig(ConfigModel):
    """The batch classification API."""

    max_batch_size: int | None = Field(None, ge=1, description="Largest batch accepted.")
    concurrency_threshold: int | None = Field(
        None, ge=0, description="Batch size from which work runs concurrently."
    )
    max_concurrency: int | None = Field(None, ge=1, description="Concurrent workers.")
    metrics: BatchMetricsConfig | None = Field(None, description="Batch metrics.")


class ApiConfig(ConfigModel):
    """The router's classification API."""

    batch_classification: BatchClassificationConfig | None = Field(
        None, description="Batch classification."
    )


class TracingExporter(ConfigModel):
    """Where spans go."""

    type: str | None = Field(None, description="Exporter: otlp or stdout.")
    endpoint: str | None = Field(None, description="Collector address, e.g. jaeger-collector:4317.")
    insecure: bool | None = Field(None, description="Send without TLS.")


class TracingSampling(ConfigModel):
    """Which requests are traced."""

    type: str | None = Field(None, description="always_on, always_off or probabilistic.")
    rate: Ratio | None = Field(None, description="Sampled fraction for probabilistic sampling.")


class TracingResource(ConfigModel):
    """Resource attributes of the spans."""

    service_name: str | None = Field(None, description="service.name attribute.")
    service_version: str | None = Field(None, description="service.version attribute.")
    deployment_environment: str | None = Field(
        None, description="deployment.environment attribute."
    )


class TracingConfig(ConfigModel):
    """Distributed tracing."""

    enabled: bool | None = Field(None, description="Emit traces.")
    provider: str | None = Field(None, description="Tracing provider, e.g. opentelemetry.")
    exporter: TracingExporter | None = Field(None, description="Span exporter.")
    sampling: TracingSampling | None = Field(None, description="Sampling.")
    resource: TracingResource | None = Field(None, description="Resource attributes.")


class MetricsConfig(ConfigModel):
    """Router metrics."""

    enabled: bool | None = Field(None, description="Serve Prometheus metrics.")


class ObservabilityConfig(ConfigModel):
    """Tracing and metrics."""

    tracing: TracingConfig | None = Field(None, description="Distributed tracing (OpenTelemetry).")
    metrics: MetricsConfig | None = Field(None, description="Prometheus metrics.")


class RouterConfig(ConfigModel):
    """The router configuration, in the sections the user documentation shows and the newer
    sections of the router's v0.3 contract (`router_sections`).

    Any other top-level key is kept as is and handed to the router, so a section of the
    router's own configuration (e.g. ``providers``, ``global``) can be written
    here directly; the translation to the router's format refuses keys it does not know."""

    model_config = ConfigDict(
        extra="allow", json_schema_extra={"x-kubernetes-preserve-unknown-fields": True}
    )

    bert_model: BertModelConfig | None = Field(None, description="Embedding model for similarity.")
    semantic_cache: SemanticCacheConfig | None = Field(
        None, description="Semantic cache (the legacy name of response_cache)."
    )
    response_cache: SemanticCacheConfig | None = Field(
        None,
        description="Response cache of similar prompts (the router's current name of "
        "semantic_cache); set one of the two.",
    )
    embedding_models: EmbeddingModelsConfig | None = Field(
        None, description="Embedding models (model catalog) the similarity signals use."
    )
    complexity_rules: list[ComplexityRule] | None = Field(
        None, description="Complexity signals, used in decisions as {type: complexity, name}."
    )
    decisions: list[Decision] | None = Field(
        None,
        description="Routing decisions; without any, the operator routes every request to "
        "the vllmEndpoints models (one catch-all decision).",
    )
    strategy: Strategy | None = Field(
        None, description="How the router chooses among matching decisions: priority or confidence."
    )
    routing: RoutingConfig | None = Field(
        None, description="The router's canonical routing block (signals, decisions, modelCards)."
    )
    default_reasoning_effort: Effort | None = Field(
        None, description="Reasoning effort when a decision sets none: low, medium or high."
    )
    tools: ToolsConfig | None = Field(None, description="Automatic tool selection.")
    prompt_guard: PromptGuardConfig | None = Field(None, description="Jailbreak detection.")
    classifier: ClassifierConfig | None = Field(None, description="Category and PII classifiers.")
    reasoning_families: dict[str, ReasoningFamily] | None = Field(
        None,
        description="Reasoning switch per model family (e.g. deepseek, qwen3, gpt), referenced by "
        "vllmEndpoints[].reasoningFamily.",
    )
    api: ApiConfig | None = Field(None, description="Classification API settings.")
    observability: ObservabilityConfig | None = Field(None, description="Tracing and metrics.")

    @property
    def extra_sections(self) -> dict[str, Any]:
        """The free-form sections beyond the documented ones, as written."""
        return dict(self.model_extra or {})
