"""Ingest is incremental and atomic, with the real model and the real embedded Qdrant."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ingest.indexer import IngestReport
from kb.config import PROJECT_ROOT, Settings
from kb.errors import IngestError
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from kb.search.store import open_client
from tests.conftest import ingest_into


def ingest(settings: Settings, *paths: Path, **kwargs: Any) -> IngestReport:
    return ingest_into(settings, list(paths), **kwargs)


def search_ids(settings: Settings, encoder: Encoder, query: str) -> list[str]:
    with KnowledgeBase(settings, encoder=encoder) as kb:
        return [p.passage_id for p in kb.search(query, k=5)]


def test_ingest_reingest_unchanged_embeds_nothing(settings: Settings, fixture_corpus: Path) -> None:
    first = ingest(settings, fixture_corpus)
    assert first.changed and first.passages_embedded == first.passages > 0
    again = ingest(settings, fixture_corpus)
    assert not again.changed
    assert again.passages_embedded == 0
    assert again.documents_unchanged == first.documents_embedded
    assert again.passages == first.passages


def test_ingest_edit_reembeds_only_that_file_and_delete_removes(
    settings: Settings, fixture_corpus: Path, encoder: Encoder
) -> None:
    first = ingest(settings, fixture_corpus)
    edited = fixture_corpus / "en" / "cooking.md"
    edited.write_text(
        edited.read_text(encoding="utf-8") + "\nAdd caraway seeds for a spicier loaf.\n", encoding="utf-8"
    )
    second = ingest(settings, fixture_corpus)
    assert second.documents_embedded == 1
    assert second.passages_embedded <= 2
    assert second.passages == first.passages
    with KnowledgeBase(settings, encoder=encoder) as kb:
        top = kb.search("caraway seeds in bread", k=1)[0]
    assert top.document_id == "fixture-cooking-en" and "caraway" in top.text

    (fixture_corpus / "en" / "cooking.md").unlink()
    kept = ingest(settings, fixture_corpus)
    assert (kept.changed, kept.documents_removed, kept.documents_kept) == (False, 0, 1), "removing is explicit"
    third = ingest(settings, fixture_corpus, prune=True)
    assert third.documents_removed == 1
    with KnowledgeBase(settings, encoder=encoder) as kb:
        documents = {p.document_id for p in kb.search("baking rye bread sourdough", k=20)}
    assert "fixture-cooking-en" not in documents


OWN = ("---\nid: own-ferry\ntitle: Ferry timetable\nlanguage: en\n---\n\n"
       "The island ferry leaves at nine.\n\nIt returns at five.\n")


def test_ingest_own_documents_keeps_the_rest_of_the_index(
    settings: Settings, fixture_corpus: Path, tmp_path: Path, encoder: Encoder
) -> None:
    first = ingest(settings, fixture_corpus)
    own = tmp_path / "my" / "docs"
    own.mkdir(parents=True)
    (own / "ferry.md").write_text(OWN, encoding="utf-8")
    (own / "notes.xlsx").write_bytes(b"PK\x03\x04 not ours")
    (own / ".DS_Store").write_bytes(b"\x00")
    added = ingest(settings, own)
    assert (added.files, added.documents_added, added.documents_kept, added.documents_removed) == (
        1, 1, first.documents_embedded, 0)
    assert [(Path(f).name, "not a format" in r) for f, r in added.skipped] == [("notes.xlsx", True)]
    assert added.passages == first.passages + added.passages_embedded
    with KnowledgeBase(settings, encoder=encoder) as kb:
        assert kb.search("When does the island ferry leave?", k=1)[0].document_id == "own-ferry"
        assert kb.search("baking rye bread sourdough", k=1)[0].document_id == "fixture-cooking-en"

    again = ingest(settings, fixture_corpus)  # the corpus again: the own document stays
    assert not again.changed and again.documents_kept == 1


def test_remove_by_path_or_document_id(settings: Settings, fixture_corpus: Path, tmp_path: Path) -> None:
    first = ingest(settings, fixture_corpus)
    client = open_client(settings)
    try:
        from ingest.indexer import Indexer

        indexer = Indexer(settings, client)
        by_id = indexer.remove(["fixture-cooking-en"])
        by_path = indexer.remove([str(fixture_corpus / "sv")])
        with pytest.raises(IngestError, match="not in the index: no-such-doc"):
            indexer.remove(["no-such-doc"])
        with pytest.raises(IngestError, match="nothing to serve"):
            indexer.remove([str(fixture_corpus)])
    finally:
        client.close()
    assert (by_id.documents_removed, by_id.documents_kept) == (1, first.documents_embedded - 1)
    assert by_path.documents_removed == 3 and by_path.documents_kept == first.documents_embedded - 4


def test_ingest_skips_a_corrupt_pdf_and_ingests_the_rest(settings: Settings, fixture_corpus: Path) -> None:
    (fixture_corpus / "en" / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog" + bytes(range(256)))
    report = ingest(settings, fixture_corpus)
    assert [Path(f).name for f, _ in report.failures] == ["broken.pdf"]
    assert "broken.pdf" in report.failures[0][0] and report.failures[0][1]
    assert report.documents_embedded == 9


def test_ingest_failing_midway_leaves_the_previous_index_serving(
    settings: Settings, fixture_corpus: Path, encoder: Encoder
) -> None:
    ingest(settings, fixture_corpus)
    before = search_ids(settings, encoder, "Kuka myöntää harkinta-ajan?")
    (fixture_corpus / "fi" / "harkinta.md").write_text("---\nid: x\ntitle: X\nlanguage: fi\n---\n\nUusi teksti.\n")

    def crash() -> None:
        raise RuntimeError("simulated crash after writing")

    with pytest.raises(IngestError, match="unchanged"):
        ingest(settings, fixture_corpus, fail_after_write=crash)
    assert search_ids(settings, encoder, "Kuka myöntää harkinta-ajan?") == before
    client = open_client(settings)
    try:
        names = [c.name for c in client.get_collections().collections]
    finally:
        client.close()
    assert len(names) == 1, names  # the half-built collection was dropped


def test_ingest_a_moved_folder_replaces_its_documents(settings: Settings, fixture_corpus: Path, tmp_path: Path) -> None:
    import shutil

    first = ingest(settings, fixture_corpus)
    moved = tmp_path / "moved"
    shutil.copytree(fixture_corpus, moved)
    again = ingest(settings, moved)
    assert (again.documents_changed, again.documents_added, again.documents_kept, again.documents_removed) == (
        first.documents_embedded, 0, 0, 0)
    assert again.passages == first.passages, "each document once, from its new place"


def test_the_ingest_module_loads_without_haystack_or_torch() -> None:
    # A no-op re-ingest is a whole command under 3 s: it compares hashes with the catalog and needs neither Haystack
    # nor torch (about 2 s to import), which load only when something is to be embedded.
    code = "import sys, ingest.indexer; print(sorted({'torch', 'haystack'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    assert out.stdout.strip() == "[]", out.stdout
