"""Bad files among good ones: each is reported (skipped, or read with a notice), and nothing else is lost.

A small corpus, the real model and the real embedded Qdrant.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ingest.indexer import MAX_FILE_BYTES, IngestReport
from kb.config import Settings
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import ingest_into

GOOD = {
    "en/helpline.md": "---\nid: good-helpline-en\ntitle: The victims' helpline\nlanguage: en\n---\n\n"
    "People who may be victims of trafficking can phone the assistance system at any hour. Calls can be anonymous.\n",
    "fi/kirjasto.md": "---\nid: good-kirjasto-fi\ntitle: Kirjaston aukioloajat\nlanguage: fi\n---\n\n"
    "Kaupunginkirjasto on avoinna arkisin kello yhdeksästä kahdeksaan. Sunnuntaisin kirjasto on kiinni.\n",
}
# What went wrong with each skipped file, as the report says it.
SKIPPED = {
    "en/empty.md": "empty",
    "en/blank.txt": "empty",
    "en/huge.txt": "too large to index",
    "en/utf16-no-bom.txt": "NUL bytes",
    "en/binary.txt": "NUL bytes",
    "en/windows-1251.txt": "not valid UTF-8",
    "fi/truncated.xml": "",
    "en/garbage.pdf": "",
    "en/garbage.docx": "",
    "en/zip-without-document.docx": "",
}


@pytest.fixture
def bad_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    for name, text in GOOD.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text, encoding="utf-8")
    (corpus / "en" / "empty.md").write_bytes(b"")
    (corpus / "en" / "blank.txt").write_bytes(b" \n\t\n  \n")
    with (corpus / "en" / "huge.txt").open("wb") as huge:  # 20 MB of real text, over the limit
        line = b"The island ferry leaves the harbour every two hours between six and ten.\n"
        huge.write(line * (20 * 1024 * 1024 // len(line) + 1))
    (corpus / "en" / "utf16-no-bom.txt").write_bytes("Ferry timetable\n\nThe ferry leaves.\n".encode("utf-16-le"))
    (corpus / "en" / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / "en" / "windows-1251.txt").write_bytes("Паром отходит каждый час.\n".encode("cp1251"))  # no mojibake
    (corpus / "fi" / "truncated.xml").write_bytes(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<akomaNtoso><act><body><section><num>1 \xc2\xa7</num><content><p>Laki'
    )
    (corpus / "en" / "garbage.pdf").write_bytes(b"\x00\x9f\x13garbage" * 500)
    (corpus / "en" / "garbage.docx").write_bytes(b"PK\x03\x04 not really a zip" + bytes(range(256)))
    with zipfile.ZipFile(corpus / "en" / "zip-without-document.docx", "w") as archive:
        archive.writestr("hello.txt", "a zip file, but not a Word document")
    # Wrongly encoded but readable: Windows-1252 (Latin-1) and UTF-16 with its byte-order mark.
    (corpus / "fi" / "latin1.txt").write_bytes(
        "Pyöräily talvella\n\nNastarenkaat tekevät pyöräilystä jäisillä teillä turvallisempaa.\n".encode("cp1252")
    )
    (corpus / "sv" / "utf16.md").parent.mkdir(parents=True, exist_ok=True)
    (corpus / "sv" / "utf16.md").write_bytes(
        "---\nid: utf16-vader-sv\ntitle: Vädret\nlanguage: sv\n---\n\nPå vintern kan isen bära mellan öarna.\n"
        .encode("utf-16")
    )
    return corpus


def reasons(report: IngestReport) -> dict[str, str]:
    return {Path(file).relative_to(Path(file).parents[1]).as_posix(): error for file, error in report.failures}


def test_bad_files_are_reported_and_the_rest_is_ingested(
    settings: Settings, bad_corpus: Path, encoder: Encoder
) -> None:
    assert (bad_corpus / "en" / "huge.txt").stat().st_size > MAX_FILE_BYTES

    report = ingest_into(settings, [bad_corpus])

    failures = reasons(report)
    assert set(failures) == set(SKIPPED), failures
    for name, expected in SKIPPED.items():
        assert expected in failures[name] and failures[name].strip(), (name, failures[name])
    assert "20,971,5" in failures["en/huge.txt"] and "limit" in failures["en/huge.txt"]
    assert report.documents_embedded == len(GOOD) + 2, "the good files and the two readable encodings"
    notices = {Path(f).name: n for f, n in report.notices}
    assert notices == {"latin1.txt": "not UTF-8: read as windows-1252; save it as UTF-8",
                       "utf16.md": "not UTF-8: read as utf-16; save it as UTF-8"}
    with KnowledgeBase(settings, encoder=encoder) as kb:
        assert "Nastarenkaat tekevät pyöräilystä" in kb.search("Nastarenkaat jäisillä teillä", k=1)[0].text
        assert kb.search("isen bära mellan öarna", k=1)[0].document_id == "utf16-vader-sv"
        assert kb.search("Can I phone the assistance system anonymously?", k=1)[0].document_id == "good-helpline-en"


def test_bad_files_later_never_remove_what_was_indexed(settings: Settings, bad_corpus: Path) -> None:
    first = ingest_into(settings, [bad_corpus])
    # A good file is overwritten by garbage, another grows past the limit: both keep their old passages.
    (bad_corpus / "fi" / "kirjasto.md").write_bytes(b"\x00\x81\x8d garbage \x90" * 10)
    with (bad_corpus / "en" / "helpline.md").open("ab") as grown:
        grown.truncate(MAX_FILE_BYTES + 1)

    second = ingest_into(settings, [bad_corpus])

    assert {"fi/kirjasto.md", "en/helpline.md"} <= set(reasons(second))
    assert second.documents_removed == 0
    assert second.passages == first.passages


def test_bad_files_size_limit_is_configurable(settings: Settings, bad_corpus: Path) -> None:
    from ingest.indexer import Indexer
    from kb.search.store import open_client

    client = open_client(settings)
    try:
        report = Indexer(settings, client, max_file_bytes=100).ingest([bad_corpus])
    finally:
        client.close()
    reason = reasons(report)["en/helpline.md"]
    assert "too large to index" in reason and "the limit is 100" in reason
