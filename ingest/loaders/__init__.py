"""Document loaders: one file in, one LoadedDocument (plain text, sections, metadata) out.

load_file(path, root) dispatches on the suffix:
.md .markdown   markdown.load_markdown        guides with YAML front matter and {#key} anchors
.txt            finlex_text / plain_text      consolidated statutes, court decisions, press releases, other text
.xml            finlex_xml.load_finlex_xml    Finlex statute XML
.html .htm      html_page.load_html
.pdf            pdf_file.load_pdf
.docx           docx_file.load_docx
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path, PurePosixPath

from ingest.document import LoadedDocument
from ingest.loaders.docx_file import load_docx
from ingest.loaders.finlex_text import load_case_law, load_consolidated
from ingest.loaders.finlex_xml import load_finlex_xml
from ingest.loaders.html_page import load_html
from ingest.loaders.markdown import load_markdown
from ingest.loaders.pdf_file import load_pdf
from ingest.loaders.plain_text import load_plain_text
from ingest.loaders.textbuilder import decode_text, read_bytes
from kb.errors import LoaderError

__all__ = ["SUPPORTED_SUFFIXES", "load_file"]

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx", ".xml"})


def _relative_source(path: Path, root: Path) -> str:
    """Return ``path`` relative to ``root`` as a POSIX string; the file name alone when it lies outside."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            return path.name


def load_file(path: Path, root: Path) -> LoadedDocument:
    """Load one file as plain text with sections and metadata.

    Args:
        path: the file to load.
        root: the folder being ingested; ``source`` and the default ``document_id`` are relative to it.

    Returns:
        The document; its ``text`` is never empty. A text file not in UTF-8 has ``meta["encoding"]``.

    Raises:
        LoaderError: the format is not supported, or the file is empty, undecodable, corrupt or without text.
    """
    source = _relative_source(path, root)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
        raise LoaderError(f"unsupported file type {suffix or '(no suffix)'}; supported: {supported}")
    data = read_bytes(path)
    if suffix == ".xml":
        return load_finlex_xml(data, source)
    if suffix in (".html", ".htm"):
        return load_html(data, source)
    if suffix == ".pdf":
        return load_pdf(data, source)
    if suffix == ".docx":
        return load_docx(data, source)
    text, encoding = decode_text(data, allow_cp1252=True)
    name = PurePosixPath(source).name
    if suffix in (".md", ".markdown"):
        loaded = load_markdown(text, source)
    elif name.startswith("consolidated_"):
        loaded = load_consolidated(text, source)
    elif name.startswith("case-law_"):
        loaded = load_case_law(text, source)
    else:
        loaded = load_plain_text(text, source)
    # Read, but worth telling whoever maintains the file (ingest reports it as a notice).
    return loaded if encoding == "utf-8" else replace(loaded, meta={**loaded.meta, "encoding": encoding})
