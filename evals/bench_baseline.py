"""The baseline that `kb bench` compares Majakka with: a plain Haystack pipeline with default settings.

SentenceTransformersTextEmbedder → QdrantEmbeddingRetriever over the same model and the same store, served by the
same kind of FastAPI + uvicorn process: what one would build first from the Haystack documentation.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from haystack import Pipeline
from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersTextEmbedder
from haystack_integrations.components.retrievers.qdrant import QdrantEmbeddingRetriever
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from kb.config import Settings
from kb.models.encoders import model_dimension


def plain_indexing(settings: Settings, paths: list[Path], qdrant_path: Path) -> tuple[int, float]:
    """Index the same files as a plain Haystack pipeline would: (passages written, seconds).

    DocumentSplitter (its defaults: 200 words) → SentenceTransformersDocumentEmbedder → DocumentWriter into a
    fresh embedded Qdrant. Haystack has no converter for Finlex XML or our front matter, so the files are read by
    our loaders (inside the timing); everything after that is Haystack's, with default settings.
    """
    from haystack import Document
    from haystack.components.preprocessors import DocumentSplitter
    from haystack.components.writers import DocumentWriter
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersDocumentEmbedder,
    )

    from ingest.files import discover
    from ingest.loaders import load_file

    began = time.perf_counter()
    documents = []
    for file in discover(paths).files:
        loaded = load_file(file.path, file.root)
        documents.append(Document(content=loaded.text, meta={"title": loaded.title, "document_id": loaded.document_id}))
    store = QdrantDocumentStore(
        path=str(qdrant_path), index="plain", embedding_dim=model_dimension(settings), progress_bar=False
    )
    try:
        pipeline = Pipeline()
        pipeline.add_component("splitter", DocumentSplitter())
        pipeline.add_component(
            "embedder",
            SentenceTransformersDocumentEmbedder(
                model=str(settings.model_dir), prefix="passage: ", meta_fields_to_embed=["title"], progress_bar=False
            ),
        )
        pipeline.add_component("writer", DocumentWriter(document_store=store))
        pipeline.connect("splitter.documents", "embedder.documents")
        pipeline.connect("embedder.documents", "writer.documents")
        written = pipeline.run({"splitter": {"documents": documents}})["writer"]["documents_written"]
        return int(written), time.perf_counter() - began
    finally:
        store.close()


def build_baseline(settings: Settings, collection: str) -> Pipeline:
    """Embedder → retriever, defaults everywhere but the model path, the e5 prefix and the store location."""
    store = QdrantDocumentStore(
        path=str(settings.qdrant_path),
        index=collection,
        embedding_dim=model_dimension(settings),
        use_sparse_embeddings=True,
        progress_bar=False,
    )
    pipeline = Pipeline()
    pipeline.add_component(
        "embedder",
        SentenceTransformersTextEmbedder(model=str(settings.model_dir), prefix="query: ", progress_bar=False),
    )
    pipeline.add_component("retriever", QdrantEmbeddingRetriever(document_store=store))
    pipeline.connect("embedder.embedding", "retriever.query_embedding")
    pipeline.warm_up()
    return pipeline


def create_baseline_app(settings: Settings, collection: str) -> FastAPI:
    """GET /api/v1/search and /healthz over the baseline pipeline."""
    pipeline = build_baseline(settings, collection)
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/v1/search")
    def search(q: str, k: int = 5) -> dict[str, Any]:
        result = pipeline.run({"embedder": {"text": q}, "retriever": {"top_k": k}})
        return {
            "passages": [
                {"passage_id": d.id, "text": d.content, "score": d.score} for d in result["retriever"]["documents"]
            ]
        }

    return app


def main() -> None:
    """Serve the baseline: python -m evals.bench_baseline --data-dir D --collection C --port P."""
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()
    settings = Settings(data_dir=Path(args.data_dir), embedding={"model": args.model})  # type: ignore[arg-type]
    uvicorn.run(create_baseline_app(settings, args.collection), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
