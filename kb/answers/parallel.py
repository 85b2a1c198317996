"""Parallel passages: the same guide section in the answer's language, attached to a citation in another language."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from haystack import Document

from kb.types import Citation, ParallelPassage


def with_parallel(citation: Citation, language: str, twin: Callable[[str, str], Document | None]) -> Citation:
    """Return the citation with its twin in ``language`` attached, when it cites another language and one exists.

    ``twin(passage_id, language)`` finds the same section of the same guide in ``language`` (the one rule for it
    lives in the search side: ``HybridSearch.twin`` and ``Snapshot.twin``).
    """
    if citation.language == language:
        return citation
    found = twin(citation.passage_id, language)
    if found is None:
        return citation
    return replace(citation, parallel=ParallelPassage(passage_id=found.id, language=language, text=found.content or ""))
