"""What an ingest works on: the files found under the given paths, their hashes, and the report of what it did."""

from __future__ import annotations

import hashlib
import os
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ingest.document import LoadedDocument
from ingest.loaders import SUPPORTED_SUFFIXES
from kb.errors import IngestError


@dataclass(frozen=True)
class SourceFile:
    """A file found under an ingested folder."""

    path: Path
    root: Path

    @property
    def key(self) -> str:
        """The file's resolved path, as the manifest knows it."""
        return str(self.path.resolve())


@dataclass
class Found:
    """The supported files under some paths, and the files there that were left out, each with the reason."""

    files: list[SourceFile]
    skipped: list[tuple[str, str]]
    scope: list[str]  # the resolved paths themselves: what "under these paths" means

    def covers(self, key: str) -> bool:
        """Tell whether an indexed file (its resolved path) lies under one of the paths."""
        return any(key == s or key.startswith(s.rstrip(os.sep) + os.sep) for s in self.scope)


@dataclass
class IngestReport:
    """What an ingest did.

    ``documents_added`` and ``documents_changed`` were embedded (``documents_embedded`` is their sum);
    ``documents_kept`` were outside the ingested paths, or gone from them without ``prune``, and stay as they were.
    """

    files: int = 0
    documents_added: int = 0
    documents_changed: int = 0
    documents_unchanged: int = 0
    documents_embedded: int = 0
    documents_kept: int = 0
    documents_removed: int = 0
    passages: int = 0
    passages_embedded: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False
    collection: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            **self.__dict__,
            "failures": [{"file": f, "error": e} for f, e in self.failures],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "notices": [{"file": f, "notice": n} for f, n in self.notices],
        }

    def summary(self) -> str:
        """One line for people: what was added, changed, kept and removed."""
        state = "updated" if self.changed else "unchanged"
        return (
            f"index {state}: {self.files} files under the given paths: {self.documents_added} added, "
            f"{self.documents_changed} changed, {self.documents_unchanged} unchanged; "
            f"{self.documents_kept} other documents kept, {self.documents_removed} removed; "
            f"{len(self.failures)} failed, {len(self.skipped)} skipped; "
            f"{self.passages} passages ({self.passages_embedded} embedded) in {self.seconds:.1f} s"
        )


def discover(paths: Iterable[Path]) -> Found:
    """Find the supported files under ``paths`` (files given directly count relative to their folder).

    Files of a format no loader reads are listed as skipped, with the reason; hidden files and folders (a name
    starting with a dot) are passed over without a word.

    Raises:
        IngestError: a path does not exist.
    """
    found: dict[str, SourceFile] = {}
    skipped: list[tuple[str, str]] = []
    scope: list[str] = []
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            candidates, root = [path], path.parent
        elif path.is_dir():
            candidates, root = sorted(p for p in path.rglob("*") if p.is_file()), path
        else:
            raise IngestError(f"{path} does not exist")
        scope.append(str(path.resolve()))
        for file in candidates:
            if any(part.startswith(".") for part in file.relative_to(root).parts):
                continue
            if file.suffix.lower() not in SUPPORTED_SUFFIXES:
                skipped.append((str(file), f"not a format Majakka reads ({file.suffix or 'no suffix'}); "
                                           f"supported: {supported}"))
                continue
            item = SourceFile(file, root)
            found.setdefault(item.key, item)
    return Found(list(found.values()), skipped, scope)


def file_hash(file: SourceFile, fingerprint: str) -> str:
    """Content hash of one file under the current settings."""
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(file.path.relative_to(file.root).as_posix().encode())
    digest.update(file.path.read_bytes())
    return digest.hexdigest()


# The addresses a citation may link to; others (javascript:, data:, file:) would run or open something on click.
URL_SCHEMES = ("http", "https")


def safe_url(loaded: LoadedDocument) -> tuple[LoadedDocument, str | None]:
    """Keep a document's ``url`` only if it is an http(s) address; else drop it and return the notice."""
    url = loaded.url
    if url is None:
        return loaded, None
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme.lower() in URL_SCHEMES and parts.netloc and not any(c.isspace() or ord(c) < 32 for c in url):
        return loaded, None
    shown = url if len(url) <= 60 else url[:60] + "…"
    return replace(loaded, url=None), f"url {shown!r} dropped: only http:// and https:// addresses are kept"
