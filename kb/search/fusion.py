"""Hybrid retrieval: the dense and sparse result lists fused by weighted reciprocal rank.

Two forms of the same fusion: ``RankFuser`` for Haystack documents (the Qdrant retrievers' output) and
``RankingFuser`` for ``Ranking`` objects, the compact row-number lists the in-memory snapshot retrievers emit.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from haystack import Document, component


def fuse_ranks(
    ranked_keys: Sequence[Sequence[Hashable]], weights: Sequence[float], k: int, top_k: int
) -> list[tuple[Hashable, float]]:
    """score(key) = Σ weight / (k + rank), scaled so that 1.0 is the maximum; the best ``top_k``, best first.

    A list whose weight is 0 contributes no candidates at all, not zero-scored ones.
    """
    scores: dict[Hashable, float] = {}
    for keys, weight in zip(ranked_keys, weights, strict=True):
        if weight <= 0:
            continue
        for rank, key in enumerate(keys, start=1):
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    best = sum(w / (k + 1) for w in weights) or 1.0
    ordered = sorted(scores, key=lambda key: scores[key], reverse=True)[:top_k]
    return [(key, scores[key] / best) for key in ordered]


def reciprocal_rank_fusion(
    ranked_lists: list[list[Document]], weights: list[float], k: int, top_k: int
) -> list[Document]:
    """Fuse ranked document lists (see ``fuse_ranks``); each document keeps its first-seen fields."""
    first_seen: dict[str, Document] = {}
    for documents in ranked_lists:
        for document in documents:
            first_seen.setdefault(document.id, document)
    fused = fuse_ranks([[d.id for d in documents] for documents in ranked_lists], weights, k, top_k)
    return [replace(first_seen[str(key)], score=score) for key, score in fused]


@component
class RankFuser:
    """Fuses dense and sparse candidate documents by weighted reciprocal rank fusion."""

    def __init__(self, k: int = 60, dense_weight: float = 1.0, sparse_weight: float = 1.0) -> None:
        self.k = k
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight

    @component.output_types(documents=list[Document])
    def run(
        self, dense: list[Document], sparse: list[Document], top_k: int = 5, weights: list[float] | None = None
    ) -> dict[str, list[Document]]:
        """Return the fused top ``top_k`` (each with its own dense cosine in ``meta["dense_score"]``).

        Args:
            dense: the dense retriever's passages, best first.
            sparse: the BM25 retriever's passages, best first.
            top_k: how many fused passages to return.
            weights: [dense, sparse] for this call (evaluation runs dense-only and BM25-only baselines this way).
        """
        dense_weight, sparse_weight = weights or [self.dense_weight, self.sparse_weight]
        fused = reciprocal_rank_fusion([dense, sparse], [dense_weight, sparse_weight], self.k, top_k)
        # Keep each passage's own dense cosine: answer composition judges evidence by it.
        cosine = {d.id: float(d.score or 0.0) for d in dense}
        fused = [replace(d, meta={**d.meta, "dense_score": cosine.get(d.id, 0.0)}) for d in fused]
        return {"documents": fused}


@dataclass(frozen=True)
class Ranking:
    """Passages of one snapshot as row numbers, best first, with their scores.

    Haystack deep-copies every value passed between components; a list of documents costs that per document and
    per metadata value (≈ 10 ms a question here), a Ranking nothing: it is immutable, so a copy is itself.
    ``dense`` holds each row's own dense cosine (0 when the dense side did not find it).
    """

    source: Any  # the kb.search.snapshot.Snapshot the rows belong to
    rows: np.ndarray
    scores: np.ndarray
    dense: np.ndarray | None = None

    def __post_init__(self) -> None:
        for array in (self.rows, self.scores, self.dense):
            if array is not None:
                array.setflags(write=False)

    def __deepcopy__(self, _memo: dict[int, Any]) -> Ranking:
        return self

    def __len__(self) -> int:
        return len(self.rows)


@component
class RankingFuser:
    """``RankFuser`` for the snapshot retrievers' rankings."""

    def __init__(self, k: int = 60, dense_weight: float = 1.0, sparse_weight: float = 1.0) -> None:
        self.k = k
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight

    @component.output_types(ranking=Ranking)
    def run(
        self, dense: Ranking | None, sparse: Ranking | None, top_k: int = 5, weights: list[float] | None = None
    ) -> dict[str, Ranking | None]:
        """Fuse the two rankings into the top ``top_k`` rows of their snapshot (None when there is no index)."""
        if dense is None or sparse is None:
            return {"ranking": None}
        if dense.source is not sparse.source:
            raise ValueError("the dense and sparse rankings come from different generations of the index")
        dense_weight, sparse_weight = weights or [self.dense_weight, self.sparse_weight]
        fused = fuse_ranks([dense.rows.tolist(), sparse.rows.tolist()], [dense_weight, sparse_weight], self.k, top_k)
        cosine = dict(zip(dense.rows.tolist(), dense.scores.tolist(), strict=True))
        rows = np.array([row for row, _score in fused], dtype=np.int64)
        return {
            "ranking": Ranking(
                dense.source,
                rows,
                np.array([score for _row, score in fused], dtype=np.float64),
                np.array([cosine.get(row, 0.0) for row in rows.tolist()], dtype=np.float64),
            )
        }
