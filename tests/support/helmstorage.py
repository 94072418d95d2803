"""What helm leaves in a cluster, written by the helm stand-ins: its release storage
Secrets and the workload objects the operator reads back.

The one writer of helm's storage Secrets for every stand-in (`FakeReleases`, the
reliability `ReleaseStore`, the benchmarks' `TimedReleases`). The contract it copies is
helm's default ("secret") storage driver, read from helm's source
(pkg/storage/storage.go `makeKey`, pkg/storage/driver/secrets.go `Create`, `Update`,
`newSecretsObject`; helm v3.17 and v4.1):

- one Secret per revision, named ``sh.helm.release.v1.<release>.v<revision>``, of type
  ``helm.sh/release.v1``, in the release's namespace;
- labeled with the release's own labels (``--labels``; helm 3.17 and later), then helm's
  ``name``, ``owner=helm``, ``status`` and ``version`` over them (helm's four win);
- ``createdAt`` (Unix seconds) when created; an update replaces the labels, with
  ``modifiedAt`` in place of ``createdAt``;
- an install or upgrade (pkg/action/install.go, upgrade.go) creates its revision as
  ``pending-install``/``pending-upgrade``, and once applied updates the previous deployed
  revision to ``superseded`` and its own to ``deployed``: every revision a finished install
  or upgrade left carries ``modifiedAt``, none ``createdAt``; uninstall deletes every
  revision's Secret.

The release itself (``data.release``: base64 of helm's base64 of the gzipped JSON release
record) is written only when a stand-in gives one (the benchmarks do: the operator's drift
check reads the deployed manifest from it); elsewhere the operator reads the labels only
(metadata-only lists).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tests.support.cluster import Client

SECRETS = "v1/secrets"
SECRET_TYPE = "helm.sh/release.v1"
HELM_LABELS = ("name", "owner", "status", "version")
# Kinds of a release the emulated cluster keeps as objects (what the operator reads back).
WORKLOADS = {"Deployment": "apps/v1/deployments", "Route": "route.openshift.io/v1/routes"}

# A revision as the storage holds it: (helm status, the release's own labels).
Revision = tuple[str, Mapping[str, str]]


def secret_name(release: str, revision: int) -> str:
    """The storage key of one revision (helm's makeKey with the Secret driver's prefix)."""
    return f"sh.helm.release.v1.{release}.v{revision}"


def secret_labels(
    release: str, revision: int, status: str, own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The labels of one revision's Secret: the release's own, helm's four over them."""
    return {
        **(own or {}),
        "name": release,
        "owner": "helm",
        "status": status,
        "version": str(revision),
    }


def stamped_labels(
    stamp: str, release: str, revision: int, status: str, own: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The labels helm writes: `stamp` (``createdAt`` on create, ``modifiedAt`` on update),
    the time in Unix seconds, beside `secret_labels`."""
    return {stamp: str(int(time.time())), **secret_labels(release, revision, status, own)}


def storage_secret(
    namespace: str,
    release: str,
    revision: int,
    status: str,
    own: Mapping[str, str] | None = None,
    record: str | None = None,
) -> dict[str, Any]:
    """The Secret helm creates for a new revision (with `record` as its ``data.release``)."""
    labels = stamped_labels("createdAt", release, revision, status, own)
    data = {"data": {"release": record}} if record is not None else {}
    return {
        **data,
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": {
            "name": secret_name(release, revision),
            "namespace": namespace,
            "labels": labels,
        },
    }


class HelmStorage:
    """helm's writes to a cluster, through `client`."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def create(
        self,
        namespace: str,
        release: str,
        revision: int,
        status: str,
        own: Mapping[str, str] | None = None,
        record: str | None = None,
    ) -> None:
        secret = storage_secret(namespace, release, revision, status, own, record)
        await self.client.create(secret)

    async def update(
        self,
        namespace: str,
        release: str,
        revision: int,
        status: str,
        own: Mapping[str, str] | None = None,
    ) -> None:
        """Replace the labels of a revision's Secret (helm's Update writes the whole object)."""
        name = secret_name(release, revision)
        current = await self.client.get(SECRETS, namespace, name)
        assert current is not None, f"helm updates only stored revisions: {namespace}/{name}"
        labels: dict[str, str | None] = {
            **stamped_labels("modifiedAt", release, revision, status, own)
        }
        for key in (current.get("metadata") or {}).get("labels") or {}:
            labels.setdefault(key, None)  # a merge patch removes what is set to null
        await self.client.patch(SECRETS, namespace, name, {"metadata": {"labels": labels}})

    async def delete(self, namespace: str, release: str, revision: int) -> None:
        await self.remove(SECRETS, namespace, secret_name(release, revision))

    async def deploy(
        self,
        namespace: str,
        release: str,
        revision: int,
        own: Mapping[str, str] | None = None,
        previous: Mapping[str, str] | None = None,
        record: str | None = None,
    ) -> None:
        """A successful install (revision 1) or upgrade, as helm writes it: the revision
        created pending (with the release `record`), the previous one (with its own labels
        `previous`) superseded, the new one deployed."""
        pending = "pending-install" if revision == 1 else "pending-upgrade"
        await self.create(namespace, release, revision, pending, own, record)
        if revision > 1:
            await self.update(namespace, release, revision - 1, "superseded", previous)
        await self.update(namespace, release, revision, "deployed", own)

    async def sync(
        self,
        namespace: str,
        release: str,
        want: Mapping[int, Revision],
        have: Mapping[int, str],
    ) -> None:
        """Make the release's Secrets hold `want` (revision → status and own labels), given
        the statuses `have` already written: create, update or delete per revision."""
        for revision, (status, own) in want.items():
            if revision not in have:
                await self.create(namespace, release, revision, status, own)
            elif have[revision] != status:
                await self.update(namespace, release, revision, status, own)
        for revision in set(have) - set(want):
            await self.delete(namespace, release, revision)

    async def latest_revision(self, namespace: str, release: str) -> int:
        """The highest revision stored for `release` (0 when none), from the labels."""
        found = await self.client.list(SECRETS, namespace, {"owner": "helm", "name": release})
        versions = [int(s["metadata"]["labels"]["version"]) for s in found]
        return max(versions, default=0)

    # -- the workload a release leaves behind

    async def apply(self, manifest: Mapping[str, Any], namespace: str) -> Any:
        """Create a workload object of a release, or update its labels and spec; the
        object as stored (None for kinds the cluster does not keep)."""
        resource = WORKLOADS.get(str(manifest.get("kind")))
        if resource is None:
            return None
        name = manifest["metadata"]["name"]
        if await self.client.get(resource, namespace, name) is None:
            return await self.client.create({**manifest, "metadata": {**manifest["metadata"]}})
        body = {"metadata": {"labels": manifest["metadata"].get("labels") or {}}}
        return await self.client.patch(
            resource, namespace, name, {**body, "spec": manifest["spec"]}
        )

    async def remove(self, resource: str, namespace: str, name: str) -> None:
        """Delete an object if it is there."""
        if await self.client.get(resource, namespace, name) is not None:
            await self.client.delete(resource, namespace, name)
