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

from kb.text.glossary import Glossary
from kb.text.language import Analysers

K1 = 1.2
B = 0.75


def term_index(term: str, language: str | None) -> int:
    """Return a stable 31-bit index for a term of one language (CRC-32; collisions are rare at our vocabulary size).

    The language is part of the key: terms are analysed per language, so an English stem never matches a
    Swedish word that happens to be spelt alike.
    """
    return zlib.crc32(f"{language or 'xx'}:{term}".encode()) & 0x7FFFFFFF


def passage_terms(analysers: Analysers, document: Document) -> list[str]:
    """Index terms of a passage: its section heading and text, analysed in its own language."""
    meta = document.meta
    text = f"{meta.get('section') or ''}\n{document.content or ''}"
    return analysers.analyse(text, meta.get("language"))


def bm25_vector(terms: list[str], language: str | None, average_length: float) -> SparseEmbedding:
    """Weight one passage's terms by BM25 term frequency."""
    counts = Counter(term_index(t, language) for t in terms)
    length = max(1, len(terms))
    norm = K1 * (1 - B + B * length / max(average_length, 1.0))
    indices = sorted(counts)
    return SparseEmbedding(indices=indices, values=[counts[i] * (K1 + 1) / (counts[i] + norm) for i in indices])


def query_vector(terms_by_language: dict[str, set[str]]) -> SparseEmbedding:
    """Make a question's sparse vector: each distinct term of each language once."""
    indices = sorted({term_index(t, lang) for lang, terms in terms_by_language.items() for t in terms})
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
                replace(d, sparse_embedding=bm25_vector(t, d.meta.get("language"), average))
                for d, t in zip(documents, terms, strict=True)
            ]
        }


@component
class BM25QueryEncoder:
    """Turns a question into its sparse vector: its own terms, plus glossary equivalents in the other languages."""

    def __init__(self, analysers: Analysers | None = None, cross_lingual: bool = True) -> None:
        self._analysers = analysers
        self.cross_lingual = cross_lingual
        self._glossary: Glossary | None = None

    def warm_up(self) -> None:
        """Load the language analysers and the glossary."""
        if self._analysers is None:
            self._analysers = Analysers()
        if self._glossary is None and self.cross_lingual:
            self._glossary = Glossary(self._analysers)

    @component.output_types(sparse_embedding=SparseEmbedding)
    def run(self, text: str, language: str | None = None) -> dict[str, SparseEmbedding]:
        """Return the question's sparse embedding."""
        self.warm_up()
        assert self._analysers is not None
        lang = language or "en"
        terms = {lang: set(self._analysers.analyse(text, lang))}
        if self._glossary is not None:
            for other, extra in self._glossary.expansions(terms[lang], lang).items():
                terms.setdefault(other, set()).update(extra)
        return {"sparse_embedding": query_vector(terms)}
