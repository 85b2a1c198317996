"""HTML pages (``.html``, ``.htm``) via lxml.html: page chrome dropped, sections by h1–h3."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from lxml import etree
from lxml import html as lxml_html

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

# Page chrome and non-text content: never part of the document's text.
_DROP = frozenset(
    {"script", "style", "nav", "header", "footer", "noscript", "template", "aside", "form", "svg", "iframe",
     "button", "select", "canvas", "object", "embed", "head"}
)
_SECTION_HEADINGS = frozenset({"h1", "h2", "h3"})
_MINOR_HEADINGS = frozenset({"h4", "h5", "h6"})
_BLOCKS = frozenset(
    {"p", "div", "section", "article", "main", "blockquote", "pre", "dl", "dt", "dd", "figure",
     "figcaption", "address", "hr", "details", "summary", "body", "center", "fieldset", "caption"}
)
_LISTS = frozenset({"ul", "ol", "menu"})
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


class _HtmlReader:
    """Walk the body, collecting inline text and emitting paragraphs at block boundaries."""

    def __init__(self, builder: TextBuilder) -> None:
        self.builder = builder
        self.buffer: list[str] = []
        self.list_depth = 0
        self.list_lines: list[str] = []

    def flush(self) -> None:
        """Emit the collected inline text as a paragraph (or as a list line inside a list)."""
        text = "".join(self.buffer)
        self.buffer = []
        if not clean_line(text.replace("\n", " ")):
            return
        if self.list_depth:
            self.list_lines.append(text)
        else:
            self.builder.paragraph(text)

    def walk(self, element: etree._Element) -> None:
        """Read one element and its children; the caller adds the element's tail."""
        tag = element.tag.lower() if isinstance(element.tag, str) else ""
        if not tag or tag in _DROP:
            return
        if tag in _SECTION_HEADINGS or tag in _MINOR_HEADINGS:
            self.flush()
            text = clean_line(element.text_content())
            if text and tag in _SECTION_HEADINGS and not self.list_depth:
                self.builder.heading(text, element.get("id") or None)
            elif text:
                self.builder.paragraph(text)
            return
        if tag == "br":
            self.buffer.append("\n")
            return
        if tag in _LISTS:
            self.flush()
            self.list_depth += 1
            self._children(element)
            self.flush()
            self.list_depth -= 1
            if not self.list_depth and self.list_lines:
                lines, self.list_lines = self.list_lines, []
                self.builder.paragraph("\n".join(clean_line(line.replace("\n", " ")) for line in lines))
            return
        if tag == "li":
            self.flush()
            self.buffer.append("• ")
            self._children(element)
            self.flush()
            return
        if tag == "table":
            self.flush()
            self.builder.paragraph(_table_text(element))
            return
        is_block = tag in _BLOCKS
        if is_block:
            self.flush()
        self._children(element)
        if is_block:
            self.flush()

    def _children(self, element: etree._Element) -> None:
        self.buffer.append(element.text or "")
        for child in element:
            self.walk(child)
            self.buffer.append(child.tail or "")


def _table_text(table: etree._Element) -> str:
    """Render a table as one paragraph: a line per row, cells separated by " | "."""
    rows: list[str] = []
    for row in table.iter("tr"):
        cells = [clean_line(cell.text_content()) for cell in row if cell.tag in ("td", "th")]
        if any(cells):
            rows.append(" | ".join(cell for cell in cells if cell))
    return "\n".join(rows)


def _encoding(data: bytes) -> str | None:
    """Return the encoding to parse with: UTF-8 when the bytes are UTF-8, else the page's declared charset."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        declared = _CHARSET.search(data[:4096])
        return declared.group(1).decode("ascii") if declared else None


def load_html(data: bytes, source: str) -> LoadedDocument:
    """Load an HTML page.

    Args:
        data: the file's bytes.
        source: the path relative to the ingested folder.

    Raises:
        LoaderError: the page is not UTF-8 and declares no charset, cannot be parsed, or has no text.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    encoding = _encoding(data)
    if encoding is None:
        raise LoaderError("HTML that is not UTF-8 and declares no charset; save it as UTF-8")
    try:
        parser = lxml_html.HTMLParser(encoding=encoding, remove_comments=True, remove_pis=True)
        document = lxml_html.document_fromstring(data, parser=parser)
    except (etree.ParserError, etree.XMLSyntaxError, LookupError, ValueError) as exc:
        raise LoaderError(f"cannot be parsed as HTML ({exc})") from exc

    title = clean_line(document.findtext(".//title") or "")
    if not title:
        first_h1 = document.find(".//h1")
        title = clean_line(first_h1.text_content()) if first_h1 is not None else ""
    language = normalise_language(document.get("lang") or document.get("{http://www.w3.org/XML/1998/namespace}lang"))

    builder = TextBuilder()
    body = document.find("body")
    reader = _HtmlReader(builder)
    reader.walk(body if body is not None else document)
    reader.flush()
    meta: dict[str, Any] = {"kind": "document", "format": "html"}
    description = document.xpath("string(//meta[@name='description']/@content)")
    if isinstance(description, str) and description.strip():
        meta["description"] = clean_line(description)
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title or PurePosixPath(source).stem,
        language=language or language_from_path(source),
        url=None,
        meta=meta,
    )
