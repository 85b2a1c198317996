"""Markdown (``.md``, ``.markdown``), e.g. Majakka's guides: YAML front matter, ``## Heading {#key}`` sections."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

import frontmatter
import yaml
from lxml import html as lxml_html
from markdown_it import MarkdownIt
from markdown_it.token import Token

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

_ANCHOR = re.compile(r"\s*\{#(?P<key>[^}\s]+)\}\s*$")
_SECTION_LEVELS = frozenset({"h1", "h2", "h3"})
_BULLET = "•"
# Front-matter fields that become top-level document attributes rather than meta entries.
_DOCUMENT_FIELDS = frozenset({"id", "title", "language", "url"})


def _inline_text(token: Token) -> str:
    """Render an inline token as plain text: emphasis and link syntax dropped, link and image text kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak" or (child.type == "html_inline" and child.content.lower().startswith("<br")):
            parts.append("\n")
        elif child.type == "image":
            parts.append(_inline_text(child))
    return "".join(parts)


def _html_text(markup: str) -> str:
    """Return the visible text of a raw HTML block (comments give nothing)."""
    if not markup.strip() or markup.lstrip().startswith("<!--"):
        return ""
    try:
        return str(lxml_html.fragment_fromstring(markup, create_parent="div").text_content())
    except (ValueError, TypeError):
        return ""


class _MarkdownReader:
    """Turn markdown-it block tokens into paragraphs and sections."""

    def __init__(self, builder: TextBuilder) -> None:
        self.builder = builder
        self.list_lines: list[str] = []
        self.items: list[list[str]] = []  # text collected for each open list item, innermost last
        self.markers: list[str] = []
        self.row: list[str] = []
        self.table_lines: list[str] = []
        self.in_table = False
        self.heading_level: str | None = None

    def read(self, tokens: list[Token]) -> None:
        """Consume all tokens of the document body."""
        for token in tokens:
            handler = getattr(self, f"_on_{token.type}", None)
            if handler is not None:
                handler(token)

    def _text(self, text: str) -> None:
        """Route block text to the open list item, the table row or a new paragraph."""
        if self.items:
            self.items[-1].append(text)
        elif self.in_table:
            self.row.append(clean_line(text))
        else:
            self.builder.paragraph(text)

    def _on_heading_open(self, token: Token) -> None:
        self.heading_level = token.tag

    def _on_heading_close(self, token: Token) -> None:
        self.heading_level = None

    def _on_inline(self, token: Token) -> None:
        text = _inline_text(token)
        if self.heading_level is None:
            self._text(text)
            return
        match = _ANCHOR.search(text)
        key = match["key"] if match else None
        title = _ANCHOR.sub("", text)
        if self.heading_level in _SECTION_LEVELS:
            self.builder.heading(title, key)
        else:
            self.builder.paragraph(title)

    def _on_bullet_list_open(self, token: Token) -> None:
        self.markers.append(_BULLET)

    def _on_ordered_list_open(self, token: Token) -> None:
        self.markers.append("")

    def _on_list_item_open(self, token: Token) -> None:
        self._emit_item()  # a parent item's own text comes before its nested items
        marker = self.markers[-1] if self.markers else _BULLET
        self.items.append([marker if marker else f"{token.info}{token.markup}"])

    def _on_list_item_close(self, token: Token) -> None:
        self._emit_item()
        self.items.pop()

    def _emit_item(self) -> None:
        if self.items and len(self.items[-1]) > 1:
            marker, *texts = self.items[-1]
            self.list_lines.append(f"{marker} {' '.join(clean_line(t) for t in texts)}")
            self.items[-1] = [marker]

    def _close_list(self) -> None:
        self.markers.pop()
        if not self.markers and self.list_lines:
            lines, self.list_lines = self.list_lines, []
            self._text("\n".join(lines))

    def _on_bullet_list_close(self, token: Token) -> None:
        self._close_list()

    def _on_ordered_list_close(self, token: Token) -> None:
        self._close_list()

    def _on_fence(self, token: Token) -> None:
        self._text(token.content)

    def _on_code_block(self, token: Token) -> None:
        self._text(token.content)

    def _on_html_block(self, token: Token) -> None:
        text = _html_text(token.content)
        if text.strip():
            self._text(text)

    def _on_table_open(self, token: Token) -> None:
        self.in_table = True

    def _on_tr_close(self, token: Token) -> None:
        if any(self.row):
            self.table_lines.append(" | ".join(self.row))
        self.row = []

    def _on_table_close(self, token: Token) -> None:
        self.in_table = False
        lines, self.table_lines = self.table_lines, []
        self._text("\n".join(lines))


def load_markdown(text: str, source: str) -> LoadedDocument:
    """Load a Markdown file with optional YAML front matter.

    Args:
        text: the decoded file content.
        source: the path relative to the ingested folder.

    Raises:
        LoaderError: the front matter is not valid YAML, or there is no text besides the title.
    """
    try:
        post = frontmatter.loads(text)
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        raise LoaderError(f"invalid YAML front matter ({exc})") from exc
    fields: dict[str, Any] = dict(post.metadata)
    tokens = MarkdownIt("commonmark").enable(["table", "strikethrough"]).parse(post.content)

    first_heading = next(
        (i for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"), None
    )
    starts_with_h1 = bool(tokens) and tokens[0].type == "heading_open" and tokens[0].tag == "h1"
    h1_title = _ANCHOR.sub("", _inline_text(tokens[first_heading + 1])) if first_heading is not None else ""
    title = clean_line(str(fields.get("title") or "")) or clean_line(h1_title) or PurePosixPath(source).stem

    builder = TextBuilder()
    if not starts_with_h1:
        # The lead text before the first heading is a section titled by the document, with the title as heading.
        builder.heading(title, None)
    _MarkdownReader(builder).read(tokens)
    if builder.paragraph_count <= 1:
        raise LoaderError("no text besides the title (empty Markdown body)")

    raw_id = fields.get("id")
    document_id = clean_line(str(raw_id)) if raw_id not in (None, "") else document_id_for(source)
    language = normalise_language(fields.get("language")) or language_from_path(source)
    url = fields.get("url")
    is_guide = "group" in fields or "guides" in PurePosixPath(source).parts[:-1]
    meta: dict[str, Any] = {"kind": "guide" if is_guide else "document", "format": "markdown"}
    meta.update({key: value for key, value in fields.items() if key not in _DOCUMENT_FIELDS})
    return finish(
        builder,
        source=source,
        document_id=document_id,
        title=title,
        language=language,
        url=str(url) if url else None,
        meta=meta,
    )
