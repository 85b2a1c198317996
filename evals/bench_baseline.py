"""The baseline that `kb bench` compares Majakka with: a plain Haystack pipeline with default settings.

SentenceTransformersTextEmbedder → QdrantEmbeddingRetriever over the same model and the same store, served by the
same kind of FastAPI + uvicorn process: what one would build first from the Haystack documentation.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from haystack import Pipeline
from haystack_integrations.components.embedders.sentence_transformers import SentenceTransformersTextEmbedder
from haystack_integrations.components.retrievers.qdrant import QdrantEmbeddingRetriever
from haystack_integrations.document_stores.qdrant import QdrantDocumentStore

from kb.config import Settings
from kb.models.encoders import model_dimension


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
