"""Hybrid retrieval: the dense and sparse result lists fused by weighted reciprocal rank."""

from __future__ import annotations

from dataclasses import replace

from haystack import Document, component


def reciprocal_rank_fusion(
    ranked_lists: list[list[Document]], weights: list[float], k: int, top_k: int
) -> list[Document]:
    """Fuse ranked lists: score(d) = Σ weight / (k + rank); the fused score is scaled so that 1.0 is the maximum."""
    scores: dict[str, float] = {}
    first_seen: dict[str, Document] = {}
    for documents, weight in zip(ranked_lists, weights, strict=True):
        if weight <= 0:
            continue  # a side switched off contributes no candidates at all, not zero-scored ones
        for rank, document in enumerate(documents, start=1):
            scores[document.id] = scores.get(document.id, 0.0) + weight / (k + rank)
            first_seen.setdefault(document.id, document)
    best = sum(w / (k + 1) for w in weights) or 1.0
    ordered = sorted(scores, key=lambda i: scores[i], reverse=True)[:top_k]
    return [replace(first_seen[i], score=scores[i] / best) for i in ordered]


@component
class RankFuser:
    """Fuses dense and sparse candidates by weighted reciprocal rank fusion."""

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
            weights: [dense, sparse] for this call (evaluation runs dense-only and BM25-only baselines this way).
        """
        dense_weight, sparse_weight = weights or [self.dense_weight, self.sparse_weight]
        fused = reciprocal_rank_fusion([dense, sparse], [dense_weight, sparse_weight], self.k, top_k)
        # Keep each passage's own dense cosine: answer composition judges evidence by it.
        cosine = {d.id: float(d.score or 0.0) for d in dense}
        fused = [replace(d, meta={**d.meta, "dense_score": cosine.get(d.id, 0.0)}) for d in fused]
        return {"documents": fused}
