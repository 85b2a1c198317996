"""Citations of curated sentences: the stored passage that holds a given quote, as an exact span.

A curated sentence (an answer card's, a help answer's) names its source as ``document_id#section_key`` and the
words of that source that support it. At answer time the quote is found in the served passages of that document,
so ``[n]`` opens the exact span (``text[start:end] == quote``) like any extract. Lookups are cached per generation
of the index; a quote no served passage holds gives None (and the test of the cards fails on it).
"""

from __future__ import annotations

from collections.abc import Callable

from haystack import Document

from kb.types import Citation, Passage


class QuoteLocator:
    """Finds quotes in the served passages of a document."""

    def __init__(self, passages_of: Callable[[str], list[Document]], generation: Callable[[], str | None]) -> None:
        self._passages_of = passages_of
        self._generation = generation
        self._cache: dict[tuple[str, str], tuple[Document, int] | None] = {}
        self._cached_generation: str | None = None

    def find(self, source: str, quote: str) -> tuple[Document, int] | None:
        """Return the passage that holds ``quote`` and the quote's offset in it, or None."""
        generation = self._generation()
        if generation != self._cached_generation:
            self._cache.clear()
            self._cached_generation = generation
        key = (source, quote)
        if key not in self._cache:
            self._cache[key] = self._search(source, quote)
        return self._cache[key]

    def _search(self, source: str, quote: str) -> tuple[Document, int] | None:
        document_id, _, section_key = source.partition("#")
        passages = sorted(self._passages_of(document_id), key=lambda d: d.meta.get("passage_index", 0))
        for passage in passages:
            if section_key and passage.meta.get("section_key") != section_key:
                continue
            offset = (passage.content or "").find(quote)
            if offset >= 0:
                return passage, offset
        return None

    def cite(self, n: int, source: str, quote: str) -> Citation | None:
        """Return citation ``n`` of ``quote`` in ``source``, or None when no served passage holds it."""
        found = self.find(source, quote)
        if found is None:
            return None
        document, start = found
        p = Passage.from_document(document)
        return Citation(
            n=n, passage_id=p.passage_id, document_id=p.document_id, title=p.title, section=p.section,
            language=p.language, url=p.url, source=p.source, quote=quote, start=start, end=start + len(quote),
            text=p.text,
        )


def cited_text(
    sentences: list[tuple[str, str, str]], locator: QuoteLocator, first: int = 1
) -> tuple[str, list[Citation]]:
    """Join curated sentences (text, source, quote), each followed by its ``[n]``; citations numbered from ``first``.

    A sentence whose quote no served passage holds is left out: nothing is asserted without its source.
    """
    parts: list[str] = []
    citations: list[Citation] = []
    for text, source, quote in sentences:
        citation = locator.cite(first + len(citations), source, quote)
        if citation is None:
            continue
        citations.append(citation)
        parts.append(f"{text.rstrip()} [{citation.n}]")
    return " ".join(parts), citations
