"""Extractive answers: chosen sentences of the best passages, each followed by its [n] citation; or abstention.

No language model writes anything: every asserted sentence is an exact span of a stored passage.
Sentences are scored by the e5 cosine between the question and the sentence (vectors precomputed at ingest),
plus the share of the question's key terms the sentence covers, plus the passage's retrieval rank.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from haystack import Document

from kb.language import Analysers
from kb.sentences import unpack_spans, unpack_vectors
from kb.types import Citation, Passage

OFFICIAL_KINDS = {"statute", "consolidated-statute", "case-law", "press-release"}

ABSTAIN_TEXT = {
    "fi": (
        "Aineistossa ei ole vastausta tähän kysymykseen. Majakka kertoo ihmiskaupan vastaisesta työstä Suomessa: "
        "valtioneuvoston toimintaohjelmasta 2016–2017, uhrien auttamisesta, oleskeluluvista ja harkinta-ajasta "
        "sekä ihmiskaupan rangaistavuudesta."
    ),
    "sv": (
        "Materialet svarar inte på den här frågan. Majakka handlar om arbetet mot människohandel i Finland: "
        "statsrådets handlingsplan 2016–2017, hjälp till offer, uppehållstillstånd och betänketid samt "
        "straffbestämmelserna om människohandel."
    ),
    "en": (
        "The material does not answer this question. Majakka covers Finland's work against trafficking in human "
        "beings: the Government's Action Plan 2016–2017, help for victims, residence permits and the reflection "
        "period, and the crime of trafficking and its penalties."
    ),
}
NOTICE = {
    "fi": "Tämä on automaattinen vastaus virallisesta aineistosta. Se ei ole oikeudellista neuvontaa.",
    "sv": "Detta är ett automatiskt svar ur officiellt material. Det är inte juridisk rådgivning.",
    "en": "This is an automated answer from official material. It is not legal advice.",
}


@dataclass(frozen=True)
class ComposerSettings:
    """Knobs of answer composition, tuned on corpus/eval/gold.jsonl."""

    passages: int = 4
    max_sentences: int = 3
    per_passage: int = 2
    cosine_weight: float = 1.0
    coverage_weight: float = 0.15
    rank_weight: float = 0.02
    relative_floor: float = 0.03
    repeat_cosine: float = 0.95
    abstain_cosine: float = 0.80
    abstain_coverage: float = 0.0


@dataclass(frozen=True)
class Candidate:
    """A sentence that may go into the answer."""

    passage_rank: int
    document: Document
    start: int
    end: int
    vector: np.ndarray
    score: float
    cosine: float
    coverage: float


@dataclass(frozen=True)
class Composition:
    """The composed answer before the help block and notice are added."""

    text: str
    citations: list[Citation]
    abstained: bool
    evidence: float
    coverage: float


def rerank(documents: list[Document], language: str, audience: str) -> list[Document]:
    """Prefer the question's language and, for the public, our plain guides; for staff, the official texts."""

    def weight(document: Document) -> float:
        meta = document.meta
        w = 1.0
        if meta.get("language") == language:
            w *= 1.25
        official = meta.get("kind") in OFFICIAL_KINDS
        if audience == "staff":
            w *= 1.15 if official else (1.0 if meta.get("audience") in ("staff", "both") else 0.9)
        else:
            w *= 1.2 if meta.get("kind") == "guide" and meta.get("audience") in ("public", "both") else 1.0
        return w

    return sorted(documents, key=lambda d: (d.score or 0.0) * weight(d), reverse=True)


class AnswerComposer:
    """Chooses answer sentences from retrieved passages and cites them."""

    def __init__(self, analysers: Analysers, settings: ComposerSettings | None = None) -> None:
        self.analysers = analysers
        self.settings = settings or ComposerSettings()

    def candidates(self, question: str, embedding: np.ndarray, documents: list[Document], language: str) -> list[Candidate]:
        """Every answer sentence of the top passages, scored."""
        s = self.settings
        query_terms = set(self.analysers.analyse(question, language))
        out: list[Candidate] = []
        for rank, document in enumerate(documents[: s.passages]):
            packed_spans = document.meta.get("sentences")
            packed = document.meta.get("sentence_vectors")
            if not packed_spans or not packed:
                continue
            spans = unpack_spans(packed_spans)
            vectors = unpack_vectors(packed)
            cosines = vectors @ embedding
            text = document.content or ""
            doc_language = document.meta.get("language")
            for (start, end), vector, cosine in zip(spans, vectors, cosines, strict=True):
                terms = set(self.analysers.analyse(text[start:end], doc_language))
                coverage = len(query_terms & terms) / len(query_terms) if query_terms else 0.0
                score = s.cosine_weight * float(cosine) + s.coverage_weight * coverage - s.rank_weight * rank
                out.append(Candidate(rank, document, start, end, vector, score, float(cosine), coverage))
        return out

    def compose(self, question: str, embedding: np.ndarray, documents: list[Document], language: str) -> Composition:
        """Pick, order and cite the answer sentences, or abstain."""
        s = self.settings
        ranked = sorted(self.candidates(question, embedding, documents, language), key=lambda c: c.score, reverse=True)
        if not ranked:
            return Composition(ABSTAIN_TEXT[language], [], True, 0.0, 0.0)
        best = ranked[0]
        passage_cosine = max(float(d.meta.get("dense_score", 0.0)) for d in documents[: s.passages])
        evidence = max(best.cosine, passage_cosine)
        coverage = max(c.coverage for c in ranked)
        if evidence < s.abstain_cosine or coverage < s.abstain_coverage:
            return Composition(ABSTAIN_TEXT[language], [], True, evidence, coverage)

        chosen: list[Candidate] = []
        per_passage: dict[str, int] = {}
        for candidate in ranked:
            if len(chosen) >= s.max_sentences or candidate.score < best.score - s.relative_floor * 4:
                break
            if per_passage.get(candidate.document.id, 0) >= s.per_passage:
                continue
            if any(float(candidate.vector @ c.vector) >= s.repeat_cosine for c in chosen):
                continue
            chosen.append(candidate)
            per_passage[candidate.document.id] = per_passage.get(candidate.document.id, 0) + 1
        chosen.sort(key=lambda c: (c.passage_rank, c.start))

        citations: list[Citation] = []
        sentences: list[str] = []
        for n, c in enumerate(chosen, start=1):
            text = c.document.content or ""
            quote = text[c.start : c.end]
            p = Passage.from_document(c.document)
            citations.append(
                Citation(
                    n=n, passage_id=p.passage_id, document_id=p.document_id, title=p.title, section=p.section,
                    language=p.language, url=p.url, source=p.source, quote=quote, start=c.start, end=c.end, text=text,
                )
            )
            sentences.append(f"{quote.rstrip()} [{n}]")
        return Composition(" ".join(sentences), citations, False, evidence, coverage)
