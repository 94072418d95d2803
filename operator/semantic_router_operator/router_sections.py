"""Schemas of the newer router config sections the SemanticRouter CR takes in ``spec.config``.

The router's own v0.3 contract (the schema of its CLI, ``vllm-sr`` 0.4.0, and the
canonical config structs of the router at the commit the chart ships) defines these
sections; the models here follow it so that a mistake is refused at admission, naming
the field, and ``kubectl explain semanticrouter.spec.config.<section>`` documents it:

- ``embedding_models``: the embedding models of the model catalog;
- ``complexity_rules``: complexity signals (few-shot easy and hard examples);
- ``decisions``: routing decisions (rules over signals, then the models to use);
- ``routing``: the canonical routing block (signals, decisions, model cards ...);
- ``strategy``: how the router picks among matching decisions;
- ``default_reasoning_effort``: the reasoning effort when a decision names none.

Nested parts whose shape belongs to the router's plugin and algorithm catalogues (decision
``plugins`` and ``algorithm``, signal kinds other than complexity) are objects passed to
the router as written: the router's own ``vllm-sr config validate`` contract covers them.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
    model_validator,
)

NUMBER_TEXT = r"^\s*[-+]?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))([eE][-+]?[0-9]+)?\s*$"
"""A decimal number written as a string: 0.005, "1", 2.5e-3."""


class SectionModel(BaseModel):
    """Base of these sections: keys are the router's own (snake_case), unknown keys refused."""

    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)


def _number(value: object) -> object:
    """Accept 0.5 and "0.5" alike (the upstream CRD stores numbers as strings)."""
    if isinstance(value, bool):
        raise ValueError('must be a number such as 0.5 or "0.5", not a boolean')
    if isinstance(value, str):
        if not re.match(NUMBER_TEXT, value):
            raise ValueError(f'must be a number such as 0.5 or "0.5", got {value!r}')
        return float(value)
    return value


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


NumberOrText = Annotated[
    float,
    BeforeValidator(_number),
    AfterValidator(_finite),
    WithJsonSchema(
        {
            # A number or a numeric string: the node is left untyped and constrained by the
            # pattern (strings); the operator checks numbers and emits them as numbers.
            "x-kubernetes-preserve-unknown-fields": True,
            "pattern": NUMBER_TEXT,
        }
    ),
]
"""A number written as 0.5 or "0.5"; always a float once parsed, and emitted as a number."""

FreeObject = Annotated[
    dict[str, Any],
    WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True}),
]


# --- embedding models -----------------------------------------------------------------------


class EmbeddingConfig(SectionModel):
    """Tuning of the embedding classifier."""

    model_type: Literal["qwen3", "gemma", "mmbert", "remote", "bert"] | None = Field(
        None,
        description="Which embedding model the signals use: qwen3, gemma, mmbert, "
        "bert or remote (an OpenAI-compatible endpoint).",
    )
    backend: Literal["candle", "openvino", "openai_compatible"] | None = Field(
        None, description="Inference backend: candle, openvino or openai_compatible."
    )
    preload_embeddings: bool | None = Field(
        None, description="Embed the rule candidates at start-up instead of on first use."
    )
    target_dimension: int | None = Field(
        None, ge=1, description="Matryoshka dimension to truncate embeddings to (mmbert)."
    )
    target_layer: int | None = Field(
        None, ge=1, description="Early-exit layer (mmbert: 3, 6, 11 or 22)."
    )
    enable_soft_matching: bool | None = Field(
        None, description="Match the closest rule when none reaches its threshold."
    )
    top_k: int | None = Field(None, ge=1, description="Candidates scored per rule.")
    min_score_threshold: NumberOrText | None = Field(
        None, description='Lowest similarity that counts as a match (0.5 or "0.5").'
    )


class EmbeddingEndpoint(SectionModel):
    """An OpenAI-compatible embeddings endpoint (model_type remote)."""

    base_url: str | None = Field(None, description="Endpoint URL, e.g. http://tei:8080/v1.")
    model: str | None = Field(None, description="Model name the endpoint serves.")
    api_key_env: str | None = Field(
        None,
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="Name of the environment variable holding the API key (bind it to a "
        "Secret with spec.env valueFrom.secretKeyRef).",
    )
    timeout_seconds: int | None = Field(None, ge=0, description="Request timeout in seconds.")
    max_retries: int | None = Field(None, ge=0, description="Retries per request.")
    max_response_bytes: int | None = Field(None, ge=0, description="Largest response read.")
    dimensions: int | None = Field(None, ge=1, description="Embedding size the endpoint returns.")


class EmbeddingModelsConfig(SectionModel):
    """Embedding models of the router's model catalog (downloaded at start-up)."""

    qwen3_model_path: str | None = Field(
        None, description="Qwen3 embedding model, e.g. models/mom-embedding-pro."
    )
    gemma_model_path: str | None = Field(None, description="EmbeddingGemma model.")
    mmbert_model_path: str | None = Field(
        None, description="mmBERT (2D Matryoshka) model, e.g. models/mom-embedding-ultra."
    )
    multimodal_model_path: str | None = Field(
        None, description="Multi-modal (text, image, audio) embedding model."
    )
    bert_model_path: str | None = Field(
        None, description="BERT/MiniLM model, e.g. models/mom-embedding-light."
    )
    use_cpu: bool | None = Field(None, description="Run the embedding models on CPU.")
    embedding_config: EmbeddingConfig | None = Field(
        None, description="Embedding classifier tuning."
    )
    endpoint: EmbeddingEndpoint | None = Field(
        None, description="External embeddings endpoint (model_type remote)."
    )


# --- rules, complexity signals and decisions --------------------------------------------------

Operator = Literal["AND", "OR", "NOT"]


class RuleNode(SectionModel):
    """A rule over signals: a leaf {type, name} or a composite {operator, conditions}."""

    type: str | None = Field(
        None,
        description="Leaf: signal kind, e.g. keyword, embedding, domain, complexity, "
        "jailbreak, pii, language, context, modality, authz.",
    )
    name: str | None = Field(None, description="Leaf: name of the signal rule.")
    label: str | None = Field(None, description="Leaf of type classifier: the label.")
    predicate: FreeObject | None = Field(
        None, description="Leaf: a numeric predicate on the signal's value, as the router takes it."
    )
    on_error: Literal["no_match", "match"] | None = Field(
        None, description="Leaf of type classifier: what a classifier error counts as."
    )
    operator: Operator | None = Field(None, description="Composite: AND, OR or NOT.")
    conditions: list[FreeObject] | None = Field(
        None,
        description="Composite: the child rules (exactly one for NOT), leaves or composites "
        "in turn (a schema cannot recurse, so deeper levels are checked by the router).",
    )

    @model_validator(mode="after")
    def _leaf_or_composite(self) -> RuleNode:
        leaf = any(
            value is not None
            for value in (self.type, self.name, self.label, self.predicate, self.on_error)
        )
        if leaf and self.operator is not None:
            raise ValueError(
                "a rule is either a leaf {type, name} or a composite {operator, conditions}, "
                "not both"
            )
        if leaf and (self.type is None or self.name is None):
            raise ValueError("a leaf rule needs both type and name")
        if self.operator == "NOT" and len(self.conditions or []) != 1:
            raise ValueError("operator NOT takes exactly one condition")
        return self


class Rules(SectionModel):
    """The root of a decision's rules; no conditions matches every request."""

    operator: Operator = Field("AND", description="AND, OR or NOT over the conditions.")
    conditions: list[RuleNode] | None = Field(
        None, description="Leaf {type, name} or composite {operator, conditions} rules."
    )
    on_unknown: str | None = Field(
        None, description="What an undecidable condition counts as (the router's policy name)."
    )


class ComplexityCandidates(SectionModel):
    """Example prompts of one complexity level."""

    candidates: list[str] = Field(min_length=1, description="Example prompts.")
    image_candidates: list[str] | None = Field(None, description="Example images (multi-modal).")


class ComplexityRule(SectionModel):
    """A complexity signal: a prompt is hard or easy by its similarity to the examples."""

    name: str = Field(min_length=1, description="Signal name, used in decisions' rules.")
    description: str | None = Field(None, description="What the rule classifies.")
    threshold: NumberOrText | None = Field(
        None, description='Similarity margin deciding hard or easy (0.3 or "0.3").'
    )
    hard: ComplexityCandidates = Field(description="Examples of hard prompts.")
    easy: ComplexityCandidates = Field(description="Examples of easy prompts.")
    composer: Rules | None = Field(
        None, description="Apply this rule only when these rules match (e.g. domain medical)."
    )
    prototype_scoring: FreeObject | None = Field(
        None, description="Prototype-bank scoring controls, as the router takes them."
    )


class ModelRef(SectionModel):
    """A model a decision may route to."""

    model: str = Field(min_length=1, description="Model name (an endpoint's model).")
    use_reasoning: bool | None = Field(None, description="Turn the model's reasoning on.")
    reasoning_description: str | None = Field(None, description="Why reasoning is used.")
    reasoning_mode: Literal["enabled", "disabled", "adaptive"] | None = Field(
        None, description="enabled, disabled or adaptive."
    )
    reasoning_effort: str | None = Field(
        None, description="Effort level of the model's reasoning family, e.g. high."
    )
    lora_name: str | None = Field(None, description="LoRA adapter to use.")
    weight: float | None = Field(None, ge=0, description="Share among the decision's models.")


PluginType = Literal[
    "context_compression",
    "fast_response",
    "hallucination",
    "header_mutation",
    "memory",
    "prompt_cache",
    "rag",
    "request_params",
    "response_cache",
    "response_jailbreak",
    "router_replay",
    "shadow_dispatch",
    "system_prompt",
    "tool_selection",
    "tools",
]
"""The decision plugin types the router takes (its CLI's schema, ``vllm-sr`` 0.4.0)."""


class Plugin(SectionModel):
    """A plugin a decision runs."""

    type: PluginType = Field(
        description="Plugin type: context_compression, fast_response, hallucination, "
        "header_mutation, memory, prompt_cache, rag, request_params, response_cache, "
        "response_jailbreak, router_replay, shadow_dispatch, system_prompt, tool_selection "
        "or tools.",
    )
    configuration: FreeObject = Field(
        description="The plugin's settings, as the router's plugin of that type takes them."
    )


class DecisionAction(SectionModel):
    """An explicit action instead of ranking the decision's models."""

    type: Literal["route"] = Field(description="route: send the request to destination.")
    destination: str = Field(min_length=1, description="Where the request goes.")


NO_DECISION_ACTION = (
    "action is not supported: the router (v0.4.0) has no decision actions and would ignore "
    "it; remove action and route with modelRefs"
)
NO_DECISION_ACTION_CEL = "!has(self.action)"


class Decision(SectionModel):
    """A routing decision: when its rules match, the request goes to its models."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": NO_DECISION_ACTION_CEL, "message": NO_DECISION_ACTION}
            ]
        },
    )

    name: str = Field(min_length=1, description="Decision name.")
    description: str | None = Field(None, description="What the decision is for.")
    priority: int = Field(description="Higher wins when several decisions match.")
    tier: int | None = Field(None, ge=0, description="Tier of the decision (0 by default).")
    rules: Rules | None = Field(None, description="When the decision applies; unset matches all.")
    model_refs: list[ModelRef] | None = Field(
        None, alias="modelRefs", description="Models the decision routes to."
    )
    algorithm: FreeObject | None = Field(
        None, description="Multi-model selection algorithm ({type, ...}), as the router takes it."
    )
    plugins: list[Plugin] | None = Field(
        None, description="Plugins run when the decision matches, e.g. system_prompt."
    )
    action: DecisionAction | None = Field(
        None,
        description="Not supported: the router (v0.4.0) has no decision actions (its CLI's "
        "explicit route action, which needs a jailbreak condition in rules); refused.",
    )
    adaptations: FreeObject | None = Field(None, description="Learning adaptations.")
    output_contract: str | None = Field(None, description="Named output contract.")
    output_contract_spec: FreeObject | None = Field(None, description="Output contract.")
    annotations: FreeObject | None = Field(None, description="Free annotations.")

    @field_validator("action")
    @classmethod
    def _router_has_no_actions(cls, action: DecisionAction | None) -> DecisionAction | None:
        if action is not None:
            raise ValueError(NO_DECISION_ACTION)
        return action


class LoraCard(SectionModel):
    """A LoRA adapter of a model card."""

    name: str = Field(min_length=1, description="Adapter name.")
    description: str | None = Field(None, description="What the adapter is good at.")


class ModelCard(SectionModel):
    """What the router knows of a model (routing.modelCards)."""

    name: str = Field(min_length=1, description="Model name.")
    display_name: str | None = Field(None, description="Name shown to people.")
    publisher: str | None = Field(None, description="Who publishes the model.")
    family: str | None = Field(None, description="Model family.")
    revision: str | None = Field(None, description="Model revision.")
    released_at: str | None = Field(None, description="Release date.")
    knowledge_cutoff: str | None = Field(None, description="Knowledge cut-off date.")
    lifecycle: str | None = Field(None, description="Lifecycle stage.")
    param_size: str | None = Field(None, description="Parameter count, e.g. 8b.")
    context_window_size: int | None = Field(None, ge=1, description="Context window (tokens).")
    max_output_tokens: int | None = Field(None, ge=1, description="Longest output (tokens).")
    description: str | None = Field(None, description="What the model is good at.")
    capabilities: list[str] | None = Field(None, description="Capabilities, e.g. [chat].")
    loras: list[LoraCard] | None = Field(None, description="LoRA adapters.")
    tags: list[str] | None = Field(None, description="Tags.")
    modalities: dict[str, list[str]] | None = Field(None, description="Modalities by direction.")
    modality: str | None = Field(None, description="Main modality.")
    presentation: FreeObject | None = Field(None, description="Presentation (logo ...).")
    distribution: FreeObject | None = Field(None, description="Distribution metadata.")


class RoutingSignals(SectionModel):
    """Signal rules by kind; complexity is checked here, the other kinds by the router."""

    model_config = ConfigDict(extra="allow")

    complexity: list[ComplexityRule] | None = Field(None, description="Complexity signals.")


class RoutingConfig(SectionModel):
    """The router's canonical routing block."""

    model_cards: list[ModelCard] | None = Field(
        None,
        alias="modelCards",
        description="Model cards ({name, loras, description ...}); the operator adds one per "
        "vllmEndpoints model.",
    )
    model_bindings: FreeObject | None = Field(None, description="Model bindings by name.")
    candidate_requirements: FreeObject | None = Field(None, description="Candidate needs.")
    data_policy: FreeObject | None = Field(None, description="Data policy.")
    signals: RoutingSignals | None = Field(
        None,
        description="Signal rules by kind (keywords, embeddings, domains, complexity, "
        "jailbreak, pii ...).",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    projections: FreeObject | None = Field(None, description="Signal projections.")
    decisions: list[Decision] | None = Field(None, description="Routing decisions.")
    strategy: Literal["priority", "confidence"] | None = Field(
        None, description="How a decision is chosen among matching ones."
    )


Strategy = Literal["priority", "confidence"]
Effort = Literal["low", "medium", "high"]


# --- decisions against the served models ------------------------------------------------------


def _names(items: Any, key: str = "name") -> list[str]:
    return [str(item[key]) for item in items or [] if isinstance(item, dict) and key in item]


def _served(spec: dict[str, Any]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """The models the router config will configure (name to its card's name) and the LoRA
    names of each card."""
    config = spec.get("config") or {}
    endpoints = [e for e in spec.get("vllmEndpoints") or [] if isinstance(e, dict)]
    providers = (config.get("providers") or {}).get("models") or []
    catalog = {
        str(m["name"]): str(m.get("catalog") or m["name"])
        for m in providers
        if isinstance(m, dict) and "name" in m
    }
    loras: dict[str, set[str]] = {}
    for endpoint in endpoints:
        model = str(endpoint.get("model"))
        catalog.setdefault(model, model)
        loras.setdefault(model, set()).update(_names(endpoint.get("loras")))
    for card in (config.get("routing") or {}).get("modelCards") or []:
        if isinstance(card, dict) and "name" in card:
            loras[str(card["name"])] = set(_names(card.get("loras")))
    return catalog, loras


def model_ref_problems(spec: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each decision model reference the router refuses: a model no
    endpoint (or ``config.providers.models`` entry) serves, or a LoRA its model card lacks.

    The router's rule (``vllm-sr config validate``): when any model is configured, every
    ``modelRefs[].model`` is one of them and every ``lora_name`` is one of the LoRAs of that
    model's card (``routing.modelCards`` entry, else the one the operator writes from the
    endpoints' ``loras``)."""
    catalog, loras = _served(spec)
    if not catalog:
        return []
    config = spec.get("config") or {}
    served = ", ".join(sorted(catalog))
    problems: list[tuple[str, str]] = []
    for where, decisions in (
        ("spec.config.decisions", config.get("decisions")),
        ("spec.config.routing.decisions", (config.get("routing") or {}).get("decisions")),
    ):
        for i, decision in enumerate(decisions or []):
            for j, ref in enumerate(decision.get("modelRefs") or []):
                at = f"{where}[{i}].modelRefs[{j}]"
                model, lora = ref.get("model"), ref.get("lora_name")
                if model not in catalog:
                    problems.append(
                        (
                            f"{at}.model",
                            f"model {model!r} is not a model the router serves ({served}): "
                            "name one of them, or add a vllmEndpoints entry serving it",
                        )
                    )
                elif lora and lora not in loras.get(catalog[model], set()):
                    problems.append(
                        (
                            f"{at}.lora_name",
                            f"LoRA {lora!r} is not one of model {model!r}'s adapters: add it to "
                            "the loras of an endpoint serving the model (or of its "
                            "routing.modelCards entry), or remove lora_name",
                        )
                    )
    return problems
