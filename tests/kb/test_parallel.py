"""A citation in another language than the answer carries the same guide section in the answer's language."""

from __future__ import annotations

from kb.knowledge_base import KnowledgeBase


def test_parallel_twin_from_the_snapshot_matches_the_store(sources_kb: KnowledgeBase) -> None:
    snapshot = sources_kb.hybrid.snapshot.current() if sources_kb.hybrid.snapshot else None
    assert snapshot is not None, "the default settings serve from the in-memory snapshot"
    guides = [d for d in snapshot.documents if d.meta.get("group") and d.meta.get("language") == "fi"]
    assert len(guides) > 50
    found = 0
    for passage in guides:
        twin = sources_kb.hybrid.twin(passage.id, "sv")  # the two lookups are what is compared
        stored = sources_kb.hybrid._stored_twin(passage.id, "sv")
        assert (twin.id if twin else None) == (stored.id if stored else None), passage.meta.get("section")
        if twin is not None:
            found += 1
            assert twin.meta["group"] == passage.meta["group"] and twin.meta["language"] == "sv"
    assert found > len(guides) / 2


def test_parallel_statute_passages_have_no_twin(sources_kb: KnowledgeBase) -> None:
    snapshot = sources_kb.hybrid.snapshot.current() if sources_kb.hybrid.snapshot else None
    assert snapshot is not None
    statute = next(d for d in snapshot.documents if not d.meta.get("group"))
    assert sources_kb.hybrid.twin(statute.id, "en") is None
