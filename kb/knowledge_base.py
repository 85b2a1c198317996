"""The knowledge base a server or command holds: the store, the models and the ask path, opened once, closed explicitly.

The ask path itself reads top to bottom in ``kb/asking.py``; this facade owns its resources (the store with its
lock, the encoder's threads), caches results per generation of the index, and offers sync and async entry points.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
from haystack import Document

from kb.answers.cards import load_cards, load_outside
from kb.answers.citations import QuoteLocator
from kb.answers.composer import AnswerComposer
from kb.answers.matching import CardMatcher
from kb.answers.smalltalk import SmallTalkReplies
from kb.asking import Asker, Question
from kb.config import Settings
from kb.models.batching import BatchingEncoder
from kb.models.encoders import Encoder, build_query_encoder, model_dimension
from kb.safety.detector import DangerDetector
from kb.safety.features import MessageFeatures
from kb.safety.help import HelpDesk
from kb.safety.model import DangerModel
from kb.search.cache import TTLCache, question_key
from kb.search.documents import Store
from kb.search.hybrid import HybridSearch
from kb.text.glossary import Glossary
from kb.text.language import Analysers, LanguageDetector
from kb.text.normalise import normalise
from kb.types import Answer, Passage

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
            loaded = pool.submit(Analysers)
            self.store = Store(settings, model_dimension(settings))
            try:
                analysers = loaded.result()
                self.hybrid = HybridSearch(settings, self.store, analysers)
                self.help_desk = HelpDesk(settings.contacts, settings.safety / "help.toml")
                danger = DangerModel.load(settings.model_dir.parent)
                self.encoder = BatchingEncoder(
                    encoder or built.result(),  # type: ignore[union-attr]
                    max_batch=settings.embedding.query_batch,
                    # Two questions encoded at once run on both cores (onnxruntime sessions are thread-safe).
                    workers=settings.embedding.query_workers if settings.embedding.query_backend == "onnx" else 1,
                )
                cards = load_cards(settings.answers)
                matcher = CardMatcher.build(
                    cards, self.encoder.encode_many, analysers, settings.model_dir.parent,
                    outside=load_outside(settings.answers),
                )
                self.asker = Asker(
                    detector=detector.result(),
                    embed=self.embed,
                    danger=DangerDetector(danger, MessageFeatures(analysers)),
                    help_desk=self.help_desk,
                    smalltalk=SmallTalkReplies(
                        settings.smalltalk, self.encoder.encode_many, np.vstack([matcher.vectors, matcher.outside]),
                        settings.model_dir.parent,
                    ),
                    cards=cards,
                    matcher=matcher,
                    search=self.hybrid,
                    composer=AnswerComposer(analysers, glossary=Glossary(analysers)),
                    locator=QuoteLocator(self.hybrid.passages_of, self.hybrid.generation),
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

    def document(self, document_id: str) -> list[Passage]:
        """Return every served passage of one document, in order (none: no such document).

        Raises:
            StoreError: the store failed.
        """
        return [Passage.from_document(d) for d in self.hybrid.passages_of(document_id)]

    def unknown_passages(self, passage_ids: list[str]) -> list[str]:
        """Return the ids, in the order given, that are not passages of the served index.

        Raises:
            StoreError: the store failed.
        """
        known = self.hybrid.known(passage_ids)
        return [p for p in passage_ids if p not in known]

    def rebuild(self, build: Callable[[Store], T]) -> T:
        """Run ``build`` (an ingest into a new generation) against the open store, then serve what it swapped in.

        Questions keep being answered from the old generation until the swap; cached results are dropped after.
        """
        result = build(self.store)
        self.hybrid.refresh()
        self.results.clear()
        return result

    def embed(self, text: str) -> np.ndarray:
        """Embed a (normalised) question, once per distinct text while cached."""
        key = question_key(text)
        vector = self.embeddings.get(key)
        if vector is None:
            vector = self.encoder.encode(text)
            self.embeddings.put(key, vector)
        return vector

    async def embed_async(self, text: str) -> np.ndarray:
        """``embed`` for an event loop: no thread waits while the encoder works."""
        key = question_key(text)
        vector = self.embeddings.get(key)
        if vector is None:
            vector = await self.encoder.encode_async(text)
            self.embeddings.put(key, vector)
        return vector

    def search(
        self,
        query: str,
        *,
        k: int | None = None,
        language: str | None = None,
        kind: str | None = None,
        embedding: np.ndarray | None = None,
    ) -> list[Passage]:
        """Find the best passages for ``query``, optionally only in ``language`` and of ``kind`` (official, guide)."""
        query = normalise(query)
        top_k = k or self.settings.retrieval.top_k
        key = question_key(query, "search", top_k, language, kind, self.hybrid.generation())
        cached = self.results.get(key)
        if cached is not None:
            return list(cached)
        embedding = self.embed(query) if embedding is None else embedding
        query_language = language or self.asker.detector.detect_supported(query)
        fused = self.retrieve(
            query, embedding, language=query_language, top_k=top_k, language_filter=language, kind_filter=kind
        )
        passages = [Passage.from_document(d) for d in fused]
        self.results.put(key, tuple(passages))
        return passages

    def retrieve(
        self,
        query: str,
        embedding: np.ndarray,
        *,
        language: str,
        top_k: int,
        language_filter: str | None = None,
        kind_filter: str | None = None,
        weights: list[float] | None = None,
        fusion: str | None = None,
        cards: bool = True,
    ) -> list[Document]:
        """Hybrid retrieval with the question-to-question signal (``cards``): what search serves and eval measures.

        ``weights`` and ``fusion`` as in ``HybridSearch.retrieve`` (a single side, or the other fusion, for the
        evaluation's baselines, which run without the cards' signal).

        Raises:
            StoreError: no index is served, or the store failed.
        """
        boost = self.asker.card_signal(query, embedding, language) if cards and weights is None else None
        return self.hybrid.retrieve(
            query, embedding, language=language, top_k=top_k, language_filter=language_filter,
            kind_filter=kind_filter, weights=weights, fusion=fusion, boost=boost,
        )

    def ask(self, question: str | Question, *, embedding: np.ndarray | None = None, **fields: Any) -> Answer:
        """Answer a question (text, or a ``Question`` with history and the rest); the help first when in danger."""
        given = {name: value for name, value in fields.items() if value is not None}
        q = question if isinstance(question, Question) else Question(question, **given)
        key = question_key(repr(q), "ask", self.hybrid.generation())
        cached = self.results.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        answer = self.asker.ask(q, embedding)
        self.results.put(key, answer)
        return answer

    async def search_async(
        self, query: str, *, k: int | None = None, language: str | None = None, kind: str | None = None
    ) -> list[Passage]:
        """``search`` for an event loop (see ``ask_async``)."""
        embedding = await self.embed_async(normalise(query))
        return await self._off_loop(
            lambda: self.search(query, k=k, language=language, kind=kind, embedding=embedding)
        )

    async def ask_async(self, question: Question) -> Answer:
        """``ask`` for an event loop.

        The question is embedded by the batching encoder's thread while the loop serves other requests; the rest
        (a few ms of Python over the in-memory snapshot) runs on the loop itself, which saves two thread hand-overs
        a request. Over a Qdrant server, retrieval waits on the network, so it runs in a worker thread.
        """
        embedding = await self.embed_async(normalise(question.text))
        return await self._off_loop(lambda: self.ask(question, embedding=embedding))

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self.hybrid.snapshot is not None:
            return work()
        return await asyncio.to_thread(work)

    def assess(self, question: str, language: str | None = None) -> Answer | None:
        """Return the help answer when the message reads as someone in danger, else None (a rate-limited ask)."""
        q = Question(normalise(question), language=language)
        text = q.text
        own, _language = self.asker.languages(q, text)
        signal = self.asker.danger.assess(text, self.embed(text), own)
        return self.asker.help_answer(signal, own, "public") if signal.urgent else None
