"""Tests of ingest.loaders on the shared official sources and on small generated files of every format."""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest

from ingest.document import LoadedDocument, Section
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from kb.errors import LoaderError

SOURCES = Path(__file__).resolve().parents[2].parent / "shared" / "sources"
MISSING_SOURCES = (
    f"The shared official sources are missing at {SOURCES}; the loader tests need ../shared/sources next to the "
    "project (see ../shared/SOURCES.md)."
)
SOURCE_FILES = sorted(
    path
    for path in (SOURCES.rglob("*") if SOURCES.is_dir() else [])
    if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES
)
FINLEX_FI = "finlex/fi"
FINLEX_SV = "finlex/sv"


def load_source(relative: str) -> LoadedDocument:
    """Load one shared source file, failing (not skipping) when the folder is missing."""
    if not SOURCES.is_dir():
        pytest.fail(MISSING_SOURCES)
    path = SOURCES / relative
    if not path.is_file():
        pytest.fail(f"shared source file missing: {path}")
    return load_file(path, SOURCES)


def section_by_key(document: LoadedDocument, key: str) -> Section:
    """Return the section with this key, failing with the keys that do exist."""
    for section in document.sections:
        if section.key == key:
            return section
    pytest.fail(f"no section {key!r} in {document.source}; keys: {[s.key for s in document.sections]}")


def section_text(document: LoadedDocument, section: Section) -> str:
    return document.text[section.start : section.end]


def assert_well_formed(document: LoadedDocument) -> None:
    """Check the invariants every loader promises about text and sections."""
    text = document.text
    assert text, f"{document.source}: empty text"
    assert text == text.strip(), f"{document.source}: leading or trailing whitespace"
    assert "\n\n\n" not in text, f"{document.source}: more than one blank line between paragraphs"
    assert "  " not in text, f"{document.source}: a run of spaces"
    assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", text), f"{document.source}: control characters"
    assert document.title and document.title == document.title.strip()
    previous_end = 0
    for section in document.sections:
        assert previous_end <= section.start < section.end <= len(text), f"{document.source}: {section}"
        previous_end = section.end
        if section.title:
            first_word = section.title.split()[0]
            assert section_text(document, section).startswith(first_word), (
                f"{document.source}: section {section.title!r} starts with "
                f"{section_text(document, section)[:60]!r}"
            )
    keys = [s.key for s in document.sections if s.key is not None]
    assert len(keys) == len(set(keys)), f"{document.source}: repeated section keys"


# --- the shared official sources ----------------------------------------------------------------------------


def test_shared_sources_present() -> None:
    assert SOURCES.is_dir(), MISSING_SOURCES
    assert SOURCE_FILES, f"no loadable files under {SOURCES}"


@pytest.mark.parametrize(
    "path",
    SOURCE_FILES or [pytest.param(None, id="shared-sources-missing")],
    ids=lambda p: p.relative_to(SOURCES).as_posix() if isinstance(p, Path) else str(p),
)
def test_load_file_every_shared_source_loads(path: Path | None) -> None:
    if path is None:
        pytest.fail(MISSING_SOURCES)
    document = load_file(path, SOURCES)
    assert document.source == path.relative_to(SOURCES).as_posix()
    assert document.language in {"fi", "sv"}
    assert document.meta["kind"] in {"statute", "consolidated-statute", "case-law", "press-release"}
    assert document.sections, f"{document.source}: no sections"
    assert_well_formed(document)


def test_finlex_xml_fi_reflection_period_sections() -> None:
    document = load_source(f"{FINLEX_FI}/original-statute_aliens-act-amendment-389-2015_reflection-period-52b-52c.xml")
    b = section_by_key(document, "52b")
    c = section_by_key(document, "52c")
    assert b.title == "52 b § Harkinta-aika ilman oleskeluoikeutta maassa olevalle ihmiskaupan uhrille"
    assert c.title == "52 c § Harkinta-ajasta päättäminen"
    assert section_text(document, b).startswith(f"{b.title}\n\nEnnen 52 a §:n mukaisen oleskeluluvan")
    assert "kuusi kuukautta" in section_text(document, b)
    assert document.title == "Laki ulkomaalaislain muuttamisesta (389/2015)"
    assert document.text.startswith("Laki ulkomaalaislain muuttamisesta\n\nEduskunnan päätöksen mukaisesti")
    assert document.language == "fi"
    assert document.url == "https://www.finlex.fi/fi/laki/alkup/2015/20150389"
    assert document.meta["statute"] == "389/2015"
    assert document.document_id == (
        "finlex/fi/original-statute_aliens-act-amendment-389-2015_reflection-period-52b-52c"
    )
    assert document.sections[-1].title == "Voimaantulo"


def test_finlex_xml_sv_reflection_period_title() -> None:
    document = load_source(f"{FINLEX_SV}/original-statute_utlanningslagen-andring-389-2015_betanketid.xml")
    b = section_by_key(document, "52b")
    assert b.title is not None and b.title.startswith("52 b § Betänketid")
    assert section_by_key(document, "52c").title == "52 c § Beslut om betänketid"
    # Each momentti is its own paragraph.
    assert section_text(document, b).count("\n\n") == 4
    assert document.language == "sv"
    assert document.url == "https://www.finlex.fi/sv/laki/alkup/2015/20150389"
    assert document.title == "Lag om ändring av utlänningslagen (389/2015)"
    assert document.sections[-1].title == "Ikraftträdande"


@pytest.mark.parametrize(
    ("relative", "language", "heading"),
    [
        (f"{FINLEX_FI}/original-statute_non-discrimination-ombudsman-act-1326-2014.xml", "fi", "3 § Tehtävät"),
        (f"{FINLEX_SV}/original-statute_lag-om-diskrimineringsombudsmannen-1326-2014.xml", "sv", "3 § Uppgifter"),
    ],
)
def test_finlex_xml_ombudsman_act_section_3(relative: str, language: str, heading: str) -> None:
    document = load_source(relative)
    section = section_by_key(document, "3")
    assert section.title == heading
    text = section_text(document, section)
    # The items of a momentti are lines of one paragraph; the closing momentti is a paragraph of its own.
    assert "\n1) " in text and "\n6) " in text
    assert text.count("\n\n") == 2
    assert document.meta["statute"] == "1326/2014"
    assert document.meta["kind"] == "statute"
    assert document.language == language
    assert document.url == f"https://www.finlex.fi/{language}/laki/alkup/2014/20141326"


def test_finlex_xml_chapters_and_repeated_numbers() -> None:
    document = load_source(f"{FINLEX_FI}/original-statute_criminal-code-amendment-564-2015_ch25-s3a.xml")
    # Section numbers restart in each chapter of the Criminal Code, so keys carry the chapter.
    assert section_by_key(document, "25:3a").title == "3 a § Törkeä ihmiskauppa"
    assert section_by_key(document, "25luku").title == "25 luku Vapauteen kohdistuvista rikoksista"


def test_consolidated_aliens_act_section_52c() -> None:
    document = load_source(f"{FINLEX_FI}/consolidated_aliens-act-301-2004_as-of-2018-09-01.txt")
    section = section_by_key(document, "52c")
    assert section.title == "52 c § Harkinta-ajasta päättäminen"
    assert section_text(document, section).startswith("52 c § Harkinta-ajasta päättäminen\n\nPoliisi tai")
    assert "[muutettu" not in document.text
    assert document.meta["kind"] == "consolidated-statute"
    assert document.meta["statute"] == "301/2004"
    assert document.meta["version"] == "2018-09-01"
    assert document.meta["amended_by"]["52c"] == "389/2015"
    assert document.title == "Ulkomaalaislaki 301/2004 (ajantasainen, 2018-09-01)"
    assert document.url == "https://www.finlex.fi/fi/laki/ajantasa/2004/20040301"
    assert document.language == "fi"
    assert not document.text.startswith("#")


def test_consolidated_criminal_code_chapter_25() -> None:
    document = load_source(f"{FINLEX_FI}/consolidated_criminal-code-39-1889_chapter-25_as-of-2018-08-24.txt")
    section = section_by_key(document, "3a")
    assert section.title == "3 a § Törkeä ihmiskauppa"
    assert "\n1) käytetään 3 §:ssä" in section_text(document, section)
    assert document.url == "https://www.finlex.fi/fi/laki/ajantasa/1889/18890039"


def test_case_law_decision_title_and_metadata() -> None:
    document = load_source(f"{FINLEX_FI}/case-law_KHO-2017-42_residence-permit-trafficking-victim.txt")
    assert document.title == "KHO:2017:42"
    assert document.meta["kind"] == "case-law"
    assert document.meta["date"] == "2017-03-20"
    assert "Ihmiskauppa" in document.meta["keywords"]
    assert document.sections[0].title == "KHO:2017:42"
    assert document.text.startswith("KHO:2017:42\n\nAsiassa oli")
    assert "Public" not in document.text.split("\n\n")[:3]
    assert document.url is None


def test_press_release_subheadings_and_language() -> None:
    document = load_source("press-release/handlingsplan-mot-manniskohandel-2016-2017.sv.txt")
    assert document.language == "sv"
    assert document.meta["kind"] == "press-release"
    assert document.title.startswith("Handlingsplanen mot människohandel")
    titles = [s.title for s in document.sections]
    assert "Samarbete mellan många olika myndigheter" in titles
    assert "\u00a0" not in document.text


# --- generated files of each format -------------------------------------------------------------------------

GUIDE = """---
id: reflection-period-en
title: Residence permits and the reflection period
language: en
group: reflection-period
audience: both
updated: 2026-11-28
sources:
  - title: Aliens Act 301/2004
    url: https://www.finlex.fi/fi/laki/ajantasa/2004/20040301
---

A victim can get a *reflection period* first. (Source: Aliens Act 301/2004, section 52 b)

## Who decides {#who-decides}

The **police** decide; see [Finlex](https://www.finlex.fi) for
the wording. (Source: Aliens Act 301/2004, section 52 c)

- the first condition;
- the second condition.

## Length {#length}

1. at least 30 days
2. at most six months
"""


def test_markdown_guide_front_matter_and_anchors(tmp_path: Path) -> None:
    path = tmp_path / "guides" / "en" / "reflection-period.md"
    path.parent.mkdir(parents=True)
    path.write_text(GUIDE, encoding="utf-8")
    document = load_file(path, tmp_path)
    assert document.document_id == "reflection-period-en"
    assert document.source == "guides/en/reflection-period.md"
    assert document.language == "en"
    assert document.title == "Residence permits and the reflection period"
    assert document.meta["kind"] == "guide"
    assert document.meta["group"] == "reflection-period"
    assert document.meta["updated"] == "2026-11-28"
    assert document.meta["sources"][0]["title"] == "Aliens Act 301/2004"
    assert [(s.title, s.key) for s in document.sections] == [
        ("Residence permits and the reflection period", None),
        ("Who decides", "who-decides"),
        ("Length", "length"),
    ]
    who = section_text(document, document.sections[1])
    assert who.startswith("Who decides\n\nThe police decide; see Finlex for the wording.")
    assert "(Source: Aliens Act 301/2004, section 52 c)" in who
    assert "• the first condition;\n• the second condition." in who
    assert "1. at least 30 days\n2. at most six months" in document.text
    assert not re.search(r"[*#\[\]{}]", document.text)
    assert_well_formed(document)


def test_html_page_sections_and_chrome_dropped(tmp_path: Path) -> None:
    page = """<!DOCTYPE html><html lang="sv-FI"><head><title>Hjälp för offer</title>
    <style>p { color: red }</style><script>var tracking = 1;</script></head>
    <body><header>Sidhuvud</header><nav><a href="/">Hem</a></nav>
    <main><h1 id="start">Hjälp för offer</h1><p>Ingress   med <b>fet</b> text.</p>
    <h2 id="kontakt">Kontakt</h2><p>Ring 112 om du är i fara.<br>Eller ring hjälplinjen.</p>
    <ul><li>första</li><li>andra</li></ul>
    <table><tr><th>Namn</th><th>Nummer</th></tr><tr><td>Nödnummer</td><td>112</td></tr></table>
    </main><footer>Sidfot</footer></body></html>"""
    path = tmp_path / "hjalp.html"
    path.write_text(page, encoding="utf-8")
    document = load_file(path, tmp_path)
    assert document.title == "Hjälp för offer"
    assert document.language == "sv"
    assert [(s.title, s.key) for s in document.sections] == [("Hjälp för offer", "start"), ("Kontakt", "kontakt")]
    assert "Ingress med fet text." in document.text
    assert "• första\n• andra" in document.text
    assert "Namn | Nummer\nNödnummer | 112" in document.text
    for chrome in ("Sidhuvud", "Hem", "Sidfot", "tracking", "color"):
        assert chrome not in document.text
    assert_well_formed(document)


def test_docx_headings_make_sections(tmp_path: Path) -> None:
    word = docx.Document()
    word.core_properties.title = "Ohje ihmiskaupan uhrille"
    word.core_properties.language = "fi-FI"
    word.add_paragraph("Johdanto ohjeeseen.")
    word.add_heading("Auttamisjärjestelmä", level=1)
    word.add_paragraph("Joutsenon vastaanottokeskus ylläpitää auttamisjärjestelmää.")
    word.add_paragraph("majoitus", style="List Bullet")
    word.add_paragraph("oikeudellinen neuvonta", style="List Bullet")
    word.add_heading("Yhteystiedot", level=2)
    word.add_paragraph("Hätätilanteessa soita 112.")
    path = tmp_path / "ohje.docx"
    word.save(str(path))
    document = load_file(path, tmp_path)
    assert document.title == "Ohje ihmiskaupan uhrille"
    assert document.language == "fi"
    assert [s.title for s in document.sections] == ["Auttamisjärjestelmä", "Yhteystiedot"]
    assert section_text(document, document.sections[0]).endswith("• majoitus\n• oikeudellinen neuvonta")
    assert document.text.startswith("Johdanto ohjeeseen.")
    assert_well_formed(document)


def minimal_pdf(lines: list[str], title: str) -> bytes:
    """Write a one-page PDF by hand: a Helvetica text object per line, a correct xref table, /Info title."""
    content = "BT /F1 12 Tf 72 720 Td 16 TL\n" + "".join(f"({line}) Tj T*\n" for line in lines) + "ET"
    stream = content.encode("cp1252")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Lang (fi-FI) >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Title (" + title.encode("cp1252") + b") >>",
    ]
    pdf = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    pdf += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(pdf)


def test_pdf_text_title_and_language(tmp_path: Path) -> None:
    path = tmp_path / "opas.pdf"
    path.write_bytes(minimal_pdf(["Auttamisjärjestelmä auttaa ihmiskaupan uhreja.", "Soita 112."], "Opas uhreille"))
    document = load_file(path, tmp_path)
    assert document.title == "Opas uhreille"
    assert document.language == "fi"
    assert "Auttamisjärjestelmä auttaa ihmiskaupan uhreja." in document.text
    assert "Soita 112." in document.text
    assert document.meta["pages"] == 1
    start, end = document.meta["page_offsets"][0]
    assert document.text[start:end] == document.text
    assert_well_formed(document)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (bytes(range(256)) * 4, "not a PDF"),
        (b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n", "corrupt PDF"),
    ],
    ids=["random-bytes", "garbage-body"],
)
def test_pdf_corrupt_raises(tmp_path: Path, content: bytes, problem: str) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(LoaderError, match=problem):
        load_file(path, tmp_path)


def test_pdf_truncated_raises(tmp_path: Path) -> None:
    whole = minimal_pdf(["Auttamisjärjestelmä auttaa ihmiskaupan uhreja."], "Opas")
    path = tmp_path / "cut.pdf"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(LoaderError, match="truncated"):
        load_file(path, tmp_path)


def test_docx_corrupt_raises(tmp_path: Path) -> None:
    path = tmp_path / "broken.docx"
    path.write_bytes(b"PK\x03\x04 this is not a Word document")
    with pytest.raises(LoaderError, match="docx"):
        load_file(path, tmp_path)


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.xml", "empty.pdf", "empty.docx", "empty.html"])
def test_empty_file_raises(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(LoaderError, match="empty"):
        load_file(path, tmp_path)


def test_markdown_without_body_raises(tmp_path: Path) -> None:
    path = tmp_path / "empty-guide.md"
    path.write_text("---\nid: empty-en\ntitle: Nothing here\nlanguage: en\n---\n\n", encoding="utf-8")
    with pytest.raises(LoaderError, match="no text"):
        load_file(path, tmp_path)


def test_invalid_utf8_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "binary.txt"
    path.write_bytes(b"\x81\x8d\x00\xff\xfe" * 40)
    with pytest.raises(LoaderError, match="UTF-8"):
        load_file(path, tmp_path)


def test_windows_1252_text_is_read(tmp_path: Path) -> None:
    path = tmp_path / "vanha.txt"
    path.write_bytes("Ihmiskaupan uhrin apu\n\nHätätilanteessa soita 112.\n".encode("cp1252"))
    document = load_file(path, tmp_path)
    assert document.text == "Ihmiskaupan uhrin apu\n\nHätätilanteessa soita 112."
    assert document.meta["kind"] == "document"


def test_unknown_xml_root_raises(tmp_path: Path) -> None:
    path = tmp_path / "decision.xml"
    path.write_text('<?xml version="1.0"?><Tuomio><Teksti>KHO</Teksti></Tuomio>', encoding="utf-8")
    with pytest.raises(LoaderError, match="unsupported XML"):
        load_file(path, tmp_path)


def test_truncated_xml_raises(tmp_path: Path) -> None:
    original = SOURCES / FINLEX_FI / "original-statute_non-discrimination-ombudsman-act-1326-2014.xml"
    if not original.is_file():
        pytest.fail(MISSING_SOURCES)
    whole = original.read_bytes()
    path = tmp_path / "cut.xml"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(LoaderError, match="not well-formed XML"):
        load_file(path, tmp_path)


def test_unsupported_suffix_raises(tmp_path: Path) -> None:
    path = tmp_path / "notes.rtf"
    path.write_text("{\\rtf1 hello}", encoding="utf-8")
    with pytest.raises(LoaderError, match="unsupported file type"):
        load_file(path, tmp_path)
