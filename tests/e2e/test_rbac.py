"""The operator's credential is a ServiceAccount token with exactly config/rbac's permissions:
what the ClusterRole grants works, and what it does not grant is Forbidden by the API server."""

from __future__ import annotations

import pytest

from tests.support.kubectl import Kubectl
from tests.support.live import OPERATOR_NAMESPACE, OPERATOR_SERVICE_ACCOUNT


def test_the_operator_credential_is_its_service_account(operator_rbac: Kubectl) -> None:
    review = operator_rbac.json("auth", "whoami")
    user = review["status"]["userInfo"]
    assert user["username"] == (
        f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}"
    )
    assert "system:masters" not in user.get("groups", [])


@pytest.mark.parametrize(
    "args",
    [
        ("get", "nodes"),
        ("get", "clusterroles"),
        ("get", "pods", "-A"),
        ("create", "namespace", "sr-e2e-forbidden"),
        ("delete", "crd", "semanticrouters.vllm.ai", "--dry-run=server"),
    ],
    ids=lambda args: " ".join(args),
)
def test_what_the_cluster_role_does_not_grant_is_forbidden(
    operator_rbac: Kubectl, crd: str, args: tuple[str, ...]
) -> None:
    proc = operator_rbac.run(*args, check=False)
    assert proc.returncode != 0
    assert "Forbidden" in proc.stderr or "forbidden" in proc.stderr, proc.stderr
    assert f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_SERVICE_ACCOUNT}" in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("get", "semanticrouters", "-A"),
        ("get", "deployments", "-A"),
        ("get", "secrets", "-A"),
        ("get", "services", "-A"),
    ],
    ids=lambda args: " ".join(args),
)
def test_what_the_cluster_role_grants_is_allowed(
    operator_rbac: Kubectl, crd: str, args: tuple[str, ...]
) -> None:
    proc = operator_rbac.run(*args, check=False)
    assert proc.returncode == 0, proc.stderr
