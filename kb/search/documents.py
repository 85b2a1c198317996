"""The served index through Haystack: the document store over the shared client, and the ``Store`` of a process.

The client and the catalog of generations are in ``kb.search.store``, which does not import Haystack.
"""

from __future__ import annotations

import threading
from typing import Any

from haystack import Document
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore
from haystack_integrations.document_stores.qdrant.converters import convert_id
from qdrant_client import QdrantClient
from qdrant_client.http import models as rest

from kb.config import Settings
from kb.search.store import DENSE_VECTORS_NAME, SPARSE_VECTORS_NAME, IndexCatalog, open_client


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
