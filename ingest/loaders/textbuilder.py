"""Shared pieces of every loader: decoding bytes, cleaning text, and assembling paragraphs into sections."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ingest.document import LoadedDocument, Section
from kb.errors import LoaderError
from kb.types import LANGUAGES

# Unicode spaces (no-break, thin, narrow no-break ...) become plain spaces so that "52 b §" written with a
# thin space (as in some Finlex files) matches "52 b §" typed by a person.
_SPACES = re.compile(r"[\t\v\f\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Invisible characters that only break words apart for search: soft hyphen, zero-width space/joiners, BOM.
_INVISIBLE = re.compile(r"[\u00ad\u200b\u200c\u200d\u2060\ufeff]")
_RUN_OF_SPACES = re.compile(r" {2,}")
# A cp1252 fallback is accepted only for text whose non-ASCII characters are the letters and punctuation of
# Western European prose; anything else (binary, another code page) is refused rather than turned into mojibake.
_CP1252_TEXT_CHARACTERS = frozenset(
    "äöåÄÖÅéÉèÈüÜßæÆøØñÑçÇáÁíÍóÓúÚàÀâÂêÊîÎôÔûÛëËïÏœŒšŠžŽ" "€–—‘’‚“”„…«»°§½¼¾±×·\u00a0"
)
_CP1252_MAX_NON_ASCII_SHARE = 0.4


def clean_line(text: str) -> str:
    """Return ``text`` as one tidy line: NFC, no control characters, single spaces, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return _RUN_OF_SPACES.sub(" ", text).strip()


def clean_paragraph(text: str) -> str:
    r"""Return ``text`` as one paragraph: each line cleaned, empty lines dropped, lines joined by "\n"."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n")
    lines = (clean_line(line) for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def decode_text(data: bytes, *, allow_cp1252: bool = False) -> tuple[str, str]:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, optionally Windows-1252.

    Args:
        data: the file's bytes.
        allow_cp1252: accept Windows-1252 when the bytes are not UTF-8 and the result looks like text.

    Returns:
        The text and the encoding it was read with (``utf-8``, ``utf-16`` or ``windows-1252``).

    Raises:
        LoaderError: the file is empty or cannot be decoded.
    """
    if not data.strip():
        raise LoaderError("the file is empty")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            raise LoaderError(f"not valid UTF-16 despite its byte-order mark ({exc.reason}); save as UTF-8") from exc
    if b"\x00" in data:
        # Valid UTF-8 as far as the decoder goes, but no text file has NUL bytes: it would index as "F e r r y".
        raise LoaderError("the file has NUL bytes: binary, or UTF-16 without a byte-order mark; save it as UTF-8")
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    if allow_cp1252:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            text = ""
        if text and _looks_like_text(text):
            return text, "windows-1252"
    bad = data[utf8_error.start : utf8_error.start + 1].hex()
    raise LoaderError(
        f"not valid UTF-8 (byte 0x{bad} at offset {utf8_error.start}) and not recognisable as another text "
        "encoding; save the file as UTF-8"
    ) from utf8_error


def _looks_like_text(text: str) -> bool:
    """Tell whether a cp1252 decoding is plausible Finnish, Swedish or English rather than forced binary."""
    non_ascii = [ch for ch in text if ord(ch) > 127]
    controls = [ch for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t"]
    return (
        not controls
        and all(ch in _CP1252_TEXT_CHARACTERS for ch in non_ascii)
        and len(non_ascii) <= _CP1252_MAX_NON_ASCII_SHARE * len(text)
    )


def read_bytes(path: Path) -> bytes:
    """Read a file, turning OS errors into LoaderError.

    Raises:
        LoaderError: the file cannot be read or is empty.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoaderError(f"the file cannot be read ({exc.strerror or exc})") from exc
    if not data.strip():
        raise LoaderError("the file is empty")
    return data


def language_from_path(source: str) -> str | None:
    """Guess the language from a folder named fi/sv/en or a ``.sv.txt``-style suffix; None if neither."""
    posix = PurePosixPath(source)
    suffixes = [s.lstrip(".").lower() for s in posix.suffixes]
    if len(suffixes) >= 2 and suffixes[-2] in LANGUAGES:
        return suffixes[-2]
    for part in reversed(posix.parts[:-1]):
        if part.lower() in LANGUAGES:
            return part.lower()
    return None


def normalise_language(value: object) -> str | None:
    """Turn "fi", "FI", "sv-FI" or "en_GB" into the primary subtag; None for anything empty or odd."""
    if not isinstance(value, str):
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


def document_id_for(source: str) -> str:
    """Return the default document id: the relative path without its last suffix."""
    posix = PurePosixPath(source)
    return str(posix.with_suffix("")) if posix.suffix else source


def json_safe(value: Any) -> Any:
    """Return ``value`` with dates turned into ISO strings, so that metadata can be stored as JSON."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


@dataclass
class _OpenSection:
    title: str | None
    key: str | None
    first: int


class TextBuilder:
    """Collect paragraphs and section boundaries, then produce the text and the Section offsets."""

    def __init__(self) -> None:
        """Start with no text."""
        self._paragraphs: list[str] = []
        self._spans: list[tuple[str | None, str | None, int, int]] = []
        self._open: _OpenSection | None = None

    @property
    def paragraph_count(self) -> int:
        """Number of paragraphs collected so far."""
        return len(self._paragraphs)

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Return the character offsets in the final text of paragraphs ``first`` up to (excluding) ``last``."""
        start = sum(len(p) + 2 for p in self._paragraphs[:first])
        end = start + sum(len(p) + 2 for p in self._paragraphs[first:last]) - 2
        return start, max(start, end)

    def paragraph(self, text: str) -> bool:
        """Add a paragraph (lines kept, cleaned); return False when it was empty and so dropped."""
        cleaned = clean_paragraph(text)
        if not cleaned:
            return False
        self._paragraphs.append(cleaned)
        return True

    def extend_last(self, line: str) -> None:
        """Add a line to the last paragraph (a list item, a continuation); a new paragraph if there is none."""
        cleaned = clean_paragraph(line)
        if not cleaned:
            return
        if self._paragraphs and (self._open is None or self._open.first < len(self._paragraphs)):
            self._paragraphs[-1] += "\n" + cleaned
        else:
            self._paragraphs.append(cleaned)

    def heading(self, title: str, key: str | None, line: str | None = None) -> None:
        """Close the current section and open a new one whose first paragraph is its heading line.

        Args:
            title: the section title; cleaned to one line.
            key: the section's anchor, or None.
            line: the heading paragraph when it differs from the title (e.g. several heading lines).
        """
        self.close_section()
        clean_title = clean_line(title)
        self._open = _OpenSection(clean_title or None, key, len(self._paragraphs))
        self.paragraph(line if line is not None else clean_title)

    def open_section(self, title: str | None, key: str | None) -> None:
        """Close the current section and open one that starts with the next paragraph (no heading added)."""
        self.close_section()
        self._open = _OpenSection(clean_line(title) if title else None, key, len(self._paragraphs))

    def close_section(self) -> None:
        """End the current section after the last paragraph; a section without paragraphs is dropped."""
        if self._open is not None and len(self._paragraphs) > self._open.first:
            self._spans.append((self._open.title, self._open.key, self._open.first, len(self._paragraphs)))
        self._open = None

    def build(self) -> tuple[str, list[Section]]:
        """Return the text (paragraphs joined by a blank line) and the sections with character offsets."""
        self.close_section()
        starts: list[int] = []
        offset = 0
        for paragraph in self._paragraphs:
            starts.append(offset)
            offset += len(paragraph) + 2
        sections = [
            Section(title=title, key=key, start=starts[first], end=starts[last - 1] + len(self._paragraphs[last - 1]))
            for title, key, first, last in self._spans
        ]
        return "\n\n".join(self._paragraphs), sections


def finish(
    builder: TextBuilder,
    *,
    source: str,
    document_id: str,
    title: str,
    language: str | None,
    url: str | None,
    meta: dict[str, Any],
) -> LoadedDocument:
    """Build the LoadedDocument, refusing one without text.

    Raises:
        LoaderError: no text was found in the file.
    """
    text, sections = builder.build()
    if not text:
        raise LoaderError("no text found in the file")
    sections = _unique_keys(sections)
    return LoadedDocument(
        document_id=document_id,
        title=clean_line(title) or document_id,
        language=language,
        url=url,
        source=source,
        text=text,
        sections=sections,
        meta=json_safe(meta),
    )


def _unique_keys(sections: list[Section]) -> list[Section]:
    """Make repeated keys unique ("142", "142-2") so that a key always names one section of the document."""
    seen: dict[str, int] = {}
    unique: list[Section] = []
    for section in sections:
        key = section.key
        if key is not None:
            seen[key] = seen.get(key, 0) + 1
            if seen[key] > 1:
                key = f"{key}-{seen[key]}"
        unique.append(replace(section, key=key) if key != section.key else section)
    return unique


def split_lines(text: str) -> list[str]:
    """Split a text into cleaned lines, whatever its line endings (a line of no-break spaces becomes a blank line)."""
    return [clean_line(line) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def line_blocks(lines: list[str]) -> list[list[str]]:
    """Group lines into blocks separated by blank lines."""
    blocks: list[list[str]] = [[]]
    for line in lines:
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [block for block in blocks if block]
