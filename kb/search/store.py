"""The Qdrant client and the index catalog: an embedded folder by default, a server or cluster with ``KB_QDRANT__URL``.

The served index is an alias (``majakka``) that points at one physical collection (``majakka-<stamp>``).
Ingestion builds a new collection beside it and moves the alias only when the new one is complete, so a
reader never sees a half-written index and a failed ingest leaves the old one serving.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from qdrant_client import QdrantClient
from qdrant_client.http import models as rest

from kb.config import Settings
from kb.errors import StoreError, StoreLockedError

# The vector names Haystack's Qdrant store reads and writes (a test checks them against its converters). Kept here
# so that what needs only the catalog (a no-op ingest, `kb remove`) does not import Haystack, and torch with it.
DENSE_VECTORS_NAME = "text-dense"
SPARSE_VECTORS_NAME = "text-sparse"


def open_client(settings: Settings) -> QdrantClient:
    """Connect to the configured Qdrant.

    Raises:
        StoreLockedError: the embedded folder is open in another process.
        StoreError: the server cannot be reached.
    """
    if settings.qdrant.url:
        try:
            client = QdrantClient(
                url=settings.qdrant.url, api_key=settings.qdrant.api_key, timeout=settings.qdrant.timeout
            )
            client.get_collections()
        except Exception as exc:
            raise StoreError(f"Qdrant at {settings.qdrant.url} cannot be reached: {exc}") from exc
        return client
    path = settings.qdrant_path
    path.mkdir(parents=True, exist_ok=True)
    try:
        return QdrantClient(path=str(path))
    except (RuntimeError, BlockingIOError) as exc:
        if "already accessed" in str(exc) or isinstance(exc, BlockingIOError):
            raise StoreLockedError(
                f"the Qdrant folder {path} is in use by another process; stop the server (or use "
                "POST /api/v1/admin/reindex), or set KB_QDRANT__URL to use a Qdrant server"
            ) from exc
        raise StoreError(f"cannot open the Qdrant folder {path}: {exc}") from exc


class IndexCatalog:
    """Which physical collection the alias serves, and building or dropping generations."""

    def __init__(self, client: QdrantClient, alias: str, dimension: int) -> None:
        self.client = client
        self.alias = alias
        self.dimension = dimension

    def served(self) -> str | None:
        """Return the physical collection behind the alias, or None before the first ingest."""
        try:
            for item in self.client.get_aliases().aliases:
                if item.alias_name == self.alias:
                    return str(item.collection_name)
        except Exception as exc:
            raise StoreError(f"cannot read the Qdrant aliases: {exc}") from exc
        return None

    def generations(self) -> list[str]:
        """Every physical collection of this index, oldest first."""
        names = [c.name for c in self.client.get_collections().collections]
        return sorted(n for n in names if n.startswith(self.alias + "-"))

    def create(self) -> str:
        """Create an empty collection for a new generation and return its name."""
        name = f"{self.alias}-{time.strftime('%Y%m%d%H%M%S')}-{time.monotonic_ns() % 1_000_000:06d}"
        self.client.create_collection(
            collection_name=name,
            vectors_config={DENSE_VECTORS_NAME: rest.VectorParams(size=self.dimension, distance=rest.Distance.COSINE)},
            sparse_vectors_config={SPARSE_VECTORS_NAME: rest.SparseVectorParams(modifier=rest.Modifier.IDF)},
        )
        return name

    def swap(self, name: str) -> None:
        """Point the alias at ``name`` in one operation, then drop the older generations."""
        operations: list[Any] = []
        if self.served() is not None:
            operations.append(rest.DeleteAliasOperation(delete_alias=rest.DeleteAlias(alias_name=self.alias)))
        operations.append(
            rest.CreateAliasOperation(create_alias=rest.CreateAlias(collection_name=name, alias_name=self.alias))
        )
        self.client.update_collection_aliases(change_aliases_operations=operations)
        for old in self.generations():
            if old != name:
                self.drop(old)

    def drop(self, name: str) -> None:
        """Delete a collection; a missing one is fine."""
        if self.client.collection_exists(name):
            self.client.delete_collection(name)

    def payloads(self, name: str, fields: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(point id, chosen payload fields) of every point of a collection."""
        offset = None
        while True:
            points, offset = self.client.scroll(
                name, limit=1000, offset=offset, with_payload=rest.PayloadSelectorInclude(include=fields)
            )
            for point in points:
                yield str(point.id), dict(point.payload or {})
            if offset is None:
                return
