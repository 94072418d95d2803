"""Literal credentials anywhere in spec.config are refused, naming the field and the
supported form; references (${VAR}), numbers and non-secret keys pass."""

from __future__ import annotations

from typing import Any

import pytest
from semantic_router_operator.credentials import is_credential_key, literal_credentials
from semantic_router_operator.models import SpecError, parse_spec

MODEL = "spec.config.providers.models[0]"


def provider(**fields: Any) -> dict[str, Any]:
    return {"config": {"providers": {"models": [{"name": "m", **fields}]}}}


REFUSED: dict[str, tuple[dict[str, Any], str, str]] = {
    "URL with user and password": (
        provider(backend_refs=[{"endpoint": "https://user:hunter2@llm.example.com"}]),
        f"{MODEL}.backend_refs[0].endpoint",
        "scheme://user:${VAR}@host",
    ),
    "URL with a token as user": (
        {"config": {"global": {"stores": {"x": {"url": "redis://s3cr3t-token@redis:6379"}}}}},
        "spec.config.global.stores.x.url",
        "the URL carries a user and password",
    ),
    **{
        f"{header} header in extra_headers": (
            provider(extra_headers={header: "abc123"}),
            f"{MODEL}.extra_headers.{header}",
            f"the {header} header holds a literal credential",
        )
        for header in ("Authorization", "Proxy-Authorization", "X-Api-Key", "Api-Key", "Cookie")
    },
    "Authorization header in a deep headers map": (
        {"config": {"routing": {"plugins": [{"rag": {"headers": {"authorization": "Bearer x"}}}]}}},
        "spec.config.routing.plugins[0].rag.headers.authorization",
        "Bearer ${VAR}",
    ),
    "api_key of a provider model": (
        provider(api_key="sk-live-1234"),
        f"{MODEL}.api_key",
        "bind it to an environment variable in spec.env",
    ),
    "a password deep in a free-form section": (
        {"config": {"global": {"stores": {"vector": {"auth": {"db_password": "pw"}}}}}},
        "spec.config.global.stores.vector.auth.db_password",
        "a literal credential would be stored in the router's ConfigMap",
    ),
    "a secret key": (
        {"config": {"looper": {"client_secret": "abc"}}},
        "spec.config.looper.client_secret",
        "readable with the namespace's view role",
    ),
    "a token key in camelCase": (
        {"config": {"x": {"hfToken": "hf_abc"}}},
        "spec.config.x.hfToken",
        "password_secret_ref {name, key}",
    ),
    "a list of api keys": (
        {"config": {"x": {"api_keys": ["${A}", "literal"]}}},
        "spec.config.x.api_keys",
        "a literal credential",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_literal_credential_in_the_config_is_refused_naming_the_field(case: str) -> None:
    spec, path, message = REFUSED[case]
    with pytest.raises(SpecError) as refused:
        parse_spec(spec)
    assert any(e.path == path and message in e.message for e in refused.value.errors), (
        refused.value.errors
    )


ALLOWED: dict[str, dict[str, Any]] = {
    "references": provider(
        api_key="${OPENAI_KEY}",
        extra_headers={"Authorization": "Bearer ${TOKEN}", "X-Api-Key": "${KEY}", "X-Org": "a"},
        backend_refs=[{"endpoint": "https://user:${PASSWORD}@llm.example.com"}],
    ),
    "counts of tokens and non-secret keys": {
        "config": {
            "x": {
                "max_tokens": 512,
                "min_tokens": "64",
                "token_filter": "none",
                "tokenizer": "bert",
                "api_key_env": "OPENAI_KEY",
                "secret_name": "creds",
            },
            "global": {
                "services": {
                    "management_api": {
                        "auth": {"mode": "bearer", "tokens": [{"env": "T", "role": "admin"}]}
                    }
                }
            },
        }
    },
    "empty values and plain URLs": provider(
        api_key="", backend_refs=[{"endpoint": "https://llm.example.com:8443/v1"}]
    ),
}


@pytest.mark.parametrize("case", sorted(ALLOWED))
def test_references_numbers_and_plain_values_pass(case: str) -> None:
    assert list(literal_credentials(ALLOWED[case]["config"])) == []


@pytest.mark.parametrize(
    ("key", "credential"),
    [
        ("password", True),
        ("hf_token", True),
        ("X-Api-Key", True),
        ("apiKey", True),
        ("client_secret", True),
        ("tokenizer", False),
        ("token_filter", False),
        ("api_key_env", False),
        ("password_secret_ref", False),
    ],
)
def test_credential_keys_are_whole_words_of_the_key(key: str, credential: bool) -> None:
    assert is_credential_key(key) is credential


def test_a_redis_password_gets_the_models_message_once() -> None:
    spec = {
        "config": {
            "semantic_cache": {
                "enabled": True,
                "backend_type": "redis",
                "redis": {"connection": {"host": "redis", "password": "hunter2"}},
            }
        }
    }
    with pytest.raises(SpecError) as refused:
        parse_spec(spec)
    path = "spec.config.semantic_cache.redis.connection.password"
    messages = [e.message for e in refused.value.errors if e.path == path]
    assert len(messages) == 1
    assert "plain passwords are not accepted" in messages[0]
