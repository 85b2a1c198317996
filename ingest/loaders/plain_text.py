"""Plain text (``.txt``): press releases and other documents; the first line is the title."""

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

_FINAL_PUNCTUATION = tuple(".,:;!?")
_MAX_HEADING_CHARS = 100
# A longer first line is prose, not a title; the file name stands in for the title then.
_MAX_TITLE_CHARS = 200


def _is_heading(line: str) -> bool:
    """Tell whether a line standing alone is a sub-heading: short, capitalised, no final punctuation."""
    return (
        0 < len(line) <= _MAX_HEADING_CHARS
        and not line.endswith(_FINAL_PUNCTUATION)
        and (line[:1].isupper() or line[:1].isdigit())
        and not re.match(r"^\d+\s*[a-z]?\)\s", line)
    )


def _blocks(text: str) -> list[list[str]]:
    """Split into paragraphs of lines; with no blank line at all, every line is its own paragraph."""
    blocks = line_blocks(split_lines(text))
    if len(blocks) == 1 and len(blocks[0]) > 1:
        return [[line] for line in blocks[0]]
    return blocks


def load_plain_text(text: str, source: str) -> LoadedDocument:
    """Load a plain text document: the first line is the title and the lead section's heading.

    Args:
        text: the decoded file content.
        source: the path relative to the ingested folder.
    """
    blocks = _blocks(text)
    parts = PurePosixPath(source).parts
    kind = "press-release" if "press-release" in parts[:-1] else "document"
    builder = TextBuilder()
    title = ""
    if blocks and len(blocks[0][0]) <= _MAX_TITLE_CHARS:
        first_block = blocks.pop(0)
        title = first_block[0]
        builder.heading(title, None)
        if len(first_block) > 1:
            builder.paragraph("\n".join(first_block[1:]))
    for index, block in enumerate(blocks):
        is_last = index == len(blocks) - 1
        if len(block) == 1 and _is_heading(block[0]) and not is_last:
            builder.heading(block[0], None)
        else:
            builder.paragraph("\n".join(block))
    meta: dict[str, Any] = {"kind": kind, "format": "text"}
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title or PurePosixPath(source).name.split(".")[0],
        language=language_from_path(source),
        url=None,
        meta=meta,
    )
