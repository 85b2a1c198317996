"""Sentence and paragraph spans of a text: where a passage may be cut and what may stand in an answer.

Every span is a pair of offsets into the text it came from, so a citation's ``text[start:end]`` stays exact.
Used by ingest (chunking) and by the core (answer sentences, computed at ingest and scored at query time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")
# A sentence ends at . ! ? … followed by space and an upper-case letter, digit or quote; "52 §." stays whole.
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"”’)]?\s+(?=[\"“‘(]?[A-ZÅÄÖÜ0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:esim|ks|mm|nk|ns|yms|jne|n|s|t|bl|t\.ex|dvs|osv|ca|resp|e\.g|i\.e|mr|ms|dr|no|nr|art|mom|kap|st|p|v|tel)"
    r"|\b[A-ZÅÄÖ])\.$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Span:
    """A slice of the document text."""

    start: int
    end: int


def paragraphs(text: str, start: int, end: int) -> list[Span]:
    """Non-empty paragraphs of ``text[start:end]``, stripped, as absolute spans."""
    spans: list[Span] = []
    cursor = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        spans.extend(_stripped(text, cursor, match.start()))
        cursor = match.end()
    spans.extend(_stripped(text, cursor, end))
    return spans


def sentences(text: str, start: int, end: int) -> list[Span]:
    """Sentences of ``text[start:end]`` as absolute spans; abbreviations do not end a sentence."""
    spans: list[Span] = []
    cursor = start
    for match in _SENTENCE_END.finditer(text, start, end):
        if _ABBREVIATION.search(text[max(cursor, match.start() - 12) : match.start()]):
            continue
        spans.extend(_stripped(text, cursor, match.start()))
        cursor = match.end()
    spans.extend(_stripped(text, cursor, end))
    return spans


def _stripped(text: str, start: int, end: int) -> list[Span]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return [Span(start, end)] if end > start else []


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
