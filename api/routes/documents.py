"""GET /documents/{document_id}: any ingested document as an accessible page, one anchor per section and passage.

A citation of a document with no public address (our guides, a document someone added) points here, at
``#passage-{passage_id}``, with ``?quote=`` its quoted span (``start-end`` in the passage): the page scrolls to the
passage and marks the quote with ``<mark>``, so a reader sees the quoted sentence in its context. A statute keeps its
Finlex address as the citation's ``url``, and its page here links to Finlex as well.

The page is server-written HTML in the document's language: no script, no third-party request, a strict CSP.
"""

from __future__ import annotations

import re
from html import escape
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import HTMLResponse

from api.deps import get_kb, rate_limit
from kb.knowledge_base import KnowledgeBase
from kb.types import Passage

router = APIRouter(include_in_schema=False)

DOCUMENT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; "
    "form-action 'none'"
)
LABELS = {
    "fi": {"source": "Alkuperäinen lähde", "sections": "Sisältö", "quoted": "Lainattu kohta on korostettu.",
           "skip": "Siirry lainattuun kohtaan"},
    "sv": {"source": "Ursprunglig källa", "sections": "Innehåll", "quoted": "Det citerade stället är markerat.",
           "skip": "Gå till det citerade stället"},
    "en": {"source": "Original source", "sections": "Contents", "quoted": "The quoted passage is highlighted.",
           "skip": "Go to the quoted passage"},
}
_SPAN = re.compile(r"^(\d{1,6})-(\d{1,6})$")


def document_url(document_id: str, passage_id: str, start: int, end: int) -> str:
    """Return the address of a cited span on its document's page (relative to the API)."""
    return f"/documents/{quote(document_id, safe='')}?passage={passage_id}&quote={start}-{end}#passage-{passage_id}"


@router.get("/documents/{document_id:path}", response_class=HTMLResponse, dependencies=[Depends(rate_limit)])
def document_page(
    document_id: str,
    kb: Annotated[KnowledgeBase, Depends(get_kb)],
    passage: Annotated[str | None, Query(max_length=64)] = None,
    quote_span: Annotated[str | None, Query(alias="quote", max_length=20)] = None,
) -> HTMLResponse:
    """Serve one ingested document; ``?passage=id&quote=start-end`` marks that span of that passage."""
    passages = kb.document(document_id)
    if not passages:
        raise HTTPException(404, f"No document {document_id!r} is in the served index.")
    span = _SPAN.match(quote_span or "")
    marked = (passage, int(span.group(1)), int(span.group(2))) if span and passage else None
    return HTMLResponse(render(passages, marked), headers={"Content-Security-Policy": DOCUMENT_CSP})


def render(passages: list[Passage], marked: tuple[str, int, int] | None) -> str:
    """Write the page: title, the sections' contents, then every passage with its anchor (the quote marked)."""
    first = passages[0]
    language = first.language if first.language in LABELS else "en"
    labels = LABELS[language]
    sections: dict[str, str] = {}  # anchor -> title, in document order
    for p in passages:
        if p.section:
            sections.setdefault(_anchor(p), p.section)
    body = []
    current = None
    shown_to = -1  # where the text shown so far ends in the document (passages overlap by a sentence)
    for p in passages:
        key = _anchor(p)
        if p.section and key != current:
            body.append(f'<h2 id="section-{escape(key)}">{escape(p.section)}</h2>')
            current = key
        span = marked[1:] if marked is not None and marked[0] == p.passage_id else None
        text = p.text
        cut = 0
        # A passage starts with its section's heading, which the page has just shown as a heading.
        if p.section and text.startswith(p.section):
            cut = len(text) - len(text[len(p.section):].lstrip("\n"))
        # It may also start with the sentence that ended the passage before it: show that sentence once.
        if p.start is not None and p.end is not None and p.start < shown_to <= p.end:
            cut = max(cut, len(text) - len(text[shown_to - p.start:].lstrip()))
        if span is not None and span[0] < cut:
            cut = 0  # the quote lies in the repeated part: this passage is shown whole, so the mark is in it
        text = text[cut:]
        span = (span[0] - cut, span[1] - cut) if span is not None else None
        if p.end is not None:
            shown_to = max(shown_to, p.end)
        body.append(f'<p id="passage-{escape(p.passage_id)}" class="passage">{_marked(text, span)}</p>')
    contents = "".join(f'<li><a href="#section-{escape(k)}">{escape(t)}</a></li>' for k, t in sections.items())
    source = (f'<p><a href="{escape(first.url)}" rel="noopener noreferrer">{labels["source"]}</a></p>'
              if first.url and first.url.startswith(("https://", "http://")) else "")
    note = (f'<p class="note">{labels["quoted"]} <a href="#passage-{escape(marked[0])}">{labels["skip"]}</a></p>'
            if marked else "")
    return (
        f'<!DOCTYPE html>\n<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(first.title)}</title><link rel="stylesheet" href="/document.css"></head>'
        f'<body><main><h1>{escape(first.title)}</h1>{source}{note}'
        f'<nav aria-label="{labels["sections"]}"><h2>{labels["sections"]}</h2><ul>{contents}</ul></nav>'
        f'{"".join(body)}</main></body></html>'
    )


def _anchor(p: Passage) -> str:
    return p.section_key or re.sub(r"\W+", "-", (p.section or "").lower()).strip("-") or "lead"


def _marked(text: str, span: tuple[int, int] | None) -> str:
    """Escape a passage's text, wrapping ``text[start:end]`` (the quote) in ``<mark>``."""
    if span is None or not 0 <= span[0] < span[1] <= len(text):
        return escape(text)
    start, end = span
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"
