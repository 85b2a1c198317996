"""Finlex plain-text exports: consolidated statutes (``consolidated_*.txt``), court decisions (``case-law_*.txt``)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from ingest.document import LoadedDocument
from ingest.loaders.textbuilder import (
    TextBuilder,
    document_id_for,
    finish,
    language_from_path,
    line_blocks,
    split_lines,
)

# "52 b § Heading", "52b § Heading", "3a §", "68 §(29.6.2016/501)", "20–26 § on kumottu ...". Not "3 §:ssä".
_SECTION = re.compile(
    r"^(?P<first>\d+)\s*(?P<letter>[a-z])?(?:\s*[–-]\s*(?P<last>\d+\s*[a-z]?))?\s*§(?![:\w])\s*(?P<rest>.*)$"
)
_CHAPTER = re.compile(r"^(?P<number>\d+)\s*(?P<letter>[a-z])?\s+luku\b\s*(?P<rest>.*)$")
_AMENDED = re.compile(r"\s*\[muutettu:\s*sfsd:(?P<year>\d{4})/(?P<number>\d+)/\w+\]\s*")
_HEADER = re.compile(
    r"consolidated Finnish text:\s*(?P<statute>\d+/\d{4})\s+(?P<name>.+?),\s*versio\s+(?P<version>\d{4}-\d{2}-\d{2})"
)
_LICENCE = re.compile(r"lisenssi\s+(?P<licence>CC[^;()]*?)\s*(?:\(|;|$)")
_DOCUMENT_LINE = re.compile(r"^Säädös \[.*\]\s*\(.*dateDocument (?P<date>\d{4}-\d{2}-\d{2})\)\s*$")
_ITEM = re.compile(r"^(?:\d+\s*[a-z]?|[a-z])\)\s")
_AMENDMENT_NOTE = re.compile(r"^\(\d{1,2}\.\d{1,2}\.\d{4}/\d+\)$")
_FINAL_PUNCTUATION = tuple(".,:;!?")


def _is_continuation(line: str) -> bool:
    """Tell whether a line continues the paragraph above: an item, an amendment note, a lowercase start."""
    return bool(_ITEM.match(line) or _AMENDMENT_NOTE.match(line) or line[:1].islower())


def _is_subheading(line: str) -> bool:
    """Tell whether a line is a short heading between sections (no final punctuation, capitalised)."""
    return (
        len(line) <= 100
        and not line.endswith(_FINAL_PUNCTUATION)
        and line[:1].isupper()
        and not _ITEM.match(line)
        and not _SECTION.match(line)
    )


def _add_body(builder: TextBuilder, lines: list[str]) -> None:
    """Add the lines of a section: each momentti a paragraph; items, notes and continuations stay with it."""
    for index, line in enumerate(lines):
        # The first body line never joins the heading paragraph, even when it is an item.
        if index and _is_continuation(line) and not line.startswith("["):
            builder.extend_last(line)
        else:
            builder.paragraph(line)


def _section_heading(match: re.Match[str]) -> tuple[str, str, str | None]:
    """Return the heading line normalised ("52 b § Heading"), its key ("52b") and the amending act, if noted."""
    first = match["first"] + (f" {match['letter']}" if match["letter"] else "")
    key = first.replace(" ", "")
    if match["last"]:
        last = re.sub(r"(\d+)\s*([a-z])", r"\1 \2", match["last"].strip())
        first, key = f"{first}–{last}", f"{key}-{last.replace(' ', '')}"
    rest = match["rest"]
    amended = _AMENDED.search(rest)
    rest = _AMENDED.sub(" ", rest).strip()
    heading = f"{first} § {rest}".strip()
    return heading, key, f"{amended['number']}/{amended['year']}" if amended else None


def load_consolidated(text: str, source: str) -> LoadedDocument:
    """Load a consolidated statute text (Semantic Finlex export with a 3-line ``#`` header)."""
    lines = split_lines(text)
    header = [line.lstrip("#").strip() for line in lines[:3] if line.startswith("#")]
    body = lines[len(header) :]
    meta: dict[str, Any] = {"kind": "consolidated-statute", "format": "finlex-consolidated-text", "header": header}
    header_text = " ".join(header)
    title_name, statute, version = "", None, None
    if match := _HEADER.search(header_text):
        statute, version, title_name = match["statute"], match["version"], match["name"].strip()
    elif match := re.search(r"-(\d+)-(\d{4})(?:_|\.|$)", PurePosixPath(source).name):
        statute = f"{match[1]}/{match[2]}"
    if licence := _LICENCE.search(header_text):
        meta["licence"] = licence["licence"].strip()
    url = None
    if statute:
        number, year = (int(part) for part in statute.split("/"))
        meta.update(statute=statute, year=year, number=number)
        url = f"https://www.finlex.fi/fi/laki/ajantasa/{year}/{year}{number:04d}"
    if version:
        meta["version"] = version

    builder = TextBuilder()
    amended_by: dict[str, str] = {}
    blocks = line_blocks(body)
    current_key: str | None = None
    for index, block in enumerate(blocks):
        next_opens = index + 1 < len(blocks) and bool(
            _SECTION.match(blocks[index + 1][0]) or _CHAPTER.match(blocks[index + 1][0])
        )
        # A subheading printed at the end of the previous section's block belongs to the sections after it.
        trailing_heading = block[-1] if next_opens and len(block) > 1 and _is_subheading(block[-1]) else None
        if trailing_heading:
            block = block[:-1]
        first = block[0]
        if document := _DOCUMENT_LINE.match(first):
            meta["document_date"] = document["date"]
            block = block[1:]
            if not block:
                continue
            first = block[0]
        if chapter := _CHAPTER.match(first):
            current_key = f"{chapter['number']}{chapter['letter'] or ''}luku"
            builder.heading(first, current_key)
            for line in block[1:]:
                if _is_subheading(line):
                    builder.heading(line, None)
                else:
                    builder.paragraph(line)
        elif section := _SECTION.match(first):
            heading, key, amended = _section_heading(section)
            if amended:
                amended_by[key] = amended
            if key == current_key:
                # A repeal note repeating the number ("68 § on kumottu ...") continues the same section.
                builder.paragraph(heading)
            else:
                builder.heading(heading, key)
                current_key = key
            _add_body(builder, block[1:])
        else:
            _add_body(builder, block)
        if trailing_heading:
            builder.heading(trailing_heading, None)
            current_key = None
    if amended_by:
        meta["amended_by"] = amended_by

    if title_name:
        name, _, extra = title_name.partition(", ")
        title = f"{name[:1].upper()}{name[1:]} {statute}" + (f", {extra}" if extra else "")
    else:
        title = f"{document_id_for(source)}"
    if version:
        title += f" (ajantasainen, {version})"
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title,
        language=language_from_path(source) or "fi",
        url=url,
        meta=meta,
    )


# --- court decisions ---------------------------------------------------------------------------------------

_DECISION_ID = re.compile(r"\b(?P<court>KKO|KHO|HD|HFD)[: ](?P<year>\d{4}):(?P<number>\d+)\b")
_FILE_DECISION_ID = re.compile(r"(?P<court>KKO|KHO|HD|HFD)-(?P<year>\d{4})-(?P<number>\d+)")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_HEADER_TAIL = re.compile(r"^(?:\d+|ECLI:\S+)$")
_DIARY_NUMBER = re.compile(r"^(?:[A-Z]\s?)?\d+(?:/\d+)+$")
# Lines naming provisions ("RL 25 luku 3 §", "Euroopan ihmisoikeussopimus 3 artikla") are not headings.
_LAW_REFERENCE = re.compile(r"§|\bartikla|\bartikel|\bKs\. |\bSe även\b")
_HEADER_SCAN_LINES = 40
# The export puts a bold or italic word on a line of its own; such a stub is short.
_MAX_BROKEN_LINE_CHARS = 60


def _case_header(lines: list[str]) -> tuple[int, dict[str, Any]]:
    """Find the metadata lines at the top of a decision; return how many there are and what they say."""
    date_index = next(
        (i for i, line in enumerate(lines[:_HEADER_SCAN_LINES]) if _ISO_DATE.match(line)),
        None,
    )
    if date_index is None or any(len(line) > 150 for line in lines[:date_index]):
        return 0, {}
    end = date_index + 1
    while end < len(lines) and _HEADER_TAIL.match(lines[end]):
        end += 1
    header = lines[:end]
    meta: dict[str, Any] = {"date": lines[date_index]}
    if len(header) > 1:
        meta["court"] = header[1]
    id_index = next((i for i, line in enumerate(header) if _DECISION_ID.search(line) and "ECLI" not in line), None)
    if ecli := next((line for line in header if line.startswith("ECLI:")), None):
        meta["ecli"] = ecli
    if id_index is not None:
        keywords: list[str] = []
        for line in header[id_index + 1 :]:
            if _DIARY_NUMBER.match(line):
                meta["diary_number"] = line
                break
            if _ISO_DATE.match(line) or _HEADER_TAIL.match(line):
                break
            keywords.append(line)
        meta["keywords"] = keywords
    return end, meta


def _join_split_lines(lines: list[str]) -> list[str]:
    """Rejoin lines the export broke at bold or italic words ("A" / "on omasta ...", "juju" / "-valan")."""
    joined: list[str] = []
    for line in lines:
        previous = joined[-1] if joined else ""
        glued = line.startswith("-") and line[1:2].islower()
        broken = (
            bool(previous)
            and (line[:1].islower() or glued)
            and not previous.endswith(_FINAL_PUNCTUATION)
            and not _ITEM.match(previous)
            and len(previous) <= _MAX_BROKEN_LINE_CHARS
        )
        if broken:
            joined[-1] = previous + ("" if glued else " ") + line
        else:
            joined.append(line)
    return joined


def _is_case_heading(line: str) -> bool:
    """Tell whether a line of a decision is a heading: short, capitalised, no final punctuation, no provision."""
    return (
        2 < len(line) <= 100
        and not line.endswith(_FINAL_PUNCTUATION)
        and (line[:1].isupper() or line[:1].isdigit())
        and not _ITEM.match(line)
        and not _LAW_REFERENCE.search(line)
    )


def load_case_law(text: str, source: str) -> LoadedDocument:
    """Load a court decision exported as plain text (one paragraph per line, metadata lines on top)."""
    lines = [line for line in split_lines(text) if line]
    skip, meta = _case_header(lines)
    body = _join_split_lines(lines[skip:])
    header_text = "\n".join(lines[:skip])
    decision = _DECISION_ID.search(header_text) or _FILE_DECISION_ID.search(PurePosixPath(source).name)
    title = f"{decision['court']}:{decision['year']}:{decision['number']}" if decision else (lines[0] if lines else "")
    meta = {"kind": "case-law", "format": "finlex-case-law-text", "decision": title, **meta}

    builder = TextBuilder()
    builder.heading(title, None)
    index = 0
    while index < len(body):
        line = body[index]
        if not _is_case_heading(line):
            if _ITEM.match(line) or (line[:1].islower() and builder.paragraph_count):
                builder.extend_last(line)
            else:
                builder.paragraph(line)
            index += 1
            continue
        run = [line]
        while index + len(run) < len(body) and _is_case_heading(body[index + len(run)]):
            run.append(body[index + len(run)])
        index += len(run)
        if index >= len(body):
            for heading_line in run:  # headings with nothing after them are kept as text
                builder.paragraph(heading_line)
            break
        # The opening list of main headings (a table of contents) repeats before the first of them.
        repeated = next((i for i in range(1, len(run)) if run[i] == run[0]), None)
        if repeated is not None:
            run = run[repeated:]
        builder.heading(" / ".join(run), None, line="\n".join(run))
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title or document_id_for(source),
        language=language_from_path(source),
        url=None,
        meta=meta,
    )
