"""Incremental, atomic ingestion.

1. Find the files under each path and hash each one (with the chunking settings and loader version); files of
   formats no loader reads are listed as skipped.
2. Compare with the served index: unchanged documents keep their passages and vectors (nothing re-embedded),
   changed and new ones are loaded, chunked and embedded. Documents outside the paths are kept as they are, and
   so are those under the paths whose files are gone, unless ``prune`` asks to remove them (``remove`` takes
   documents out by path or id). A file that fails to load is reported and skipped; if it was indexed before,
   its old passages stay (nothing is lost).
3. With any change, write every passage into a new collection and move the alias only when it is complete.
   Any failure drops the new collection and leaves the served index exactly as it was.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qdrant_client import QdrantClient

from ingest.chunking import StructuredChunker
from ingest.document import LoadedDocument
from ingest.files import IngestReport, SourceFile, discover, file_hash, safe_url
from ingest.loaders import load_file
from kb.config import ChunkingSettings, Settings
from kb.errors import IngestError, KbError, LoaderError
from kb.models.encoders import TokenCounter, model_dimension, passage_precision, require_model
from kb.search.store import IndexCatalog
from kb.text.language import LanguageDetector

if TYPE_CHECKING:
    from haystack import Document

log = logging.getLogger(__name__)

# Bump when loaders or chunking change in a way that alters passages, so every document is redone.
PIPELINE_VERSION = "5"
# Haystack stores a document as {"id", "content", "meta": {...}}; these are the meta fields we compare.
PAYLOAD_FIELDS = ["meta.document_id", "meta.doc_hash", "meta.source_path"]
# Larger files are reported and skipped before they are read: our largest official source is about 300 kB, so a
# file of many megabytes is a mistake (a dump, a scan, a wrong file) that would hold up the whole ingest.
MAX_FILE_BYTES = ChunkingSettings.model_fields["max_file_bytes"].default  # the default of KB_CHUNKING__MAX_FILE_BYTES


def settings_fingerprint(settings: Settings) -> str:
    """Fingerprint what, besides a file's bytes, decides its passages and vectors."""
    chunking = settings.chunking.model_dump(exclude={"max_file_bytes"})  # decides which files, not their passages
    parts = {"version": PIPELINE_VERSION, "chunking": chunking, "model": str(settings.model_dir),
             "passage_precision": passage_precision(settings)}
    return json.dumps(parts, sort_keys=True)


def passage_documents(
    loaded: LoadedDocument, chunker: StructuredChunker, doc_hash: str, source_path: str, language: str
) -> list[Document]:
    """Haystack documents for the passages of one loaded document."""
    from haystack import Document  # Haystack (and torch with it) only when something is to be indexed

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

    def ingest(
        self, paths: Iterable[Path], *, prune: bool = False, fail_after_write: Callable[[], None] | None = None
    ) -> IngestReport:
        """Add and update the documents under ``paths``; keep every other document of the served index.

        Args:
            paths: files and folders to index.
            prune: also remove the indexed documents under ``paths`` whose files are gone (without it they stay).
            fail_after_write: test hook called after the new collection is written, before the swap.

        Raises:
            IngestError: nothing was changed in the served index.
        """
        began = time.perf_counter()
        report = IngestReport()
        found = discover(paths)
        files = found.files
        report.files = len(files)
        report.skipped = found.skipped
        fingerprint = settings_fingerprint(self.settings)
        served = self.catalog.served()
        indexed = self._indexed(served)

        present = {f.key for f in files}
        keep_paths = {k for k in indexed if not found.covers(k) or (k not in present and not prune)}
        # The kept documents by id: one loaded again from another file (a folder moved or copied) is replaced.
        kept_by_id: dict[str, set[str]] = {}
        for key in keep_paths:
            kept_by_id.setdefault(str(indexed[key].get("document_id")), set()).add(key)
        report.documents_kept = len(keep_paths)
        hashes: dict[str, str] = {}
        to_load: list[SourceFile] = []
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
        replaced_elsewhere: set[str] = set()
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
            moved = kept_by_id.pop(loaded.document_id, set())
            keep_paths -= moved
            replaced_elsewhere |= moved
            report.documents_kept -= len(moved)
            if file.key in indexed or moved:
                report.documents_changed += 1
            else:
                report.documents_added += 1

        removed = [p for p in indexed if p not in keep_paths and p not in present and p not in replaced_elsewhere]
        replaced = [f.key for f in to_load if f.key in indexed and f.key not in keep_paths]
        report.documents_removed = len(removed)
        report.changed = bool(new_passages or removed or replaced or replaced_elsewhere) or served is None
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

    def remove(self, targets: list[str]) -> IngestReport:
        """Remove from the served index the documents under each target path, or with that document id.

        Raises:
            IngestError: a target matches nothing, or nothing would be left to serve; the index is unchanged.
        """
        began = time.perf_counter()
        served = self.catalog.served()
        indexed = self._indexed(served)
        matched: set[str] = set()
        unmatched = []
        for target in targets:
            scope = str(Path(target).resolve())
            under = scope.rstrip(os.sep) + os.sep
            hits = {k for k, meta in indexed.items()
                    if k == scope or k.startswith(under) or meta.get("document_id") == target}
            if not hits:
                unmatched.append(target)
            matched |= hits
        if unmatched:
            raise IngestError(f"not in the index: {', '.join(unmatched)} (give a file or folder that was ingested, "
                              "or a document id as `kb search` shows it)")
        keep = set(indexed) - matched
        if not keep or served is None:
            raise IngestError("that would leave nothing to serve; ingest other documents first")
        reused = self._reused_passages(served, keep)
        report = IngestReport(documents_kept=len(keep), documents_removed=len(matched), changed=True,
                              passages=len(reused))
        report.collection = self._write_generation([], reused, None)
        report.seconds = time.perf_counter() - began
        return report

    def _indexed(self, served: str | None) -> dict[str, dict[str, Any]]:
        """Return the served documents by source file (resolved path): the first passage's meta of each."""
        indexed: dict[str, dict[str, Any]] = {}
        if served:
            for _point_id, payload in self.catalog.payloads(served, PAYLOAD_FIELDS):
                meta = payload.get("meta") or {}
                indexed.setdefault(str(meta.get("source_path")), meta)
        return indexed

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
        from kb.pipelines import build_indexing_pipeline
        from kb.search.documents import SharedClientDocumentStore

        expected = len(new_passages) + len(reused)
        target = self.catalog.create()
        try:
            store = SharedClientDocumentStore(self.client, target, self.dimension)
            pipeline = build_indexing_pipeline(self.settings, store, progress_bar=self.progress)
            pipeline.run({"sparse": {"documents": [*new_passages, *reused]}})
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
        from kb.search.documents import SharedClientDocumentStore

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
