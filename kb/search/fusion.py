"""Hybrid retrieval: the dense and sparse result lists fused into one.

Two fusions (``KB_RETRIEVAL__FUSION``):

- ``rrf`` (the default): weighted reciprocal rank fusion, ``Σ weight / (k + rank)`` (dense 1, BM25 2, k 60).
- ``convex``: each side's scores standardised over its own candidates (z-scores; a passage the
  other side did not find gets that side's lowest), then ``share · dense + (1 − share) · sparse``. The dense share
  follows the sparse side's confidence in this one question: ``share = base − shift · gap``, where ``gap`` is how
  far BM25's best passage stands above its second, ``(s1 − s2) / s1`` (0 when BM25 finds nothing, as across
  languages). Tuned across eight sets at once (our gold dev split, SweQUAD-MC, XQuAD en→en and sv→en, Tatoeba
  fi/sv→en, a Swedish construction FAQ in Swedish and English): the one rule that is never far below the better
  side on the third-party sets (FAQ 0.68 against RRF's 0.56), but it loses to RRF where BM25's glossary finds a
  statute asked about in another language and several versions of one section share the top score (README,
  Measuring), so it is not the default.

A convex-fused passage's score (and any passage's, once the cards' signal has reordered them) is
``(k + 1) / (k + rank)`` of its fused rank: the scale RRF gives a passage ranked alike on both sides, which answer
composition and the audience reranking were tuned on. Plain RRF keeps its own scores (the evaluation's before).

Two forms of the same fusion: ``RankFuser`` for Haystack documents (the Qdrant retrievers' output) and
``RankingFuser`` for ``Ranking`` objects, the compact row-number lists the in-memory snapshot retrievers emit.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from haystack import Document, component

from kb.config import RetrievalSettings


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


GAP_CANDIDATES = 10


@dataclass(frozen=True)
class Fusion:
    """How the two sides are fused (``KB_RETRIEVAL__*``; ``from_settings``)."""

    method: str
    dense_share: float
    gap_shift: float
    k: int
    dense_weight: float
    sparse_weight: float

    @classmethod
    def from_settings(cls, retrieval: RetrievalSettings | None = None) -> Fusion:
        """Build the fusion the settings describe (their defaults when none are given)."""
        r = retrieval or RetrievalSettings()
        return cls(r.fusion, r.dense_share, r.gap_shift, r.rrf_k, r.dense_weight, r.sparse_weight)

    def using(self, method: str | None) -> Fusion:
        """Return the same fusion with another method (None: as configured)."""
        return self if method is None or method == self.method else replace(self, method=method)

    def fuse(
        self,
        dense: tuple[Sequence[Hashable], Sequence[float]],
        sparse: tuple[Sequence[Hashable], Sequence[float]],
        top_k: int,
        weights: Sequence[float] | None = None,
        boost: Mapping[Any, float] | None = None,
    ) -> list[tuple[Hashable, float]]:
        """Fuse (keys, scores) of each side, best first; ``weights`` (dense, sparse) fix the share for one call.

        A side whose weight is 0 contributes nothing (the evaluation's single-side baselines). ``boost`` raises
        some candidates (the passages that the answer cards nearest the question cite; see ``boosted``).
        """
        dense_weight, sparse_weight = weights if weights is not None else (self.dense_weight, self.sparse_weight)
        if self.method == "rrf":
            every = len(dense[0]) + len(sparse[0])
            fused = fuse_ranks([dense[0], sparse[0]], [dense_weight, sparse_weight], self.k, every)
            if not boost:
                return fused[:top_k]
            ordered = [key for key, _score in fused]
        else:
            if weights is not None:
                share = dense_weight / (dense_weight + sparse_weight) if dense_weight + sparse_weight > 0 else 0.5
            else:
                share = min(1.0, max(0.05, self.dense_share - self.gap_shift * sparse_gap(sparse[1])))
            ordered = convex_order(dense, sparse, share)
        if boost:
            ordered = boosted(ordered, boost)
        return [(key, (self.k + 1) / (self.k + rank)) for rank, key in enumerate(ordered[:top_k], start=1)]


def boosted(ordered: Sequence[Hashable], boost: Mapping[Any, float]) -> list[Hashable]:
    """Reorder fused candidates, each raised by its ``boost``.

    A candidate's place gives it ``1 − i / n`` (the first 1, the last near 0); its boost is added to that. Only
    candidates either side found are reordered: a boost brings in nothing the retrieval did not find.
    """
    n = max(1, len(ordered))
    score = {key: 1.0 - i / n + boost.get(key, 0.0) for i, key in enumerate(ordered)}
    return sorted(ordered, key=lambda key: score[key], reverse=True)


def sparse_gap(scores: Sequence[float]) -> float:
    """How far the sparse side's best score stands above its second, relative to the best.

    0 when BM25 found fewer than ``GAP_CANDIDATES`` passages: so short a list says that few passages share the
    question's words (in a small index, or through a glossary word of another language), not that one stands out.
    """
    if len(scores) < GAP_CANDIDATES or scores[0] <= 0:
        return 0.0
    return float((scores[0] - scores[1]) / scores[0])


def convex_order(
    dense: tuple[Sequence[Hashable], Sequence[float]], sparse: tuple[Sequence[Hashable], Sequence[float]], share: float
) -> list[Hashable]:
    """Order the candidates of both sides by ``share`` · dense z-score + (1 − ``share``) · sparse z-score."""
    sides = []
    for (keys, scores), weight in ((dense, share), (sparse, 1.0 - share)):
        if weight <= 0 or not len(keys):
            continue
        values = np.asarray(scores, dtype=np.float64)
        z = (values - values.mean()) / (values.std() or 1.0)
        sides.append((dict(zip(keys, z.tolist(), strict=True)), float(z.min()), weight))
    candidates = list(dict.fromkeys(key for side, _low, _w in sides for key in side))
    fused = {key: sum(w * side.get(key, low) for side, low, w in sides) for key in candidates}
    return sorted(candidates, key=lambda key: fused[key], reverse=True)


@component
class RankFuser:
    """Fuses dense and sparse candidate documents (see ``Fusion``)."""

    def __init__(self, fusion: Fusion | None = None) -> None:
        self.fusion = fusion or Fusion.from_settings()

    @component.output_types(documents=list[Document])
    def run(
        self,
        dense: list[Document],
        sparse: list[Document],
        top_k: int = 5,
        weights: list[float] | None = None,
        method: str | None = None,
        boost: dict[str, float] | None = None,
    ) -> dict[str, list[Document]]:
        """Return the fused top ``top_k`` (each with its own dense cosine in ``meta["dense_score"]``).

        Args:
            dense: the dense retriever's passages, best first.
            sparse: the BM25 retriever's passages, best first.
            top_k: how many fused passages to return.
            weights: [dense, sparse] for this call (evaluation runs dense-only and BM25-only baselines this way).
            method: ``convex`` or ``rrf`` for this call instead of the configured one.
            boost: passage id -> how much to raise that candidate (see ``boosted``).
        """
        first_seen: dict[str, Document] = {}
        for document in [*dense, *sparse]:
            first_seen.setdefault(document.id, document)
        fused = self.fusion.using(method).fuse(
            ([d.id for d in dense], [float(d.score or 0.0) for d in dense]),
            ([d.id for d in sparse], [float(d.score or 0.0) for d in sparse]),
            top_k,
            weights,
            boost,
        )
        # Keep each passage's own dense cosine: answer composition judges evidence by it.
        cosine = {d.id: float(d.score or 0.0) for d in dense}
        return {
            "documents": [
                replace(first_seen[str(key)], score=score, meta={**first_seen[str(key)].meta,
                                                                  "dense_score": cosine.get(str(key), 0.0)})
                for key, score in fused
            ]
        }


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

    def __init__(self, fusion: Fusion | None = None) -> None:
        self.fusion = fusion or Fusion.from_settings()

    @component.output_types(ranking=Ranking)
    def run(
        self,
        dense: Ranking | None,
        sparse: Ranking | None,
        top_k: int = 5,
        weights: list[float] | None = None,
        method: str | None = None,
        boost: dict[str, float] | None = None,
    ) -> dict[str, Ranking | None]:
        """Fuse the two rankings into the top ``top_k`` rows of their snapshot (None when there is no index)."""
        if dense is None or sparse is None:
            return {"ranking": None}
        if dense.source is not sparse.source:
            raise ValueError("the dense and sparse rankings come from different generations of the index")
        rows = dense.source.rows if boost else {}
        by_row = {rows[key]: value for key, value in (boost or {}).items() if key in rows}
        fused = self.fusion.using(method).fuse(
            (dense.rows.tolist(), dense.scores.tolist()),
            (sparse.rows.tolist(), sparse.scores.tolist()),
            top_k,
            weights,
            by_row,
        )
        cosine = dict(zip(dense.rows.tolist(), dense.scores.tolist(), strict=True))
        chosen = np.array([row for row, _score in fused], dtype=np.int64)
        return {
            "ranking": Ranking(
                dense.source,
                chosen,
                np.array([score for _row, score in fused], dtype=np.float64),
                np.array([cosine.get(row, 0.0) for row in chosen.tolist()], dtype=np.float64),
            )
        }
