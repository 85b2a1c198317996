"""PDF (``.pdf``) via pypdf: text per page, paragraphs by blank lines or by short sentence-final lines."""

from __future__ import annotations

import io
from pathlib import PurePosixPath
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

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

# A line this much shorter than the page's longest line, ending a sentence, closes a paragraph.
_SHORT_LINE_RATIO = 0.75
_SENTENCE_END = tuple(".:!?")
_ANY_PUNCTUATION = tuple(".,:;!?")
# pypdf looks for %%EOF near the end; a file cut short loses it.
_EOF_WINDOW = 2048
_MAX_TITLE_CHARS = 200


def _paragraphs(page_text: str) -> list[str]:
    """Split one page's extracted text into paragraphs, rejoining lines wrapped by the layout."""
    lines = [clean_line(line) for line in page_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    longest = max((len(line) for line in lines), default=0)
    paragraphs: list[str] = []
    current = ""
    for index, line in enumerate(lines):
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        if not current:
            current = line
        elif current.endswith("-") and line[:1].islower():
            current += line  # keep the hyphen: Finnish compounds ("hallinto-oikeus") break at their own hyphen
        else:
            current += " " + line
        following = lines[index + 1] if index + 1 < len(lines) else ""
        short = len(line) < _SHORT_LINE_RATIO * longest
        ends_paragraph = short and line.endswith(_SENTENCE_END)
        # A short unpunctuated line followed by a capitalised one is a heading.
        is_heading = short and not line.endswith(_ANY_PUNCTUATION) and following[:1].isupper()
        if ends_paragraph or is_heading:
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def load_pdf(data: bytes, source: str) -> LoadedDocument:
    """Load a PDF's text layer.

    Args:
        data: the file's bytes.
        source: the path relative to the ingested folder.

    Raises:
        LoaderError: the file is not a PDF, is truncated, corrupt or encrypted, or has no extractable text
            (e.g. a scan without OCR).
    """
    if b"%PDF-" not in data[:1024]:
        raise LoaderError("not a PDF file (no %PDF- header)")
    if b"%%EOF" not in data[-_EOF_WINDOW:]:
        raise LoaderError("truncated or corrupt PDF (no %%EOF marker at the end of the file)")
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoaderError("encrypted PDF that needs a password")
        pages = [page.extract_text() or "" for page in reader.pages]
        info = reader.metadata
        catalog_language = reader.root_object.get("/Lang")
    except PyPdfError as exc:
        raise LoaderError(f"corrupt PDF ({exc})") from exc
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, OSError, RecursionError) as exc:
        # pypdf raises plain Python errors on many kinds of damaged structure.
        raise LoaderError(f"corrupt PDF ({type(exc).__name__}: {exc})") from exc

    builder = TextBuilder()
    page_ranges: list[tuple[int, int]] = []
    for page_text in pages:
        first = builder.paragraph_count
        for paragraph in _paragraphs(page_text):
            builder.paragraph(paragraph)
        page_ranges.append((first, builder.paragraph_count))
    if builder.paragraph_count == 0:
        raise LoaderError("PDF without extractable text (a scanned image? run OCR first)")

    # Where each page's text lies in the document text, so that a passage can be cited by page.
    page_offsets = [builder.span(first, last) if last > first else None for first, last in page_ranges]
    first_line = builder.build()[0].split("\n", 1)[0]
    metadata_title = clean_line(str(info.title)) if info is not None and info.title else ""
    title = metadata_title or first_line[:_MAX_TITLE_CHARS] or PurePosixPath(source).stem
    meta: dict[str, Any] = {"kind": "document", "format": "pdf", "pages": len(pages), "page_offsets": page_offsets}
    if info is not None and info.author:
        meta["author"] = clean_line(str(info.author))
    return finish(
        builder,
        source=source,
        document_id=document_id_for(source),
        title=title,
        language=normalise_language(str(catalog_language) if catalog_language else None) or language_from_path(source),
        url=None,
        meta=meta,
    )
