"""Structure-following chunking: sections, then paragraphs, then sentences, sized in words and model tokens.

A passage never crosses a section (a statute § or a guide heading), so every citation names one section.
Inside a section, paragraphs are packed until the word or token budget is reached; a paragraph that is too
long alone is cut at sentence boundaries, and the next passage repeats the last sentence for context.
Every passage is an exact slice ``text[start:end]`` of the document, so offsets stay true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from ingest.document import LoadedDocument, Section
from kb.text.spans import Span, paragraphs, sentences


@dataclass(frozen=True)
class Chunk:
    """One passage: its offsets, the section it belongs to and its text."""

    start: int
    end: int
    text: str
    section: Section | None


class StructuredChunker:
    """Splits a ``LoadedDocument`` into passages of about ``min_words``..``max_words`` words."""

    def __init__(
        self,
        count_tokens: Callable[[str], int],
        *,
        min_words: int = 60,
        max_words: int = 250,
        max_tokens: int = 400,
        overlap_sentences: int = 1,
    ) -> None:
        self._count_tokens = count_tokens
        self.min_words = min_words
        self.max_words = max_words
        self.max_tokens = max_tokens
        self.overlap = overlap_sentences

    def split(self, document: LoadedDocument) -> list[Chunk]:
        """All passages of ``document``, in order."""
        chunks: list[Chunk] = []
        for section, start, end in self._regions(document):
            units = list(self._units(document.text, start, end))
            for span in self._pack(document.text, units):
                chunks.append(Chunk(span.start, span.end, document.text[span.start : span.end], section))
        return chunks

    @staticmethod
    def _regions(document: LoadedDocument) -> Iterator[tuple[Section | None, int, int]]:
        cursor = 0
        for section in sorted(document.sections, key=lambda s: s.start):
            if section.start > cursor and document.text[cursor : section.start].strip():
                yield None, cursor, section.start
            yield section, section.start, section.end
            cursor = max(cursor, section.end)
        if document.text[cursor:].strip():
            yield None, cursor, len(document.text)

    def _fits(self, text: str) -> bool:
        return len(text.split()) <= self.max_words and self._count_tokens(text) <= self.max_tokens

    def _units(self, text: str, start: int, end: int) -> Iterator[tuple[Span, bool]]:
        """Paragraphs that fit, else their sentences (flagged True), else word windows of a giant sentence."""
        for paragraph in paragraphs(text, start, end):
            if self._fits(text[paragraph.start : paragraph.end]):
                yield paragraph, False
                continue
            for sentence in sentences(text, paragraph.start, paragraph.end):
                if self._fits(text[sentence.start : sentence.end]):
                    yield sentence, True
                else:
                    yield from ((window, True) for window in self._word_windows(text, sentence))

    def _word_windows(self, text: str, span: Span) -> Iterator[Span]:
        words = [m.span() for m in re.finditer(r"\S+", text[span.start : span.end])]
        step = max(1, min(self.max_words, self.max_tokens // 3))
        for i in range(0, len(words), step):
            group = words[i : i + step]
            yield Span(span.start + group[0][0], span.start + group[-1][1])

    def _pack(self, text: str, units: list[tuple[Span, bool]]) -> list[Span]:
        packed: list[list[tuple[Span, bool]]] = []
        current: list[tuple[Span, bool]] = []
        for unit in units:
            candidate = [*current, unit]
            if current and not self._fits(text[candidate[0][0].start : unit[0].end]):
                packed.append(current)
                # Repeat the last sentence(s) when a paragraph was cut mid-way, for context.
                carry = [u for u in current[-self.overlap :] if u[1] and unit[1]] if self.overlap else []
                current = [*carry, unit]
                if carry and not self._fits(text[current[0][0].start : unit[0].end]):
                    current = [unit]
            else:
                current = candidate
        if current:
            packed.append(current)
        # A short tail joins its predecessor when the two still fit.
        if len(packed) > 1:
            tail = packed[-1]
            tail_words = len(text[tail[0][0].start : tail[-1][0].end].split())
            merged = text[packed[-2][0][0].start : tail[-1][0].end]
            if tail_words < self.min_words and self._fits(merged):
                packed[-2] = packed[-2] + [u for u in tail if u[0].start >= packed[-2][-1][0].end]
                packed.pop()
        return [Span(group[0][0].start, group[-1][0].end) for group in packed]
