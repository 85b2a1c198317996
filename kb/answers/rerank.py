"""Reranking by audience and language: fused score times how much the asker prefers a passage.

| weight | value | why (measured on the gold set's answers through the API, session 2) |
|---|---|---|
| ``SAME_LANGUAGE`` | 1.25 | an answer in the asker's language needs no parallel passage |
| ``STAFF_OFFICIAL`` | 1.2 | staff ask for the statute; case law is not raised (it answers a single case) |
| ``STAFF_PUBLIC_GUIDE`` | 0.9 | a guide written for the public only is the staff's last choice |
| ``PUBLIC_GUIDE`` | 1.5 | the public reads the plain guide first (guides for both audiences too) |
| ``STAFF_GUIDE_FOR_PUBLIC`` | 1.2 | a guide written for staff only still beats a statute for the public |
| ``PUBLIC_CASE_LAW`` | 0.7 | a court decision rarely answers a person's question |
"""

from __future__ import annotations

from haystack import Document

OFFICIAL_KINDS = frozenset({"statute", "consolidated-statute", "case-law", "press-release"})

SAME_LANGUAGE = 1.25
STAFF_OFFICIAL = 1.2
STAFF_PUBLIC_GUIDE = 0.9
PUBLIC_GUIDE = 1.5
STAFF_GUIDE_FOR_PUBLIC = 1.2
PUBLIC_CASE_LAW = 0.7


def preference(document: Document, language: str, audience: str) -> float:
    """How much this audience prefers a passage: its language, and plain guides (public) or official texts (staff)."""
    meta = document.meta
    w = SAME_LANGUAGE if meta.get("language") == language else 1.0
    kind = meta.get("kind")
    if audience == "staff":
        if kind in OFFICIAL_KINDS:
            w *= STAFF_OFFICIAL if kind != "case-law" else 1.0
        elif meta.get("audience") == "public":
            w *= STAFF_PUBLIC_GUIDE
    elif kind == "guide":
        w *= PUBLIC_GUIDE if meta.get("audience") in ("public", "both") else STAFF_GUIDE_FOR_PUBLIC
    elif kind == "case-law":
        w *= PUBLIC_CASE_LAW
    return w


def rerank(documents: list[Document], language: str, audience: str) -> list[Document]:
    """Order passages by fused score times the audience's preference."""
    return sorted(documents, key=lambda d: (d.score or 0.0) * preference(d, language, audience), reverse=True)
