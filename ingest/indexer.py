"""Incremental, atomic ingestion.

1. Find the files under each folder and hash each one (with the chunking settings and loader version).
2. Compare with the served index: unchanged documents keep their passages and vectors (nothing re-embedded),
   changed and new ones are loaded, chunked and embedded, removed ones are left out. A file that fails to load
   is reported and skipped; if it was indexed before, its old passages stay (nothing is lost).
3. With any change, write every passage into a new collection and move the alias only when it is complete.
   Any failure drops the new collection and leaves the served index exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from haystack import Document
from qdrant_client import QdrantClient

from ingest.chunking import StructuredChunker
from ingest.document import LoadedDocument
from ingest.loaders import SUPPORTED_SUFFIXES, load_file
from kb.config import ChunkingSettings, Settings
from kb.errors import IngestError, KbError, LoaderError
from kb.models.encoders import TokenCounter, model_dimension, require_model
from kb.pipelines import build_indexing_pipeline
from kb.search.store import IndexCatalog, SharedClientDocumentStore
from kb.text.language import LanguageDetector

log = logging.getLogger(__name__)

# Bump when loaders or chunking change in a way that alters passages, so every document is redone.
PIPELINE_VERSION = "5"
# Haystack stores a document as {"id", "content", "meta": {...}}; these are the meta fields we compare.
PAYLOAD_FIELDS = ["meta.document_id", "meta.doc_hash", "meta.source_path"]
# Larger files are reported and skipped before they are read: our largest official source is about 300 kB, so a
# file of many megabytes is a mistake (a dump, a scan, a wrong file) that would hold up the whole ingest.
MAX_FILE_BYTES = ChunkingSettings.model_fields["max_file_bytes"].default  # the default of KB_CHUNKING__MAX_FILE_BYTES


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
class IngestReport:
    """What an ingest did."""

    files: int = 0
    documents_unchanged: int = 0
    documents_embedded: int = 0
    documents_removed: int = 0
    passages: int = 0
    passages_embedded: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False
    collection: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            **self.__dict__,
            "failures": [{"file": f, "error": e} for f, e in self.failures],
            "notices": [{"file": f, "notice": n} for f, n in self.notices],
        }


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


def discover(paths: Iterable[Path]) -> list[SourceFile]:
    """Supported files under ``paths`` (files given directly count relative to their folder)."""
    found: dict[str, SourceFile] = {}
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            candidates, root = [path], path.parent
        elif path.is_dir():
            candidates, root = sorted(p for p in path.rglob("*") if p.is_file()), path
        else:
            raise IngestError(f"{path} does not exist")
        for file in candidates:
            relative = file.relative_to(root).parts
            if any(part.startswith(".") for part in relative) or file.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            item = SourceFile(file, root)
            found.setdefault(item.key, item)
    return list(found.values())


def settings_fingerprint(settings: Settings) -> str:
    """Fingerprint what, besides a file's bytes, decides its passages and vectors."""
    chunking = settings.chunking.model_dump(exclude={"max_file_bytes"})  # decides which files, not their passages
    parts = {"version": PIPELINE_VERSION, "chunking": chunking, "model": str(settings.model_dir)}
    return json.dumps(parts, sort_keys=True)


def file_hash(file: SourceFile, fingerprint: str) -> str:
    """Content hash of one file under the current settings."""
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(file.path.relative_to(file.root).as_posix().encode())
    digest.update(file.path.read_bytes())
    return digest.hexdigest()


def passage_documents(
    loaded: LoadedDocument, chunker: StructuredChunker, doc_hash: str, source_path: str, language: str
) -> list[Document]:
    """Haystack documents for the passages of one loaded document."""
    documents = []
    for index, chunk in enumerate(chunker.split(loaded)):
        section = chunk.section
        meta = {
            **{k: v for k, v in loaded.meta.items() if isinstance(v, str | int | float | bool)},
            "document_id": loaded.document_id,
            "title": loaded.title,
            "section": section.title if section else None,
            "section_key": section.key if section else None,
            "language": language,
            "url": loaded.url,
            "source": loaded.source,
            "start": chunk.start,
            "end": chunk.end,
            "passage_index": index,
            "doc_hash": doc_hash,
            "source_path": source_path,
        }
        identity = f"{loaded.document_id}|{chunk.start}|{chunk.end}|{doc_hash}"
        passage_id = hashlib.sha256(identity.encode()).hexdigest()[:32]
        documents.append(Document(id=passage_id, content=chunk.text, meta=meta))
    return documents


class Indexer:
    """Runs ingests against one Qdrant client."""

    def __init__(
        self, settings: Settings, client: QdrantClient, *, progress: bool = False, max_file_bytes: int | None = None
    ) -> None:
        self.settings = settings
        self.client = client
        self.dimension = model_dimension(settings)
        self.catalog = IndexCatalog(client, settings.qdrant.collection, self.dimension)
        self.progress = progress
        self.max_file_bytes = max_file_bytes or settings.chunking.max_file_bytes
        self._detector: LanguageDetector | None = None

    def _language(self, loaded: LoadedDocument) -> str:
        if loaded.language in ("fi", "sv", "en"):
            return loaded.language
        if self._detector is None:
            self._detector = LanguageDetector()
        return self._detector.detect_supported(loaded.text[:2000])

    def ingest(self, paths: Iterable[Path], *, fail_after_write: Callable[[], None] | None = None) -> IngestReport:
        """Bring the served index in line with the files under ``paths``.

        Args:
            paths: files and folders to index; the index afterwards holds exactly their documents.
            fail_after_write: test hook called after the new collection is written, before the swap.

        Raises:
            IngestError: nothing was changed in the served index.
        """
        began = time.perf_counter()
        report = IngestReport()
        files = discover(paths)
        report.files = len(files)
        fingerprint = settings_fingerprint(self.settings)
        served = self.catalog.served()

        indexed: dict[str, dict[str, Any]] = {}
        if served:
            for _point_id, payload in self.catalog.payloads(served, PAYLOAD_FIELDS):
                meta = payload.get("meta") or {}
                indexed.setdefault(str(meta.get("source_path")), meta)

        hashes: dict[str, str] = {}
        to_load: list[SourceFile] = []
        keep_paths: set[str] = set()
        for file in files:
            try:
                size = file.path.stat().st_size
                if size > self.max_file_bytes:
                    log.warning("skipped %s: %d bytes is over the limit", file.path, size)
                    report.failures.append((str(file.path), f"too large to index: {size:,} bytes, the limit is "
                                            f"{self.max_file_bytes:,}; split the file or leave it out"))
                    keep_paths.add(file.key)  # a document indexed before keeps its passages
                    continue
                hashes[file.key] = file_hash(file, fingerprint)
            except OSError as exc:
                report.failures.append((str(file.path), f"cannot read: {exc.strerror}"))
                keep_paths.add(file.key)
                continue
            previous = indexed.get(file.key)
            if previous and previous.get("doc_hash") == hashes[file.key]:
                keep_paths.add(file.key)
                report.documents_unchanged += 1
            else:
                to_load.append(file)

        new_passages: list[Document] = []
        chunker = self._chunker()
        for file in to_load:
            try:
                loaded, dropped_url = safe_url(load_file(file.path, file.root))
                if dropped_url:
                    report.notices.append((str(file.path), dropped_url))
                passages = passage_documents(loaded, chunker, hashes[file.key], file.key, self._language(loaded))
                if not passages:
                    raise LoaderError("no text to index")
            except LoaderError as exc:
                log.warning("skipped %s: %s", file.path, exc)
                report.failures.append((str(file.path), str(exc)))
                if file.key in indexed:
                    keep_paths.add(file.key)  # keep what we had rather than lose it
                continue
            except Exception as exc:  # a loader bug must not sink the whole ingest
                log.exception("loader failed on %s", file.path)
                report.failures.append((str(file.path), f"unexpected error: {exc}"))
                if file.key in indexed:
                    keep_paths.add(file.key)
                continue
            if "encoding" in loaded.meta:
                notice = f"not UTF-8: read as {loaded.meta['encoding']}; save it as UTF-8"
                report.notices.append((str(file.path), notice))
            new_passages.extend(passages)
            report.documents_embedded += 1

        removed = [p for p in indexed if p not in keep_paths and p not in {f.key for f in to_load}]
        replaced = [f.key for f in to_load if f.key in indexed and f.key not in keep_paths]
        report.documents_removed = len(removed)
        report.changed = bool(new_passages or removed or replaced) or served is None
        if not report.changed:
            report.collection = served
            report.passages = self.client.count(served).count if served else 0
            report.seconds = time.perf_counter() - began
            return report

        reused = self._reused_passages(served, keep_paths) if served else []
        report.passages = len(reused) + len(new_passages)
        report.passages_embedded = len(new_passages)
        if report.passages == 0:
            raise IngestError("nothing to index: no readable documents were found")

        report.collection = self._write_generation(new_passages, reused, fail_after_write)
        report.seconds = time.perf_counter() - began
        return report

    def index_documents(self, documents: list[LoadedDocument]) -> IngestReport:
        """Index already-loaded documents as a whole new generation (evaluation corpora, not files)."""
        began = time.perf_counter()
        report = IngestReport(files=len(documents), changed=True)
        chunker = self._chunker()
        passages: list[Document] = []
        for loaded in documents:
            digest = hashlib.sha256(loaded.text.encode()).hexdigest()
            passages.extend(passage_documents(loaded, chunker, digest, loaded.document_id, self._language(loaded)))
        report.documents_embedded = len(documents)
        report.passages = report.passages_embedded = len(passages)
        report.collection = self._write_generation(passages, [], None)
        report.seconds = time.perf_counter() - began
        return report

    def _chunker(self) -> StructuredChunker:
        chunking = self.settings.chunking
        return StructuredChunker(
            TokenCounter(require_model(self.settings)),
            min_words=chunking.min_words,
            max_words=chunking.max_words,
            max_tokens=chunking.max_tokens,
            overlap_sentences=chunking.overlap_sentences,
        )

    def _write_generation(
        self, new_passages: list[Document], reused: list[Document], fail_after_write: Callable[[], None] | None
    ) -> str:
        """Write all passages into a new collection and move the alias to it; on any failure drop it."""
        expected = len(new_passages) + len(reused)
        target = self.catalog.create()
        try:
            store = SharedClientDocumentStore(self.client, target, self.dimension)
            pipeline = build_indexing_pipeline(self.settings, store, progress_bar=self.progress)
            pipeline.run({"embedder": {"documents": new_passages}, "joiner": {"documents": reused}})
            written = self.client.count(target).count
            if written != expected:
                raise IngestError(f"wrote {written} passages but expected {expected}")
            if fail_after_write is not None:
                fail_after_write()
            self.catalog.swap(target)
        except BaseException as exc:
            self.catalog.drop(target)
            if isinstance(exc, KbError | KeyboardInterrupt):
                raise
            raise IngestError(f"ingest failed, the served index is unchanged: {exc}") from exc
        return target

    def _reused_passages(self, served: str, keep_paths: set[str]) -> list[Document]:
        """Passages (with their dense vectors) of the documents that did not change."""
        store = SharedClientDocumentStore(self.client, served, self.dimension)
        reused: list[Document] = []
        if not keep_paths:
            return reused
        for document in store.filter_documents(
            filters={"field": "meta.source_path", "operator": "in", "value": sorted(keep_paths)}
        ):
            reused.append(document)
        missing = [d.id for d in reused if d.embedding is None]
        if missing:
            raise IngestError(f"{len(missing)} stored passages have no vector; run a full re-ingest")
        return reused
