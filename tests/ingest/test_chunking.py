"""Chunking follows structure and stays inside the model's window."""

from __future__ import annotations

import itertools

from ingest.chunking import StructuredChunker
from ingest.document import LoadedDocument, Section
from kb.text.spans import sentences


def words(n: int, word: str = "sana") -> str:
    return " ".join(f"{word}{i}." if i % 12 == 11 else f"{word}{i}" for i in range(n))


def make_doc(text: str, sections: list[Section]) -> LoadedDocument:
    return LoadedDocument("d", "T", "fi", None, "d.md", text, sections)


def count_words_as_tokens(text: str) -> int:
    return 2 * len(text.split()) + 2


def test_chunking_never_crosses_sections_and_offsets_are_exact() -> None:
    a = "1 § Otsikko\n\n" + words(30)
    b = "2 § Toinen\n\n" + words(500, "Pitkä")
    text = a + "\n\n" + b
    doc = make_doc(text, [Section("1 § Otsikko", "1", 0, len(a)), Section("2 § Toinen", "2", len(a) + 2, len(text))])
    chunks = StructuredChunker(count_words_as_tokens, max_words=120, max_tokens=300).split(doc)
    assert chunks[0].section is not None and chunks[0].section.key == "1"
    assert chunks[0].end <= len(a)
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert len(chunk.text.split()) <= 120
        assert count_words_as_tokens(chunk.text) <= 300
        assert chunk.section is not None
        assert chunk.section.start <= chunk.start and chunk.end <= chunk.section.end
    assert len([c for c in chunks if c.section and c.section.key == "2"]) >= 4


def test_chunking_overlaps_one_sentence_when_a_paragraph_is_cut() -> None:
    text = " ".join(f"Lause numero {i} kertoo asiasta." for i in range(200))
    doc = make_doc(text, [])
    chunks = StructuredChunker(count_words_as_tokens, max_words=100, max_tokens=400).split(doc)
    assert len(chunks) > 2
    for first, second in itertools.pairwise(chunks):
        assert second.start < first.end  # the last sentence is repeated


def test_sentences_keep_abbreviations_and_section_signs() -> None:
    text = "Katso esim. 52 b §. Sitten toinen lause! Kolmas?"
    spans = [text[s.start : s.end] for s in sentences(text, 0, len(text))]
    assert spans == ["Katso esim. 52 b §.", "Sitten toinen lause!", "Kolmas?"]
