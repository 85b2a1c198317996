"""Answer-sized sentences inside a passage, and their vectors precomputed at ingest.

At query time the composer scores these sentences against the question's embedding, so a question is embedded
once and no passage text is re-embedded per request. Vectors are stored int8-quantised in the passage payload.
"""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document, component

from ingest.chunking import Span, sentences
from kb.config import Settings
from kb.embedding import PASSAGE_META_FIELDS, load_sentence_transformer, require_model

# "(Lähde: …)", "(Källa: …)", "(Source: …)": our guides' references; they back a sentence but are not one.
REFERENCE = re.compile(r"\s*\((?:Lähde|Lähteet|Källa|Källor|Source|Sources):[^()]*(?:\([^()]*\)[^()]*)*\)\s*$")
_BULLET = re.compile(r"^\s*(?:[-•*]|\d+[.)])\s+")
MIN_CHARS = 12


def answer_spans(text: str, headings: tuple[str, ...] = ()) -> list[Span]:
    """Sentences that can stand in an answer.

    Cut at line breaks too; bullets and source references are trimmed; headings and fragments under four words
    are left out. The sentence that leads into a bullet list and the list form one unit (up to 80 words), so a
    list item never stands in an answer without the sentence that explains it.
    """
    skip = {h.strip() for h in headings if h}
    lines: list[tuple[int, int, bool]] = []  # start, end, is a bullet
    offset = 0
    for line in text.split("\n"):
        start, end = offset, offset + len(line)
        offset = end + 1
        bullet = _BULLET.match(line)
        lines.append((start + (bullet.end() if bullet else 0), end, bool(bullet)))

    spans: list[Span] = []
    i = 0
    while i < len(lines):
        start, end, _ = lines[i]
        pieces = sentences(text, start, end)
        first = i + 1
        while first < len(lines) and lines[first][0] == lines[first][1]:  # blank lines between lead-in and list
            first += 1
        j = first
        while j < len(lines) and lines[j][2]:
            j += 1
        lead_in = text[pieces[-1].start : pieces[-1].end].strip() if pieces else ""
        if lead_in and lead_in not in skip and not lines[i][2] and j > first:
            for piece in pieces[:-1]:
                _keep(text, piece, skip, spans)
            unit = _trimmed(text, Span(pieces[-1].start, lines[j - 1][1]))
            if len(text[unit.start : unit.end].split()) <= 80:
                spans.append(unit)
            i = j
            continue
        for piece in pieces:
            _keep(text, piece, skip, spans)
        i += 1
    return spans


def _trimmed(text: str, span: Span) -> Span:
    """Return the span without a trailing source reference."""
    reference = REFERENCE.search(text[span.start : span.end])
    return Span(span.start, span.start + reference.start()) if reference else span


def _keep(text: str, span: Span, skip: set[str], spans: list[Span]) -> None:
    span = _trimmed(text, span)
    sentence = text[span.start : span.end].strip()
    if len(sentence) < MIN_CHARS or len(sentence.split()) < 4 or sentence.endswith(":") or sentence in skip:
        return
    spans.append(span)


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
def unpack_vectors(packed: str, dim: int = 384) -> np.ndarray:
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
        self.progress_bar = progress_bar
        self._model: Any = None

    def warm_up(self) -> None:
        """Load the model."""
        if self._model is None:
            self._model = load_sentence_transformer(Path(self.model_dir))

    def _head(self, document: Document) -> str:
        meta = document.meta
        parts = [str(meta[k]) for k in PASSAGE_META_FIELDS if meta.get(k)]
        return self.prefix + "".join(p + "\n" for p in parts)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Return copies of ``documents`` with ``embedding``, ``sentences`` and ``sentence_vectors`` set."""
        if not documents:
            return {"documents": []}
        self.warm_up()
        heads = [self._head(d) for d in documents]
        texts = [h + (d.content or "") for h, d in zip(heads, documents, strict=True)]
        tokens = self._model.encode(
            texts, output_value="token_embeddings", batch_size=self.batch_size, show_progress_bar=self.progress_bar
        )
        offsets = self._model.tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=512)[
            "offset_mapping"
        ]
        out: list[Document] = []
        for document, head, token_vectors, token_offsets in zip(documents, heads, tokens, offsets, strict=True):
            matrix = token_vectors.float().numpy()
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
            out.append(replace(document, embedding=passage.astype(np.float32).tolist(), meta=meta))
        return {"documents": out}
