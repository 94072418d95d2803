"""The helm stand-ins' one writer of helm's storage Secrets (`tests.support.helmstorage`),
against the contract it copies (helm's Secret storage driver; real helm is checked against
the same functions in tests/e2e/test_lifecycle.py) and against what the operator reads."""

from __future__ import annotations

from collections.abc import AsyncIterator

import kmock
import pytest_asyncio

from tests.support.cluster import Client, Cluster, LoopClients
from tests.support.helmstorage import SECRET_TYPE, SECRETS, HelmStorage, secret_name

OWNER = {"semantic-router.vllm.ai/owner-uid": "1234"}


@pytest_asyncio.fixture
async def storage() -> AsyncIterator[HelmStorage]:
    cluster = Cluster.standard()
    async with cluster, kmock.Server(cluster) as server:
        clients = LoopClients(str(server.url).rstrip("/"))
        try:
            yield HelmStorage(clients.get())
        finally:
            await clients.close()


async def labels_of(client: Client, name: str) -> dict[str, str]:
    secret = await client.get(SECRETS, "default", name)
    assert secret is not None, name
    assert secret["type"] == SECRET_TYPE
    return dict(secret["metadata"]["labels"])


async def test_an_install_stores_one_secret_with_helms_labels_over_the_releases_own(
    storage: HelmStorage,
) -> None:
    await storage.create("default", "my-router", 1, "deployed", {**OWNER, "owner": "me"})
    labels = await labels_of(storage.client, "sh.helm.release.v1.my-router.v1")
    created = labels.pop("createdAt")
    assert created.isdigit()
    assert labels == {
        **OWNER,
        "owner": "helm",
        "name": "my-router",
        "status": "deployed",
        "version": "1",
    }


async def test_an_upgrade_supersedes_the_previous_revision_replacing_its_labels(
    storage: HelmStorage,
) -> None:
    await storage.create("default", "r", 1, "deployed", {**OWNER, "stale": "x"})
    await storage.update("default", "r", 1, "superseded", OWNER)
    await storage.create("default", "r", 2, "deployed", OWNER)
    old = await labels_of(storage.client, secret_name("r", 1))
    assert "createdAt" not in old and old.pop("modifiedAt").isdigit()
    assert old == {**OWNER, "owner": "helm", "name": "r", "status": "superseded", "version": "1"}
    assert await storage.latest_revision("default", "r") == 2


async def test_an_install_then_an_upgrade_leave_what_helm_leaves(storage: HelmStorage) -> None:
    await storage.deploy("default", "r", 1, {**OWNER, "team": "a"})
    await storage.deploy("default", "r", 2, OWNER, previous={**OWNER, "team": "a"})
    first = await labels_of(storage.client, secret_name("r", 1))
    second = await labels_of(storage.client, secret_name("r", 2))
    for labels in (first, second):
        assert "createdAt" not in labels and labels.pop("modifiedAt").isdigit()
    assert first == {
        **OWNER,
        "team": "a",
        "owner": "helm",
        "name": "r",
        "status": "superseded",
        "version": "1",
    }
    assert second == {**OWNER, "owner": "helm", "name": "r", "status": "deployed", "version": "2"}


async def test_a_sync_creates_updates_and_deletes_to_match_the_wanted_revisions(
    storage: HelmStorage,
) -> None:
    await storage.sync("default", "r", {1: ("deployed", {})}, {})
    await storage.sync(
        "default", "r", {1: ("superseded", {}), 2: ("pending-upgrade", {})}, {1: "deployed"}
    )
    assert (await labels_of(storage.client, secret_name("r", 1)))["status"] == "superseded"
    assert (await labels_of(storage.client, secret_name("r", 2)))["status"] == "pending-upgrade"
    await storage.sync("default", "r", {}, {1: "superseded", 2: "pending-upgrade"})
    assert await storage.latest_revision("default", "r") == 0


async def test_the_latest_revision_counts_only_the_releases_own_secrets(
    storage: HelmStorage,
) -> None:
    await storage.create("default", "a", 1, "deployed")
    await storage.create("default", "a", 2, "deployed")
    await storage.create("default", "b", 5, "deployed")
    await storage.create("other", "a", 7, "deployed")
    assert await storage.latest_revision("default", "a") == 2
    assert await storage.latest_revision("default", "c") == 0
