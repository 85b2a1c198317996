"""The knowledge base a server or command holds: the store, the models and the ask path, opened once, closed explicitly.

The ask path, top to bottom (``KnowledgeBase.ask``):
question → embed (once) → danger check → hybrid retrieval → rerank → compose → parallel passages → help block.

| number | value | why |
|---|---|---|
| ``ASK_CANDIDATES`` | 8 | fused passages an answer is chosen from: reranking by audience can lift a guide from rank 8 |
| ``PASSAGES_SHOWN`` | 5 | passages listed under an answer (``passages``), as ``top_k`` for search |
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from kb.answers.composer import AnswerComposer
from kb.answers.parallel import with_parallel
from kb.answers.rerank import rerank
from kb.answers.texts import NOTICE
from kb.config import Settings
from kb.models.batching import BatchingEncoder
from kb.models.encoders import Encoder, build_query_encoder, model_dimension
from kb.safety.detector import DANGER_EXAMPLES, LAW_EXAMPLES, DangerDetector
from kb.safety.help import HelpDesk
from kb.search.cache import TTLCache, question_key
from kb.search.hybrid import HybridSearch
from kb.search.store import Store
from kb.text.glossary import Glossary
from kb.text.language import Analysers, LanguageDetector
from kb.types import LANGUAGES, Answer, Passage

ASK_CANDIDATES = 8
PASSAGES_SHOWN = 5
T = TypeVar("T")


class KnowledgeBase:
    """Everything needed to search and answer, loaded once and closed explicitly."""

    def __init__(self, settings: Settings, *, encoder: Encoder | None = None) -> None:
        self.settings = settings
        self.embeddings: TTLCache[np.ndarray] = TTLCache(settings.cache.size, settings.cache.ttl)
        self.results: TTLCache[Any] = TTLCache(settings.cache.size, settings.cache.ttl)
        # The question encoder and the language models load in worker threads (mostly native code, off the GIL)
        # while this thread opens the store and reads the index: start-up takes the longest of them, not the sum.
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="majakka-load") as pool:
            built = pool.submit(build_query_encoder, settings) if encoder is None else None
            detector = pool.submit(LanguageDetector)
            analysers = pool.submit(Analysers)
            self.store = Store(settings, model_dimension(settings))
            try:
                self.hybrid = HybridSearch(settings, self.store, analysers.result())
                self.help_desk = HelpDesk(settings.contacts)
                self.detector = detector.result()
                self.encoder = BatchingEncoder(
                    encoder or built.result(),  # type: ignore[union-attr]
                    max_batch=settings.embedding.query_batch,
                    # Two questions encoded at once run on both cores (onnxruntime sessions are thread-safe).
                    workers=settings.embedding.query_workers if settings.embedding.query_backend == "onnx" else 1,
                )
                glossary = Glossary(analysers.result())
                self.composer = AnswerComposer(analysers.result(), glossary=glossary)
                self.danger = DangerDetector(
                    self.encoder.encode_many(DANGER_EXAMPLES), self.encoder.encode_many(LAW_EXAMPLES)
                )
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Release the encoder threads and the store (the embedded folder can then be opened by another process)."""
        encoder: BatchingEncoder | None = getattr(self, "encoder", None)  # None when opening failed before it
        if encoder is not None:
            encoder.close()
        self.store.close()

    def __enter__(self) -> KnowledgeBase:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def ready(self) -> bool:
        """Tell whether an index is being served."""
        return self.store.served() is not None

    def stats(self) -> dict[str, Any]:
        """Return the served generation, its passage count and the result cache's figures."""
        cache = self.results
        return {
            "generation": self.hybrid.generation(),
            "passages": self.store.count(),
            "cache": {"entries": len(cache), "hits": cache.hits, "misses": cache.misses},
        }

    def rebuild(self, build: Callable[[Store], T]) -> T:
        """Run ``build`` (an ingest into a new generation) against the open store, then serve what it swapped in.

        Questions keep being answered from the old generation until the swap; cached results are dropped after.
        """
        result = build(self.store)
        self.hybrid.refresh()
        self.results.clear()
        return result

    def language_of(self, text: str, requested: str | None) -> str:
        """Return the requested language, else the detected one (fi, sv or en)."""
        return requested if requested in LANGUAGES else self.detector.detect_supported(text)

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

    def search(
        self, query: str, *, k: int | None = None, language: str | None = None, embedding: np.ndarray | None = None
    ) -> list[Passage]:
        """Find the best passages for ``query``, optionally only in ``language``."""
        top_k = k or self.settings.retrieval.top_k
        key = question_key(query, "search", top_k, language, self.hybrid.generation())
        cached = self.results.get(key)
        if cached is not None:
            return list(cached)
        embedding = self.embed(query) if embedding is None else embedding
        language_of_query = self.language_of(query, language)
        fused = self.hybrid.retrieve(
            query, embedding, language=language_of_query, top_k=top_k, language_filter=language
        )
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
        """Answer with cited extracts; the help block first when the question suggests danger."""
        audience = audience or "public"
        key = question_key(question, "ask", language, audience, self.hybrid.generation())
        cached = self.results.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        answer_language = self.language_of(question, language)
        embedding = self.embed(question) if embedding is None else embedding
        signal = self.danger.assess(question, embedding)
        fused = self.hybrid.retrieve(question, embedding, language=answer_language, top_k=ASK_CANDIDATES)
        documents = rerank(fused, answer_language, audience)
        composition = self.composer.compose(question, embedding, documents, answer_language, audience)
        citations = [with_parallel(c, answer_language, self.hybrid.twin) for c in composition.citations]
        help_block = None
        if signal.urgent or composition.abstained:
            help_block = self.help_desk.block(answer_language, urgent=signal.urgent, audience=audience)
        text = composition.text
        if help_block is not None and signal.urgent and composition.abstained:
            text = help_block.text  # someone in danger reads the help first; "not in the material" is in the way
        answer = Answer(
            answer=text,
            language=answer_language,
            abstained=composition.abstained,
            urgent=signal.urgent,
            help=help_block,
            citations=citations,
            passages=[Passage.from_document(d) for d in documents[:PASSAGES_SHOWN]],
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

    async def search_async(self, query: str, *, k: int | None = None, language: str | None = None) -> list[Passage]:
        """``search`` for an event loop (see ``ask_async``)."""
        embedding = await self.embed_async(query)
        return await self._off_loop(lambda: self.search(query, k=k, language=language, embedding=embedding))

    async def ask_async(self, question: str, *, language: str | None = None, audience: str | None = None) -> Answer:
        """``ask`` for an event loop.

        The question is embedded by the batching encoder's thread while the loop serves other requests; the rest
        (about 2 ms of Python over the in-memory snapshot) runs on the loop itself, which saves two thread
        hand-overs a request. Over a Qdrant server, retrieval waits on the network, so it runs in a worker thread.
        """
        embedding = await self.embed_async(question)
        return await self._off_loop(
            lambda: self.ask(question, language=language, audience=audience, embedding=embedding)
        )

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self.hybrid.snapshot is not None:
            return work()
        return await asyncio.to_thread(work)

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
