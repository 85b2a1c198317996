"""The rule for a passage's twin: the same section of the same guide in another language, in one place.

A guide's fi, sv and en versions share a ``group`` and the same section anchors (``section_key``). The twin of a
passage is the first passage (lowest ``passage_index``) with the same group and anchor in the other language; the
lead section has no anchor, and its twin is the other guide's first passage. The in-memory snapshot indexes
passages by these addresses; over a Qdrant server the same address becomes a filter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Address = tuple[tuple[str, Any], ...]


def twin_address(meta: dict[str, Any], language: str) -> Address | None:
    """Return the address of this passage's twin in ``language``, or None for a passage of no guide."""
    if not meta.get("group"):
        return None
    anchor = ("section_key", str(meta["section_key"])) if meta.get("section_key") else ("passage_index", 0)
    return (("group", str(meta["group"])), ("language", language), anchor)


def addresses(meta: dict[str, Any]) -> Iterator[Address]:
    """Yield every address at which this passage is some other passage's twin."""
    if not meta.get("group"):
        return
    head = (("group", str(meta["group"])), ("language", str(meta.get("language", ""))))
    if meta.get("section_key"):
        yield (*head, ("section_key", str(meta["section_key"])))
    if meta.get("passage_index", 0) == 0:
        yield (*head, ("passage_index", 0))


def address_filter(address: Address) -> dict[str, Any]:
    """Return the address as a Haystack filter over ``meta`` fields."""
    conditions = [{"field": f"meta.{name}", "operator": "==", "value": value} for name, value in address]
    return {"operator": "AND", "conditions": conditions}
