"""The served collection held in memory, for fast retrieval over an embedded store.

Embedded Qdrant scores sparse vectors in a Python loop over every point (≈ 85 ms for 2,200 passages here) and
dense ones through per-point conversions (≈ 9 ms). The corpus is small, so the server keeps a snapshot of the
served collection — passages, a dense matrix and an inverted index of the BM25 weights with Qdrant's own IDF
formula — and searches it in well under a millisecond. The snapshot is reloaded when the alias moves to a new
generation. With a Qdrant server (``KB_QDRANT__URL``) the retrievers query Qdrant itself unless configured otherwise.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from haystack import Document, component
from haystack.dataclasses import SparseEmbedding
from haystack_integrations.document_stores.qdrant.converters import DENSE_VECTORS_NAME, SPARSE_VECTORS_NAME
from qdrant_client import QdrantClient

from kb.search.fusion import Ranking
from kb.search.store import IndexCatalog
from kb.search.twins import Address, addresses, twin_address


@dataclass
class Snapshot:
    """One generation of the index in memory."""

    collection: str
    documents: list[Document]
    dense: np.ndarray
    postings: dict[int, tuple[np.ndarray, np.ndarray]]
    idf: dict[int, float]
    languages: np.ndarray
    twins: dict[Address, Document]
    by_document: dict[str, list[Document]] = field(default_factory=dict)
    kinds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=str))
    rows: dict[str, int] = field(default_factory=dict)  # passage id -> its row in ``documents``

    def __deepcopy__(self, _memo: dict[int, Any]) -> Snapshot:
        # Read-only once loaded; passed through a pipeline as is.
        return self

    @classmethod
    def load(cls, client: QdrantClient, collection: str) -> Snapshot:
        """Read every point of ``collection`` with its vectors."""
        documents: list[Document] = []
        dense_rows: list[list[float]] = []
        postings_raw: dict[int, tuple[list[int], list[float]]] = {}
        offset = None
        while True:
            points, offset = client.scroll(collection, limit=512, offset=offset, with_payload=True, with_vectors=True)
            for point in points:
                payload = dict(point.payload or {})
                vectors: Any = point.vector or {}
                row = len(documents)
                documents.append(
                    Document(
                        id=str(payload.pop("id", point.id)),
                        content=payload.pop("content", ""),
                        meta=payload.get("meta", {}),
                    )
                )
                dense_rows.append(list(vectors.get(DENSE_VECTORS_NAME, [])))
                sparse = vectors.get(SPARSE_VECTORS_NAME)
                if sparse is not None:
                    for index, value in zip(sparse.indices, sparse.values, strict=True):
                        rows, values = postings_raw.setdefault(int(index), ([], []))
                        rows.append(row)
                        values.append(float(value))
            if offset is None:
                break
        n = len(documents)
        postings = {
            t: (np.array(r, dtype=np.int32), np.array(v, dtype=np.float32)) for t, (r, v) in postings_raw.items()
        }
        # Qdrant's IDF modifier: ln(1 + (N − n + 0.5) / (n + 0.5)).
        idf = {t: math.log(1 + (n - len(r) + 0.5) / (len(r) + 0.5)) for t, (r, _v) in postings.items()}
        if n:
            dense = np.asarray(dense_rows, dtype=np.float32).reshape(n, -1)
        else:  # an empty generation still answers with the right shape
            params = client.get_collection(collection).config.params.vectors
            size = params[DENSE_VECTORS_NAME].size if isinstance(params, dict) else 0
            dense = np.zeros((0, size), np.float32)
        languages = np.array([str(d.meta.get("language", "")) for d in documents])
        # Twins (see kb/search/twins.py): the first passage at each address, in passage order.
        twins: dict[Address, Document] = {}
        for d in sorted(documents, key=lambda d: d.meta.get("passage_index", 0)):
            for address in addresses(d.meta):
                twins.setdefault(address, d)
        by_document: dict[str, list[Document]] = {}
        for d in sorted(documents, key=lambda d: d.meta.get("passage_index", 0)):
            by_document.setdefault(str(d.meta.get("document_id", "")), []).append(d)
        kinds = np.array([str(d.meta.get("kind", "")) for d in documents])
        row_of = {d.id: i for i, d in enumerate(documents)}
        return cls(collection, documents, dense, postings, idf, languages, twins, by_document, kinds, row_of)

    def mask(self, filters: dict[str, Any] | None) -> np.ndarray | None:
        """Return which passages pass a Haystack filter (None: all do).

        A snapshot applies what the API asks for: ``meta.language`` and ``meta.kind`` compared with ``==`` or ``!=``,
        and conditions joined by ``AND``.

        Raises:
            ValueError: any other filter (dropping it would return passages the caller excluded).
        """
        if not filters:
            return None
        if filters.get("operator") == "AND" and isinstance(filters.get("conditions"), list):
            keep = np.ones(len(self.documents), dtype=bool)
            for condition in filters["conditions"]:
                part = self.mask(condition)
                if part is not None:
                    keep &= part
            return keep
        columns = {"meta.language": self.languages, "meta.kind": self.kinds}
        column = columns.get(str(filters.get("field")))
        operator = filters.get("operator")
        if column is None or operator not in ("==", "!=") or not isinstance(filters.get("value"), str):
            raise ValueError(f"the in-memory snapshot cannot apply the filter {filters!r}")
        equal: np.ndarray = column == filters["value"]
        return equal if operator == "==" else ~equal

    def passages(self, ranking: Ranking) -> list[Document]:
        """Return the ranked rows as full passages, with the ranking's score.

        The dense cosine, when known, is in ``meta["dense_score"]``.
        """
        if ranking.source is not self:
            raise ValueError("the ranking belongs to another generation of the index")
        dense = ranking.dense.tolist() if ranking.dense is not None else [None] * len(ranking)
        passages = []
        for row, score, cosine in zip(ranking.rows.tolist(), ranking.scores.tolist(), dense, strict=True):
            document = self.documents[row]
            meta = document.meta if cosine is None else {**document.meta, "dense_score": cosine}
            passages.append(replace(document, score=score, meta=meta))
        return passages

    def of_document(self, document_id: str) -> list[Document]:
        """Return the passages of one document, in order."""
        return self.by_document.get(document_id, [])

    def twin(self, passage_id: str, language: str) -> Document | None:
        """Find the same section of the same guide in ``language``.

        For the lead section, that is the other guide's first passage.
        """
        row = self.rows.get(passage_id)
        document = self.documents[row] if row is not None else None
        address = twin_address(document.meta, language) if document is not None else None
        return self.twins.get(address) if address is not None else None

    def _top(self, scores: np.ndarray, top_k: int, keep: np.ndarray | None) -> Ranking:
        if keep is not None:
            scores = np.where(keep, scores, -np.inf)
        k = min(top_k, int(np.isfinite(scores).sum()))
        if k <= 0:
            return Ranking(self, np.zeros(0, dtype=np.int64), np.zeros(0))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best], kind="stable")]
        return Ranking(self, best.astype(np.int64), scores[best].astype(np.float64))

    def dense_search(
        self, embedding: list[float] | np.ndarray, top_k: int, filters: dict[str, Any] | None = None
    ) -> Ranking:
        """Passages by cosine similarity (vectors are normalised)."""
        return self._top(self.dense @ np.asarray(embedding, dtype=np.float32), top_k, self.mask(filters))

    def sparse_search(self, query: SparseEmbedding, top_k: int, filters: dict[str, Any] | None = None) -> Ranking:
        """Passages by BM25 (query weights × IDF × stored term weights); passages with no term do not qualify."""
        scores = np.zeros(len(self.documents), dtype=np.float32)
        matched = np.zeros(len(self.documents), dtype=bool)
        for index, value in zip(query.indices, query.values, strict=True):
            posting = self.postings.get(int(index))
            if posting is None:
                continue
            rows, weights = posting
            scores[rows] += value * self.idf[int(index)] * weights
            matched[rows] = True
        return self._top(np.where(matched, scores, -np.inf), top_k, self.mask(filters))


class SnapshotHolder:
    """The current snapshot; reloaded when the served collection changes.

    The alias is looked up at most every ``check_every`` seconds (another process may move it on a Qdrant
    server); an in-process reindex calls ``refresh`` to switch at once.
    """

    def __init__(self, client: QdrantClient, catalog: IndexCatalog, check_every: float = 1.0) -> None:
        self.catalog = catalog
        self.client = client
        self.check_every = check_every
        self.snapshot: Snapshot | None = None
        self._checked = -math.inf
        self._lock = threading.Lock()

    def current(self) -> Snapshot | None:
        """Return the snapshot of the served collection (loading it if the alias moved).

        While another thread loads a new generation the old one goes on serving, since a load takes seconds; only
        when there is no snapshot yet does the caller wait.
        """
        if self.snapshot is not None and time.monotonic() - self._checked < self.check_every:
            return self.snapshot
        return self._check(wait=self.snapshot is None)

    def refresh(self) -> Snapshot | None:
        """Look at the alias now and load the new generation if it moved (waiting for a load in progress)."""
        return self._check(wait=True)

    def _check(self, *, wait: bool) -> Snapshot | None:
        if not self._lock.acquire(blocking=wait):
            return self.snapshot
        try:
            served = self.catalog.served()
            self._checked = time.monotonic()
            if served is None:
                self.snapshot = None
            elif self.snapshot is None or self.snapshot.collection != served:
                self.snapshot = Snapshot.load(self.client, served)
            return self.snapshot
        finally:
            self._lock.release()


@component
class SnapshotEmbeddingRetriever:
    """Dense retrieval from the in-memory snapshot (same inputs as QdrantEmbeddingRetriever)."""

    def __init__(self, holder: SnapshotHolder, top_k: int = 10) -> None:
        self.holder = holder
        self.top_k = top_k

    @component.output_types(ranking=Ranking)
    def run(
        self,
        query_embedding: np.ndarray | list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        snapshot: Snapshot | None = None,
    ) -> dict[str, Ranking | None]:
        """Best passages by cosine similarity (in ``snapshot``, by default the current one; None without an index)."""
        snapshot = snapshot or self.holder.current()
        if snapshot is None:
            return {"ranking": None}
        return {"ranking": snapshot.dense_search(query_embedding, top_k or self.top_k, filters)}


@component
class SnapshotSparseRetriever:
    """BM25 retrieval from the in-memory snapshot (same inputs as QdrantSparseEmbeddingRetriever)."""

    def __init__(self, holder: SnapshotHolder, top_k: int = 10) -> None:
        self.holder = holder
        self.top_k = top_k

    @component.output_types(ranking=Ranking)
    def run(
        self,
        query_sparse_embedding: SparseEmbedding,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        snapshot: Snapshot | None = None,
    ) -> dict[str, Ranking | None]:
        """Best passages by BM25 (in ``snapshot``, by default the current one; None without an index)."""
        snapshot = snapshot or self.holder.current()
        if snapshot is None:
            return {"ranking": None}
        return {"ranking": snapshot.sparse_search(query_sparse_embedding, top_k or self.top_k, filters)}
