"""The knowledge base a server or command uses: one Qdrant client, the models and the query pipeline."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from kb.answer import NOTICE, AnswerComposer, rerank
from kb.batching import BatchingEncoder
from kb.cache import TTLCache, question_key
from kb.config import Settings
from kb.embedding import Encoder, build_query_encoder
from kb.errors import StoreError
from kb.glossary import Glossary
from kb.language import LANGUAGES, Analysers, LanguageDetector
from kb.pipelines import build_retrieval_pipeline
from kb.safety import DANGER_EXAMPLES, LAW_EXAMPLES, DangerDetector, HelpDesk
from kb.snapshot import SnapshotHolder
from kb.store import IndexCatalog, document_store, open_client
from kb.types import Answer, Citation, ParallelPassage, Passage


class KnowledgeBase:
    """Everything needed to search and answer, loaded once and closed explicitly."""

    def __init__(self, settings: Settings, *, encoder: Encoder | None = None) -> None:
        self.settings = settings
        cache = settings.cache
        self.embeddings: TTLCache[np.ndarray] = TTLCache(cache.size, cache.ttl)
        self.results: TTLCache[Any] = TTLCache(cache.size, cache.ttl)
        # The embedded engine is not thread-safe; the server serialises store access.
        self.lock = threading.RLock()
        self.reindex_lock = threading.Lock()
        # The question encoder and the language models load in worker threads (mostly native code, off the GIL)
        # while this thread opens the store and reads the index: start-up takes the longest of them, not the sum.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="majakka-load") as pool:
            built = pool.submit(build_query_encoder, settings) if encoder is None else None
            detector = pool.submit(LanguageDetector)
            analysers = pool.submit(Analysers)
            self.client = open_client(settings)
            try:
                self.catalog = IndexCatalog(self.client, settings.qdrant.collection)
                self.store = document_store(self.client, settings.qdrant.collection)
                memory = settings.retrieval_backend == "memory"
                self.snapshot = SnapshotHolder(self.client, settings.qdrant.collection) if memory else None
                if self.snapshot is not None:
                    self.snapshot.current()
                self.help_desk = HelpDesk()
                self.analysers = analysers.result()
                self.detector = detector.result()
                self.encoder = BatchingEncoder(
                    encoder or built.result(),  # type: ignore[union-attr]
                    max_batch=settings.embedding.query_batch,
                    # Two questions encoded at once run on both cores (onnxruntime sessions are thread-safe).
                    workers=settings.embedding.query_workers if settings.embedding.query_backend == "onnx" else 1,
                )
                self.retrieval = build_retrieval_pipeline(settings, self.store, self.analysers, self.snapshot)
                self.retrieval.warm_up()
                self.composer = AnswerComposer(self.analysers, glossary=Glossary(self.analysers))
                self.danger = DangerDetector(
                    self.encoder.encode_many(DANGER_EXAMPLES), self.encoder.encode_many(LAW_EXAMPLES)
                )
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Release the Qdrant client (the embedded folder can then be opened by another process)."""
        encoder: BatchingEncoder | None = getattr(self, "encoder", None)  # None when opening failed before it
        if encoder is not None:
            encoder.close()
        self.client.close()

    def generation(self) -> str | None:
        """Return the physical collection being served; cached results belong to one generation."""
        if self.snapshot is not None:
            current = self.snapshot.current()
            return current.collection if current else None
        return self.catalog.served()

    def reindex(self, paths: list[Path] | None = None) -> Any:
        """Ingest while serving: the new generation is built beside the served one, then swapped in at once.

        Queries keep being answered from the old generation until the swap; cached results are dropped after.
        Passages are embedded with torch on one core, so that questions asked meanwhile keep the other.
        """
        import torch

        from ingest.indexer import Indexer

        with self.reindex_lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                report = Indexer(self.settings, self.client).ingest(paths or list(self.settings.sources))
                if self.snapshot is not None:
                    self.snapshot.refresh()
            finally:
                torch.set_num_threads(threads)
            self.results.clear()
            return report

    def embed(self, question: str) -> np.ndarray:
        """Embed the question, once per distinct question while cached."""
        key = question_key(question)
        vector = self.embeddings.get(key)
        if vector is None:
            vector = self.encoder.encode(question)
            self.embeddings.put(key, vector)
        return vector

    async def embed_async(self, question: str) -> np.ndarray:
        """``embed`` for an event loop: no thread waits while the encoder works."""
        key = question_key(question)
        vector = self.embeddings.get(key)
        if vector is None:
            vector = await self.encoder.encode_async(question)
            self.embeddings.put(key, vector)
        return vector

    async def search_async(self, query: str, *, k: int | None = None, language: str | None = None) -> list[Passage]:
        """``search`` for an event loop (see ``ask_async``)."""
        embedding = await self.embed_async(query)
        if self.snapshot is not None:
            return self.search(query, k=k, language=language, embedding=embedding)
        return await asyncio.to_thread(self.search, query, k=k, language=language, embedding=embedding)

    async def ask_async(self, question: str, *, language: str | None = None, audience: str | None = None) -> Answer:
        """``ask`` for an event loop.

        The question is embedded by the batching encoder's thread while the loop serves other requests; the rest
        (about 2 ms of Python over the in-memory snapshot) runs on the loop itself, which saves two thread
        hand-overs a request. Over a Qdrant server, retrieval waits on the network, so it runs in a worker thread.
        """
        embedding = await self.embed_async(question)
        if self.snapshot is not None:
            return self.ask(question, language=language, audience=audience, embedding=embedding)
        return await asyncio.to_thread(self.ask, question, language=language, audience=audience, embedding=embedding)

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ready(self) -> bool:
        """Tell whether an index is being served."""
        return self.catalog.served() is not None

    def language_of(self, text: str, requested: str | None) -> str:
        """Return the requested language, else the detected one (fi, sv or en)."""
        if requested in LANGUAGES:
            return requested
        return self.detector.detect_supported(text)

    def retrieve(
        self,
        text: str,
        embedding: np.ndarray,
        *,
        language: str | None,
        top_k: int,
        language_filter: str | None = None,
        weights: list[float] | None = None,
    ) -> list[Document]:
        """Hybrid retrieval with an embedding already computed: the fused passages, best first.

        Each passage carries its fused score and, in ``meta["dense_score"]``, its own dense cosine.

        Raises:
            StoreError: no index is served, or the store failed.
        """
        filters = {"field": "meta.language", "operator": "==", "value": language_filter} if language_filter else None
        inputs: dict[str, dict[str, Any]] = {
            "dense": {"query_embedding": embedding, "filters": filters},
            "bm25": {"text": text, "language": language},
            "sparse": {"filters": filters},
            "fuser": {"top_k": top_k, "weights": weights},
        }
        try:
            if self.snapshot is not None:
                # One generation for both sides, even if a reindex swaps the alias meanwhile.
                snapshot = self.snapshot.current()
                if snapshot is None:
                    raise StoreError("no index is served yet; run `kb ingest`")
                inputs["dense"]["snapshot"] = inputs["sparse"]["snapshot"] = snapshot
                return snapshot.passages(self.retrieval.run(inputs)["fuser"]["ranking"])
            inputs["dense"]["query_embedding"] = embedding.tolist()
            with self.lock:  # the embedded engine is not thread-safe
                return list(self.retrieval.run(inputs)["fuser"]["documents"])
        except StoreError:
            raise
        except Exception as exc:
            if self._served() is None:
                raise StoreError("no index is served yet; run `kb ingest`") from exc
            raise StoreError(f"the vector store failed: {exc}") from exc

    def _served(self) -> str | None:
        try:
            with self.lock:
                return self.catalog.served()
        except Exception:  # the store itself is failing; the caller reports that
            return None

    def search(
        self, query: str, *, k: int | None = None, language: str | None = None, embedding: np.ndarray | None = None
    ) -> list[Passage]:
        """Find the best passages for ``query``.

        Optionally only in ``language``; ``embedding``: the query's, if known.
        """
        top_k = k or self.settings.retrieval.top_k
        key = question_key(query, "search", top_k, language, self.generation())
        cached = self.results.get(key)
        if cached is not None:
            return list(cached)
        query_language = self.language_of(query, language)
        embedding = self.embed(query) if embedding is None else embedding
        fused = self.retrieve(query, embedding, language=query_language, top_k=top_k, language_filter=language)
        passages = [Passage.from_document(d) for d in fused]
        self.results.put(key, tuple(passages))
        return passages

    def ask(
        self,
        question: str,
        *,
        language: str | None = None,
        audience: str | None = None,
        embedding: np.ndarray | None = None,
    ) -> Answer:
        """Answer with cited extracts; the help block first when the question suggests danger.

        ``embedding``: the question's, when already computed (the one embedding serves retrieval, sentence scoring
        and danger detection).
        """
        audience = audience or "public"
        key = question_key(question, "ask", language, audience, self.generation())
        cached = self.results.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        answer_language = self.language_of(question, language)
        embedding = self.embed(question) if embedding is None else embedding
        signal = self.danger.assess(question, embedding)
        fused = self.retrieve(question, embedding, language=answer_language, top_k=8)
        documents = rerank(fused, answer_language, audience)
        composition = self.composer.compose(question, embedding, documents, answer_language, audience)
        citations = [self._with_parallel(c, answer_language) for c in composition.citations]
        help_block = None
        if signal.urgent or composition.abstained:
            help_block = self.help_desk.block(answer_language, urgent=signal.urgent, audience=audience)
        text = composition.text
        if signal.urgent and composition.abstained:
            # Someone in danger reads the help first; "not in the material" would only be in the way.
            text = help_block.text if help_block else text
        answer = Answer(
            answer=text,
            language=answer_language,
            abstained=composition.abstained,
            urgent=signal.urgent,
            help=help_block,
            citations=citations,
            passages=[Passage.from_document(d) for d in documents[:5]],
            notice=NOTICE[answer_language],
            audience=audience,
            flags={
                "danger_lexicon": signal.lexicon,
                "danger_similarity": round(signal.similarity, 4),
                "evidence": round(composition.evidence, 4),
                "coverage": round(composition.coverage, 4),
            },
        )
        self.results.put(key, answer)
        return answer

    def help_only(self, question: str, *, language: str | None = None, audience: str | None = None) -> Answer:
        """Answer with the help block alone: a message in danger that gets no full answer (e.g. rate limited)."""
        answer_language = self.language_of(question, language)
        audience = audience or "public"
        help_block = self.help_desk.block(answer_language, urgent=True, audience=audience)
        return Answer(
            answer=help_block.text,
            language=answer_language,
            abstained=True,
            urgent=True,
            help=help_block,
            citations=[],
            passages=[],
            notice=NOTICE[answer_language],
            audience=audience,
            flags={"danger_lexicon": True, "help_only": True},
        )

    def _with_parallel(self, citation: Citation, language: str) -> Citation:
        """Attach the same guide passage in the answer's language, when the citation is in another one."""
        if citation.language == language:
            return citation
        twin = self._twin(citation.passage_id, language)
        if twin is None:
            return citation
        parallel = ParallelPassage(passage_id=twin.id, language=language, text=twin.content or "")
        return Citation(**{**citation.__dict__, "parallel": parallel})

    def _twin(self, passage_id: str, language: str) -> Document | None:
        """Find the same section of the same guide in ``language``: in the snapshot, else asked of the store."""
        if self.snapshot is not None:
            snapshot = self.snapshot.current()
            return snapshot.twin(passage_id, language) if snapshot else None
        try:
            return self._stored_twin(passage_id, language)
        except Exception as exc:
            raise StoreError(f"the vector store failed: {exc}") from exc

    def _stored_twin(self, passage_id: str, language: str) -> Document | None:
        with self.lock:
            stored = self.store.get_documents_by_id([passage_id])
            if not stored or not stored[0].meta.get("group"):
                return None
            meta = stored[0].meta
            conditions = [
                {"field": "meta.group", "operator": "==", "value": meta["group"]},
                {"field": "meta.language", "operator": "==", "value": language},
            ]
            if meta.get("section_key"):
                conditions.append({"field": "meta.section_key", "operator": "==", "value": meta["section_key"]})
            else:  # the lead section has no anchor: its twin is the first passage of the other guide
                conditions.append({"field": "meta.passage_index", "operator": "==", "value": 0})
            filters = {"operator": "AND", "conditions": conditions}
            matches = sorted(self.store.filter_documents(filters=filters), key=lambda d: d.meta.get("passage_index", 0))
        return matches[0] if matches else None
