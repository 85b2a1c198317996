"""The sparse side: BM25 term weights from our own language analysis, stored as Qdrant sparse vectors.

A passage's vector holds, for each term, the BM25 term-frequency part ``tf·(k1+1) / (tf + k1·(1−b+b·dl/avgdl))``;
Qdrant's IDF modifier multiplies in the inverse document frequency at query time, so the dot product with a
question's vector (1 for each of its terms) is the BM25 score.
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import replace

from haystack import Document, component
from haystack.dataclasses import SparseEmbedding

from kb.language import Analysers

K1 = 1.2
B = 0.75


def term_index(term: str) -> int:
    """A stable 31-bit index for a term (CRC-32; collisions are rare at our vocabulary size)."""
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def passage_terms(analysers: Analysers, document: Document) -> list[str]:
    """Index terms of a passage: its section heading and text, analysed in its own language."""
    meta = document.meta
    text = f"{meta.get('section') or ''}\n{document.content or ''}"
    return analysers.analyse(text, meta.get("language"))


def bm25_vector(terms: list[str], average_length: float) -> SparseEmbedding:
    """The BM25 term-frequency weights of one passage."""
    counts = Counter(term_index(t) for t in terms)
    length = max(1, len(terms))
    norm = K1 * (1 - B + B * length / max(average_length, 1.0))
    indices = sorted(counts)
    return SparseEmbedding(indices=indices, values=[counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices])


def query_vector(terms: list[str]) -> SparseEmbedding:
    """A question's sparse vector: each distinct term once."""
    indices = sorted({term_index(t) for t in terms})
    return SparseEmbedding(indices=indices, values=[1.0] * len(indices))


@component
class BM25SparseEncoder:
    """Adds BM25 sparse embeddings to passages; the average length is taken over the passages given."""

    def __init__(self) -> None:
        self._analysers: Analysers | None = None

    def warm_up(self) -> None:
        """Load the language analysers."""
        if self._analysers is None:
            self._analysers = Analysers()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        """Return copies of ``documents`` with ``sparse_embedding`` set."""
        self.warm_up()
        assert self._analysers is not None
        terms = [passage_terms(self._analysers, d) for d in documents]
        average = sum(len(t) for t in terms) / max(1, len(terms))
        return {
            "documents": [
                replace(d, sparse_embedding=bm25_vector(t, average)) for d, t in zip(documents, terms, strict=True)
            ]
        }


@component
class BM25QueryEncoder:
    """Turns a question into its sparse vector, analysed in the question's language."""

    def __init__(self, analysers: Analysers | None = None) -> None:
        self._analysers = analysers

    def warm_up(self) -> None:
        """Load the language analysers."""
        if self._analysers is None:
            self._analysers = Analysers()

    @component.output_types(sparse_embedding=SparseEmbedding)
    def run(self, text: str, language: str | None = None) -> dict[str, SparseEmbedding]:
        """Return the question's sparse embedding."""
        self.warm_up()
        assert self._analysers is not None
        return {"sparse_embedding": query_vector(self._analysers.analyse(text, language))}
