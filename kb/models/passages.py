"""Answer-sized sentences inside a passage, and their vectors precomputed at ingest.

At query time the composer scores these sentences against the question's embedding, so a question is embedded
once and no passage text is re-embedded per request. Vectors are stored int8-quantised in the passage payload.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component
from tqdm import tqdm

from kb.config import Settings
from kb.models.encoders import PASSAGE_META_FIELDS, load_sentence_transformer, passage_precision, require_model
from kb.text.spans import Span, answer_spans


def pack_vectors(vectors: np.ndarray) -> str:
    """Normalised float vectors → base64 int8."""
    return base64.b64encode(np.clip(np.rint(vectors * 127), -127, 127).astype(np.int8).tobytes()).decode("ascii")


def pack_spans(spans: list[Span]) -> str:
    """Sentence offsets → base64 int32 pairs (a flat string copies cheaply through pipelines)."""
    flat = np.array([[s.start, s.end] for s in spans], dtype=np.int32).reshape(-1)
    return base64.b64encode(flat.tobytes()).decode("ascii")


def unpack_spans(packed: str) -> list[tuple[int, int]]:
    """base64 int32 pairs → [(start, end), ...]."""
    flat = np.frombuffer(base64.b64decode(packed), dtype=np.int32).reshape(-1, 2)
    return [(int(a), int(b)) for a, b in flat]


@lru_cache(maxsize=1024)
def unpack_vectors(packed: str, dim: int) -> np.ndarray:
    """base64 int8 → float32 vectors (n × dim), re-normalised; read-only.

    Cached: the same passages come back question after question, and a served passage's string is one object,
    whose hash Python keeps, so a hit costs no decoding (1,024 passages of sentence vectors ≈ 12 MB).
    """
    raw = np.frombuffer(base64.b64decode(packed), dtype=np.int8).astype(np.float32).reshape(-1, dim)
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    vectors: np.ndarray = raw / np.maximum(norms, 1e-6)
    vectors.setflags(write=False)
    return vectors


@component
class PassageEmbedder:
    r"""Embeds passages and, from the same forward pass, their answer sentences.

    The passage vector is e5's mean over all tokens of ``passage: title\nsection\ntext`` (what
    sentence-transformers computes); each sentence's vector is the mean over the tokens inside it, so sentence
    scoring costs no second pass over the corpus.
    """

    def __init__(self, settings: Settings, batch_size: int | None = None, progress_bar: bool = False) -> None:
        self.model_dir = str(require_model(settings))
        self.prefix = settings.embedding.passage_prefix
        self.batch_size = batch_size or settings.embedding.batch_size
        self.precision = passage_precision(settings)
        self.progress_bar = progress_bar
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the model (in bfloat16 when that is the precision)."""
        if self._model is None:
            model = load_sentence_transformer(Path(self.model_dir))
            if self.precision == "bfloat16":
                import torch

                model = model.to(torch.bfloat16)
            self._model = model

    def _head(self, document: Document) -> str:
        meta = document.meta
        parts = [str(meta[k]) for k in PASSAGE_META_FIELDS if meta.get(k)]
        return self.prefix + "".join(p + "\n" for p in parts)

    def _token_states(self, texts: list[str]) -> list[tuple[np.ndarray, list[tuple[int, int]]]]:
        """Each text's last hidden states (tokens × dim) and its tokens' character offsets, in order.

        One tokenisation gives both the model's input and the offsets; texts run in batches of similar length,
        longest first, so a batch pads little.
        """
        import torch

        encoded = self._model.tokenizer(texts, truncation=True, max_length=512, return_offsets_mapping=True)
        ids, offsets = encoded["input_ids"], encoded["offset_mapping"]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]), reverse=True)
        states: list[np.ndarray] = [np.empty(0)] * len(texts)
        bert = self._model[0].auto_model
        pad = self._model.tokenizer.pad_token_id
        starts = range(0, len(order), self.batch_size)
        with torch.inference_mode():
            for first in tqdm(starts, desc="embedding", unit="batch", disable=not self.progress_bar):
                rows = order[first : first + self.batch_size]
                width = len(ids[rows[0]])
                batch = torch.full((len(rows), width), pad, dtype=torch.long)
                mask = torch.zeros((len(rows), width), dtype=torch.long)
                for row, i in enumerate(rows):
                    batch[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                hidden = bert(input_ids=batch, attention_mask=mask).last_hidden_state.float().numpy()
                for row, i in enumerate(rows):
                    states[i] = hidden[row, : len(ids[i])]
        return [(states[i], list(offsets[i])) for i in range(len(texts))]

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Return ``documents`` with ``embedding``, ``sentences`` and ``sentence_vectors`` set where missing.

        A passage that has its vector already (one reused from the served index) passes unchanged.
        """
        todo = [d for d in documents if d.embedding is None]
        if not todo:
            return {"documents": documents}
        self.warm_up()
        heads = [self._head(d) for d in todo]
        texts = [h + (d.content or "") for h, d in zip(heads, todo, strict=True)]
        embedded: dict[str, Document] = {}
        for document, head, (matrix, token_offsets) in zip(todo, heads, self._token_states(texts), strict=True):
            passage = matrix.mean(axis=0)
            passage /= max(float(np.linalg.norm(passage)), 1e-12)
            ends = np.array([end for _start, end in token_offsets])
            starts = np.array([start for start, _end in token_offsets])
            real = ends > starts  # specials have empty offsets
            headings = (str(document.meta.get("section") or ""), str(document.meta.get("title") or ""))
            spans = answer_spans(document.content or "", headings)
            vectors = np.zeros((len(spans), matrix.shape[1]), dtype=np.float32)
            kept = []
            for i, span in enumerate(spans):
                inside = real & (starts >= len(head) + span.start) & (ends <= len(head) + span.end)
                if inside.any():
                    vectors[i] = matrix[inside].mean(axis=0)
                    kept.append(i)
            vectors = vectors[kept]
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            meta = {
                **document.meta,
                "sentences": pack_spans([spans[i] for i in kept]),
                "sentence_vectors": pack_vectors(vectors),
            }
            embedded[document.id] = replace(document, embedding=passage.astype(np.float32).tolist(), meta=meta)
        return {"documents": [embedded.get(d.id, d) for d in documents]}
