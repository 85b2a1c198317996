"""Every Haystack pipeline of Majakka, built here and nowhere else."""

from __future__ import annotations

from haystack import Pipeline
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.components.retrievers.qdrant import (
    QdrantEmbeddingRetriever,
    QdrantSparseEmbeddingRetriever,
)
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from kb.config import Settings
from kb.models.passages import PassageEmbedder
from kb.search.fusion import Fusion, RankFuser, RankingFuser
from kb.search.snapshot import SnapshotEmbeddingRetriever, SnapshotHolder, SnapshotSparseRetriever
from kb.search.sparse import BM25QueryEncoder, BM25SparseEncoder
from kb.text.language import Analysers


def build_indexing_pipeline(settings: Settings, store: QdrantDocumentStore, *, progress_bar: bool) -> Pipeline:
    """Build the indexing pipeline: weight every passage for BM25, embed the new ones, write them all.

    New passages are embedded whole and by sentence; reused ones (from the served index) keep their vectors. The
    embedder comes after the BM25 weighting because Haystack copies every component's input: before the embedder
    new passages carry no vectors and copy cheaply.

    (passages) → sparse → embedder → writer
    """
    pipeline = Pipeline()
    pipeline.add_component("sparse", BM25SparseEncoder())
    pipeline.add_component("embedder", PassageEmbedder(settings, progress_bar=progress_bar))
    pipeline.add_component("writer", DocumentWriter(document_store=store, policy=DuplicatePolicy.OVERWRITE))
    pipeline.connect("sparse.documents", "embedder.documents")
    pipeline.connect("embedder.documents", "writer.documents")
    return pipeline


def build_retrieval_pipeline(
    settings: Settings, store: QdrantDocumentStore, analysers: Analysers, snapshot: SnapshotHolder | None = None
) -> Pipeline:
    """Hybrid retrieval from a question already embedded (the caller reuses that embedding elsewhere).

    (query_embedding) → dense ─┐
    (text, language) → bm25 → sparse ─┴→ fuser

    The two retrievers search Qdrant and the fuser outputs ``documents``; or, when a snapshot is given, they search
    the in-memory snapshot of the served collection and hand on ``Ranking`` objects (row numbers, cheap to pass),
    and the fuser outputs ``ranking``.
    """
    retrieval = settings.retrieval
    candidates = retrieval.candidates
    fusion = Fusion.from_settings(retrieval)
    pipeline = Pipeline()
    pipeline.add_component("bm25", BM25QueryEncoder(analysers))
    if snapshot is not None:
        pipeline.add_component("dense", SnapshotEmbeddingRetriever(snapshot, top_k=candidates))
        pipeline.add_component("sparse", SnapshotSparseRetriever(snapshot, top_k=candidates))
        pipeline.add_component(
            "fuser",
            RankingFuser(fusion),
        )
        output = "ranking"
    else:
        pipeline.add_component("dense", QdrantEmbeddingRetriever(document_store=store, top_k=candidates))
        pipeline.add_component("sparse", QdrantSparseEmbeddingRetriever(document_store=store, top_k=candidates))
        pipeline.add_component(
            "fuser",
            RankFuser(fusion),
        )
        output = "documents"
    pipeline.connect("bm25.sparse_embedding", "sparse.query_sparse_embedding")
    pipeline.connect(f"dense.{output}", "fuser.dense")
    pipeline.connect(f"sparse.{output}", "fuser.sparse")
    return pipeline
