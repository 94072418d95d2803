"""The reasoning stanza the chart gives a provider model, for the tiers that run no helm.

Contract copied from `semantic-router.routerConfig` in
charts/semantic-router/templates/_config.tpl: a family listed in `reasoningFamilies` is
copied onto the model; without `modes` it is a toggle (`modes: [enabled, disabled]`);
`default_mode` is the first mode unless set; an effort family (`reasoning_effort`,
`top_level_reasoning_effort`) that lists no `levels` gets `[low, medium, high]` and, unless
set, `default: medium`. The chart's own decisions send a model with reasoning off unless its
inline family is always on (no `activation_parameter`, no `disabled`, no "disabled" mode),
which the router refuses. tests/chart/test_operator_config.py checks this copy against the
chart rendered by real helm, family by family.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

EFFORT_TYPES = ("reasoning_effort", "top_level_reasoning_effort")


def chart_reasoning(family: dict[str, Any]) -> dict[str, Any]:
    """`providers.models[].reasoning` for a model whose endpoint picks `family`."""
    reasoning = deepcopy(family)
    reasoning.setdefault("modes", ["enabled", "disabled"])
    if str(reasoning.get("type")) in EFFORT_TYPES and not reasoning.get("levels"):
        reasoning["levels"] = ["low", "medium", "high"]
        reasoning.setdefault("default", "medium")
    reasoning.setdefault("default_mode", reasoning["modes"][0])
    return reasoning


def reasoning_can_be_off(reasoning: dict[str, Any] | None) -> bool:
    """Whether the chart's decisions give this model `use_reasoning: false`."""
    r = reasoning or {}
    return not r or bool(
        r.get("family")
        or r.get("activation_parameter")
        or r.get("disabled")
        or "disabled" in (r.get("modes") or [])
    )
