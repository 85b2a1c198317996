"""The Qdrant store: an embedded folder by default, a server or cluster when ``KB_QDRANT__URL`` is set.

The served index is an alias (``majakka``) that points at one physical collection (``majakka-<stamp>``).
Ingestion builds a new collection beside it and moves the alias only when the new one is complete, so a
reader never sees a half-written index and a failed ingest leaves the old one serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from haystack_integrations.document_stores.qdrant.converters import DENSE_VECTORS_NAME, SPARSE_VECTORS_NAME, convert_id
from qdrant_client import QdrantClient
from qdrant_client.http import models as rest

from kb.config import Settings
from kb.errors import StoreError, StoreLockedError


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


class SharedClientDocumentStore(QdrantDocumentStore):
    """A Haystack document store over ``collection`` (an alias or a physical name) that uses a given client.

    The embedded Qdrant folder admits one client per process, so every store shares the engine's client rather
    than opening its own; the collection is created by ``IndexCatalog``, never by the store.
    """

    def __init__(self, client: QdrantClient, collection: str, dimension: int) -> None:
        super().__init__(
            index=collection,
            embedding_dim=dimension,
            use_sparse_embeddings=True,
            sparse_idf=True,
            progress_bar=False,
            write_batch_size=256,
        )
        self._shared = client

    def _initialize_client(self) -> None:
        # The store's one hook for its client: hand it the shared one, and set up no collection.
        self._client = self._shared

    def close(self) -> None:
        """Keep the shared client open: its owner, a ``Store``, closes it."""

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.FAIL) -> int:
        """Write documents as the Haystack store does; with ``OVERWRITE``, without its per-document ``to_dict``.

        ``Document.to_dict`` walks every float of every vector through ``dataclasses.asdict`` (6 of a full
        ingest's 70 seconds); the points built here hold the same payload and vectors (a test compares them).
        """
        if policy != DuplicatePolicy.OVERWRITE:
            return super().write_documents(documents, policy)
        self._initialize_client()
        assert self._client is not None
        for first in range(0, len(documents), self.write_batch_size):
            batch = [qdrant_point(d) for d in documents[first : first + self.write_batch_size]]
            self._client.upsert(collection_name=self.index, points=batch, wait=self.wait_result_from_api)
        return len(documents)


def qdrant_point(document: Document) -> rest.PointStruct:
    """Build the Qdrant point the Haystack store writes for ``document`` (payload, dense and sparse vector, id)."""
    payload: dict[str, Any] = {
        "id": document.id,
        "content": document.content,
        "blob": document.blob.to_dict() if document.blob is not None else None,
        "meta": dict(document.meta),
        "score": document.score,
    }
    vector: dict[str, Any] = {}
    if document.embedding is not None:
        vector[DENSE_VECTORS_NAME] = list(document.embedding)
    if document.sparse_embedding is not None:
        sparse = document.sparse_embedding
        vector[SPARSE_VECTORS_NAME] = rest.SparseVector(indices=list(sparse.indices), values=list(sparse.values))
    return rest.PointStruct(id=convert_id(document.id), payload=payload, vector=vector)


class Store:
    """The Qdrant client of one process, the lock that serialises the embedded engine, and the served index.

    Args:
        settings: where Qdrant is (``KB_QDRANT__*``).
        dimension: the embedding model's vector size (read from the installed model).
    """

    def __init__(self, settings: Settings, dimension: int) -> None:
        self.client = open_client(settings)
        self.alias = settings.qdrant.collection
        self.dimension = dimension
        # The embedded engine is not thread-safe; every access from serving threads takes this lock.
        self.lock = threading.RLock()
        self.catalog = IndexCatalog(self.client, self.alias, dimension)
        self.documents = SharedClientDocumentStore(self.client, self.alias, dimension)

    def served(self) -> str | None:
        """Return the physical collection being served, or None (see ``IndexCatalog.served``)."""
        with self.lock:
            return self.catalog.served()

    def count(self) -> int:
        """Count the passages of the served index (through the alias, so a swap between calls is harmless)."""
        with self.lock:
            if self.catalog.served() is None:
                return 0
            return int(self.client.count(self.alias).count)

    def close(self) -> None:
        """Release the client (the embedded folder can then be opened by another process)."""
        self.client.close()
