"""Hybrid search over the served index: the retrieval pipeline run on the snapshot or on Qdrant, and twin lookup."""

from __future__ import annotations

from typing import Any

import numpy as np
from haystack import Document

from kb.config import Settings
from kb.errors import StoreError
from kb.pipelines import build_retrieval_pipeline
from kb.search.documents import Store
from kb.search.snapshot import SnapshotHolder
from kb.search.twins import address_filter, twin_address
from kb.text.language import Analysers

NO_INDEX = "no index is served yet; run `kb ingest`"


class HybridSearch:
    """Dense + BM25 retrieval fused by rank, from the in-memory snapshot (embedded Qdrant) or from Qdrant itself."""

    def __init__(self, settings: Settings, store: Store, analysers: Analysers) -> None:
        self.store = store
        memory = settings.retrieval_backend == "memory"
        self.snapshot = SnapshotHolder(store.client, store.catalog) if memory else None
        if self.snapshot is not None:
            self.snapshot.current()
        self.pipeline = build_retrieval_pipeline(settings, store.documents, analysers, self.snapshot)
        self.pipeline.warm_up()

    def generation(self) -> str | None:
        """Return the physical collection being searched; cached results belong to one generation."""
        if self.snapshot is not None:
            current = self.snapshot.current()
            return current.collection if current else None
        return self.store.served()

    def refresh(self) -> None:
        """Switch to a generation that was just swapped in."""
        if self.snapshot is not None:
            self.snapshot.refresh()

    def retrieve(
        self,
        text: str,
        embedding: np.ndarray,
        *,
        language: str | None,
        top_k: int,
        language_filter: str | None = None,
        kind_filter: str | None = None,
        weights: list[float] | None = None,
        fusion: str | None = None,
        boost: dict[str, float] | None = None,
    ) -> list[Document]:
        """Return the fused passages, best first; each carries its fused score.

        ``language_filter`` and ``kind_filter`` (``official`` or ``guide``, see ``KIND_FILTERS``) keep only those
        passages. ``weights``: (dense, sparse) instead of the configured ones (the evaluation's single-side baselines);
        ``fusion``: ``convex`` or ``rrf`` instead of the configured method (the evaluation's before-and-after);
        ``boost``: passage id -> how much fusion raises that candidate (the question-to-question signal).

        Raises:
            StoreError: no index is served, or the store failed.
        """
        filters = passage_filters(language_filter, kind_filter)
        inputs: dict[str, dict[str, Any]] = {
            "dense": {"query_embedding": embedding, "filters": filters},
            "bm25": {"text": text, "language": language},
            "sparse": {"filters": filters},
            "fuser": {"top_k": top_k, "weights": weights, "method": fusion, "boost": boost},
        }
        try:
            if self.snapshot is not None:
                # One generation for both sides, even if a reindex swaps the alias meanwhile.
                snapshot = self.snapshot.current()
                if snapshot is None:
                    raise StoreError(NO_INDEX)
                inputs["dense"]["snapshot"] = inputs["sparse"]["snapshot"] = snapshot
                return snapshot.passages(self.pipeline.run(inputs)["fuser"]["ranking"])
            inputs["dense"]["query_embedding"] = embedding.tolist()
            with self.store.lock:
                return list(self.pipeline.run(inputs)["fuser"]["documents"])
        except StoreError:
            raise
        except Exception as exc:
            raise self._failure(exc) from exc

    def _failure(self, exc: Exception) -> StoreError:
        try:
            served = self.store.served()
        except Exception:  # the store itself is failing; say that
            served = "?"
        return StoreError(NO_INDEX if served is None else f"the vector store failed: {exc}")

    def passages_of(self, document_id: str) -> list[Document]:
        """Return every served passage of one document, in order.

        Raises:
            StoreError: the store failed.
        """
        if self.snapshot is not None:
            snapshot = self.snapshot.current()
            return snapshot.of_document(document_id) if snapshot else []
        filters = {"field": "meta.document_id", "operator": "==", "value": document_id}
        try:
            with self.store.lock:
                found = self.store.documents.filter_documents(filters=filters)
        except Exception as exc:
            raise StoreError(f"the vector store failed: {exc}") from exc
        return sorted(found, key=lambda d: d.meta.get("passage_index", 0))

    def known(self, passage_ids: list[str]) -> set[str]:
        """Return which of ``passage_ids`` are passages of the served generation.

        Raises:
            StoreError: the store failed.
        """
        if self.snapshot is not None:
            snapshot = self.snapshot.current()
            return {p for p in passage_ids if snapshot is not None and p in snapshot.rows}
        if not passage_ids:
            return set()
        try:
            with self.store.lock:
                return {d.id for d in self.store.documents.get_documents_by_id(list(set(passage_ids)))}
        except Exception as exc:
            raise StoreError(f"the vector store failed: {exc}") from exc

    def twin(self, passage_id: str, language: str) -> Document | None:
        """Find the same section of the same guide in ``language``: in the snapshot, else asked of the store.

        Raises:
            StoreError: the store failed.
        """
        if self.snapshot is not None:
            snapshot = self.snapshot.current()
            return snapshot.twin(passage_id, language) if snapshot else None
        try:
            return self._stored_twin(passage_id, language)
        except Exception as exc:
            raise StoreError(f"the vector store failed: {exc}") from exc

    def _stored_twin(self, passage_id: str, language: str) -> Document | None:
        documents = self.store.documents
        with self.store.lock:
            stored = documents.get_documents_by_id([passage_id])
            address = twin_address(stored[0].meta, language) if stored else None
            if address is None:
                return None
            matches = documents.filter_documents(filters=address_filter(address))
        return min(matches, key=lambda d: d.meta.get("passage_index", 0)) if matches else None


# What ``kind`` asks for: our plain-language guides, or the official material (statutes, case law, the press
# release, the action plan and any other ingested document: everything that is not one of our guides).
KIND_FILTERS: dict[str, dict[str, Any]] = {
    "guide": {"field": "meta.kind", "operator": "==", "value": "guide"},
    "official": {"field": "meta.kind", "operator": "!=", "value": "guide"},
}


def passage_filters(language: str | None, kind: str | None) -> dict[str, Any] | None:
    """Return the Haystack filter for passages in ``language`` and of ``kind`` (None: no filter).

    Raises:
        ValueError: a kind that is not ``official`` or ``guide``.
    """
    if kind is not None and kind not in KIND_FILTERS:
        raise ValueError(f"kind must be one of {', '.join(KIND_FILTERS)}, not {kind!r}")
    conditions = [{"field": "meta.language", "operator": "==", "value": language}] if language else []
    conditions += [KIND_FILTERS[kind]] if kind else []
    if len(conditions) <= 1:
        return conditions[0] if conditions else None
    return {"operator": "AND", "conditions": conditions}
