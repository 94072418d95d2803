"""Literal credentials in ``spec.config`` (pure).

The router configuration is rendered into a ConfigMap, which anyone with the namespace's
``view`` role can read. A credential therefore never appears there as a literal: it lives
in a Secret, reaches the router as an environment variable bound through ``spec.env``
(``valueFrom.secretKeyRef``), and the configuration holds ``${VAR}``, which the router
substitutes in every string at load (or, for the cache, ``password_secret_ref``).

`literal_credentials` finds, at any depth of ``spec.config``:

- a key naming a secret (``password``, ``secret``, ``token``, ``api_key`` ... in any case,
  with ``-`` or ``_``) whose value is a literal string;
- an ``Authorization``, ``Proxy-Authorization``, ``X-Api-Key``, ``Api-Key`` or ``Cookie``
  header with a literal value in ``extra_headers`` / ``headers``;
- a URL carrying a user or password (``https://user:pass@host``).

Allowed: ``""``, a value that is only ``${VAR}`` references, and for a header an auth
scheme word before them (``Bearer ${TOKEN}``); numbers and booleans (``max_tokens: 512``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

SECRET_WORDS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "apikey",
    "api_key",
    "api_keys",
    "apikeys",
    "access_key",
    "private_key",
    "credential",
    "credentials",
)
"""Words that make a key a credential's: whole words of the key (camelCase and '-' split
into '_' words), so that ``hf_token`` and ``X-Api-Key`` match and ``tokenizer`` does not."""
NOT_CREDENTIALS = frozenset({"token_filter", "auth_mode", "authentication_mode"})
"""Keys of the router's configuration holding a word above but no secret."""
REFERENCE_SUFFIXES = ("_env", "_ref", "_file", "_path", "_name", "_mode", "_type")
"""Key endings that name where a credential is, or what kind: not the credential."""
CREDENTIAL_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie"}
)
HEADER_MAPS = frozenset({"extra_headers", "headers"})
AUTH_SCHEMES = frozenset({"", "bearer", "basic", "token", "apikey"})

_REFERENCE = re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_]*\}")
_NUMBER = re.compile(r"^\s*[-+]?[0-9]+(\.[0-9]+)?\s*$")
_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://([^/?#\s@]+)@")

SUPPORTED = (
    "put it in a Secret, bind it to an environment variable in spec.env "
    "(valueFrom.secretKeyRef) and write ${VAR} here (a cache password takes "
    "password_secret_ref {name, key})"
)
EXPOSED = "would be stored in the router's ConfigMap, readable with the namespace's view role"


def _normal(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower().replace("-", "_")


def is_credential_key(key: str) -> bool:
    """True when `key` names a credential (``password``, ``hf_token``, ``X-Api-Key`` ...)."""
    normal = _normal(key)
    if normal in NOT_CREDENTIALS or normal.endswith(REFERENCE_SUFFIXES):
        return False
    padded = f"_{normal}_"
    return any(f"_{word}_" in padded for word in SECRET_WORDS)


def _only_references(text: str, *, schemes: bool = False) -> bool:
    """True for "" and for text that is only ${VAR} references (after an auth scheme
    word such as Bearer when `schemes`)."""
    if not text.strip():
        return True
    rest = _REFERENCE.sub("", text).strip().lower()
    if rest == "":
        return True
    return schemes and rest in AUTH_SCHEMES and bool(_REFERENCE.search(text))


def _literal(value: Any, *, schemes: bool = False) -> bool:
    """True for a string holding a literal (not only references, not a number)."""
    if not isinstance(value, str) or _NUMBER.match(value):
        return False
    return not _only_references(value, schemes=schemes)


def _url_problem(text: str) -> str | None:
    for match in _USERINFO.finditer(text):
        user, _, password = match.group(1).partition(":")
        if not (_only_references(password) and (password or _only_references(user))):
            return (
                "the URL carries a user and password (scheme://user:password@host), which "
                f"{EXPOSED}: write the password as ${{VAR}} (scheme://user:${{VAR}}@host) and "
                "bind VAR to a Secret in spec.env (valueFrom.secretKeyRef)"
            )
    return None


def literal_credentials(node: Any, path: str = "spec.config") -> Iterator[tuple[str, str]]:
    """(field path, message) for each literal credential in `node` (``spec.config``)."""
    if isinstance(node, Mapping):
        for key, value in node.items():
            here = f"{path}.{key}"
            if str(key) in HEADER_MAPS and isinstance(value, Mapping):
                yield from _headers(value, here)
            elif is_credential_key(str(key)) and _literal_values(value):
                yield here, f"a literal credential {EXPOSED}: {SUPPORTED}"
            else:
                yield from literal_credentials(value, here)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from literal_credentials(item, f"{path}[{index}]")
    elif isinstance(node, str):
        problem = _url_problem(node)
        if problem is not None:
            yield path, problem


def _literal_values(value: Any) -> bool:
    if isinstance(value, list):
        return any(_literal(item) for item in value)
    return _literal(value)


def _headers(headers: Mapping[str, Any], path: str) -> Iterator[tuple[str, str]]:
    for name, value in headers.items():
        here = f"{path}.{name}"
        header = str(name).lower()
        if (header in CREDENTIAL_HEADERS or is_credential_key(header)) and _literal(
            value, schemes=True
        ):
            yield (
                here,
                f"the {name} header holds a literal credential, which {EXPOSED}: {SUPPORTED} "
                "(e.g. Bearer ${VAR})",
            )
        else:
            yield from literal_credentials(value, here)
