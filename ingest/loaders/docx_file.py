"""Word documents (``.docx``) via python-docx: paragraphs and tables in order, Heading styles make sections."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath
from typing import Any

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from ingest.document import LoadedDocument
from ingest.loaders.textbuilder import (
    TextBuilder,
    clean_line,
    document_id_for,
    finish,
    language_from_path,
    normalise_language,
)
from kb.errors import LoaderError

_HEADING_STYLE = re.compile(r"^(?:Heading|Otsikko|Rubrik)\s*(?P<level>\d)$", re.IGNORECASE)
_SECTION_LEVEL_MAX = 3
_LIST_STYLE = re.compile(r"^(?:List|Luettelo|Lista)", re.IGNORECASE)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _style_name(paragraph: Paragraph) -> str:
    """Return the paragraph's style name ("" when the style is missing)."""
    try:
        style = paragraph.style
    except (KeyError, ValueError):  # a style id pointing nowhere in a hand-edited file
        return ""
    return str(style.name) if style is not None and style.name else ""


def _is_numbered(paragraph: Paragraph) -> bool:
    """Tell whether the paragraph carries list numbering, which marks list items styled plain "Normal"."""
    # python-docx has no public API for numbering; the paragraph's XML element is the only way to see it.
    return paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None


def _table_text(table: Table) -> str:
    """Render a table as one paragraph: a line per row, cells separated by " | "."""
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = clean_line(cell.text.replace("\n", " "))
            if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def load_docx(data: bytes, source: str) -> LoadedDocument:
    """Load a Word document.

    Args:
        data: the file's bytes.
        source: the path relative to the ingested folder.

    Raises:
        LoaderError: the file is not a valid .docx package or has no text.
    """
    try:
        document = docx.Document(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
        core = document.core_properties
        core_title, core_language = core.title, core.language
    except (PackageNotFoundError, zipfile.BadZipFile) as exc:
        raise LoaderError(f"not a valid .docx file (not a Word/ZIP package: {exc})") from exc
    except (KeyError, ValueError, etree.XMLSyntaxError, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise LoaderError(f"corrupt .docx file ({type(exc).__name__}: {exc})") from exc

    builder = TextBuilder()
    first_heading = ""
    title_style_text = ""
    list_open = False
    for block in blocks:
        if isinstance(block, Table):
            builder.paragraph(_table_text(block))
            list_open = False
            continue
        text = block.text
        if not clean_line(text.replace("\n", " ")):
            continue
        style = _style_name(block)
        heading = _HEADING_STYLE.match(style)
        if style.lower() == "title":
            title_style_text = title_style_text or clean_line(text)
            builder.heading(text, None)
            list_open = False
        elif heading and int(heading["level"]) <= _SECTION_LEVEL_MAX:
            first_heading = first_heading or clean_line(text)
            builder.heading(text, None)
            list_open = False
        elif _LIST_STYLE.match(style) or _is_numbered(block):
            line = f"• {clean_line(text)}"
            if list_open:
                builder.extend_last(line)
            else:
                builder.paragraph(line)
            list_open = True
        else:
            builder.paragraph(text)
            list_open = False

    title = clean_line(core_title or "") or title_style_text or first_heading or PurePosixPath(source).stem
    meta: dict[str, Any] = {"kind": "document", "format": "docx"}
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title,
        language=normalise_language(core_language) or language_from_path(source),
        url=None,
        meta=meta,
    )
