"""Extractive answers: chosen sentences of the best passages, each followed by its [n] citation; or abstention.

No language model writes anything: every asserted sentence is an exact span of a stored passage.
Sentences are scored by the e5 cosine between the question and the sentence (vectors precomputed at ingest),
plus the question's key terms the sentence covers (lemmas/stems, glossary equivalents in the other languages,
weighted by BM25's IDF over the candidate sentences; a sentence that opens with a pronoun also counts half of the
terms of the sentence before it), plus a bonus when it has the shape the question asks for (a duration, a name…)
or comes from the section the question names, minus a little per passage rank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from haystack import Document

from kb.glossary import Glossary
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


# What a question asks for, and how a sentence that gives it looks (fi, sv, en). A sentence of the asked type
# gets a bonus: the sentence that answers often adds a number, a date or an authority to the question's words.
_QUESTION_TYPES = {
    "duration": r"\b(kuinka (pitkä|kauan)|miten pitkä|how long|hur läng|hur lång)",
    "number": r"\b(kuinka (paljon|monta)|montako|paljonko|how (much|many)|hur (mycket|många))",
    # "när", "when" and "vilka" also join clauses ("… när offret är ett barn"): a question word only in front.
    "when": r"\b(milloin|mihin aikaan|what year|vilket år)|^\W*(when|när)\b",
    "who": (
        r"\b(kuka|ketkä|kenen|kenelle|mikä viranomainen|who|which authority|whom|vem|vilken myndighet)\b"
        r"|^\W*vilka\b"
    ),
    "penalty": r"(rangaistu|penalt|punish|straff|vankeu|prison|fängelse)",
}
_ANSWER_SHAPES = {
    "duration": (
        r"\d+\s*(päiv|kuukau|vuo|day|month|year|dag|månad|år)"
        r"|(kuu(si|den)|kolmenkymmenen|six|sex|thirty|trettio)\s"
    ),
    "number": r"\d",
    "when": r"\d{4}|\d+\.\d+\.|(tammi|helmi|maalis|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu)kuu|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"januari|februari|mars|maj|juni|juli|augusti|oktober",
    # a person's name inside the sentence ("… ledande sakkunnig Veli-Pekka Rautava"), or an authority
    "who": r"(?<=[\w,] )[A-ZÅÄÖ][a-zåäö]+(-[A-ZÅÄÖ][a-zåäö]+)? [A-ZÅÄÖ][a-zåäö]+\b"
    r"|poliisi|police|polis|virasto|ministeri|"
    r"ombudsman|valtuutettu|keskus|centre|förläggning|myndighet|authority|viranomai",
    "penalty": r"\d+\s*(kuukau|vuo|month|year|månad|år)|vankeutta|imprisonment|fängelse",
}
_QUESTION_PATTERNS = {k: re.compile(p, re.IGNORECASE) for k, p in _QUESTION_TYPES.items()}
_SHAPE_PATTERNS = {k: re.compile(p, re.IGNORECASE) for k, p in _ANSWER_SHAPES.items()}
_INTERROGATIVES = ("duration", "number", "when", "who")  # question phrases only; "penalty" matches content words


def question_types(question: str) -> list[str]:
    """Return the kinds of answer a question asks for (duration, number, when, who, penalty)."""
    return [kind for kind, pattern in _QUESTION_PATTERNS.items() if pattern.search(question)]


@dataclass(frozen=True)
class ComposerSettings:
    """Knobs of answer composition, tuned on corpus/eval/gold.jsonl."""

    passages: int = 4
    max_sentences: int = 4
    per_passage: int = 2
    cosine_weight: float = 1.0
    coverage_weight: float = 0.3
    rank_weight: float = 0.01
    preference_weight: float = 0.05
    shape_bonus: float = 0.12
    relative_floor: float = 0.2
    repeat_overlap: float = 0.6
    abstain_coverage_weight: float = 0.1
    abstain_threshold: float = 0.888
    anaphora: float = 0.5
    other_passages: int = 2
    extra_floor: float = 0.1
    extra_chars: int = 700
    reference_bonus: float = 0.1


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


def preference(document: Document, language: str, audience: str) -> float:
    """How much this audience prefers a passage: its language, and plain guides (public) or official texts (staff)."""
    meta = document.meta
    w = 1.25 if meta.get("language") == language else 1.0
    kind = meta.get("kind")
    if audience == "staff":
        if kind in OFFICIAL_KINDS:
            w *= 1.2 if kind != "case-law" else 1.0
        elif meta.get("audience") == "public":
            w *= 0.9
    elif kind == "guide":
        w *= 1.5 if meta.get("audience") in ("public", "both") else 1.2
    elif kind == "case-law":
        w *= 0.7
    return w


def rerank(documents: list[Document], language: str, audience: str) -> list[Document]:
    """Order passages by fused score times the audience's preference."""
    return sorted(documents, key=lambda d: (d.score or 0.0) * preference(d, language, audience), reverse=True)


class AnswerComposer:
    """Chooses answer sentences from retrieved passages and cites them."""

    def __init__(
        self, analysers: Analysers, settings: ComposerSettings | None = None, glossary: Glossary | None = None
    ) -> None:
        self.analysers = analysers
        self.settings = settings or ComposerSettings()
        self.glossary = glossary

    def question_terms(self, question: str, language: str) -> tuple[set[str], dict[str, set[str]], dict[str, float]]:
        """Return the question's key terms, its terms per language and the share of key terms each language covers.

        The terms per language include glossary equivalents; per language, the share is that of the key terms those
        equivalents stand for (a passage in another language can cover no more).
        """
        # "How long", "kuinka paljon": the question's type is scored by the answer shape, not as key terms.
        for kind in _INTERROGATIVES:
            question = _QUESTION_PATTERNS[kind].sub(" ", question)
        own = set(self.analysers.analyse(question, language))
        terms = {language: set(own)}
        reach = {language: 1.0}
        if self.glossary is not None and own:
            share = len(self.glossary.covered(own, language)) / len(own)
            for other, extra in self.glossary.expansions(own, language).items():
                terms.setdefault(other, set()).update(extra)
                reach[other] = share
        return own, terms, reach

    def candidates(
        self, question: str, embedding: np.ndarray, documents: list[Document], language: str, audience: str = "public"
    ) -> list[Candidate]:
        """Every answer sentence of the top passages, scored."""
        s = self.settings
        _own, query_terms, reach = self.question_terms(question, language)
        shapes = [_SHAPE_PATTERNS[kind] for kind in question_types(question)]
        references = _references(question)
        # First pass: every sentence's terms; a sentence that opens with a pronoun ("Se kestää…", "In its view…")
        # also carries the terms of the sentence before it, which it is about.
        rows: list[tuple[int, Document, int, int, np.ndarray, float, set[str], set[str]]] = []
        frequency: dict[str, dict[str, int]] = {}
        counts: dict[str, int] = {}
        for rank, document in enumerate(documents[: s.passages]):
            packed_spans = document.meta.get("sentences")
            packed = document.meta.get("sentence_vectors")
            if not packed_spans or not packed:
                continue
            spans = unpack_spans(packed_spans)
            vectors = unpack_vectors(packed)
            cosines = vectors @ embedding
            text = document.content or ""
            doc_language = str(document.meta.get("language"))
            df = frequency.setdefault(doc_language, {})
            previous: set[str] = set()
            previous_end = -1
            for (start, end), vector, cosine in zip(spans, vectors, cosines, strict=True):
                terms = set(self.analysers.analyse(text[start:end], doc_language))
                for term in terms:
                    df[term] = df.get(term, 0) + 1
                counts[doc_language] = counts.get(doc_language, 0) + 1
                effective = set()
                if s.anaphora and previous and _continues(text, previous_end, start, doc_language):
                    effective = previous - terms
                rows.append((rank, document, start, end, vector, float(cosine), terms, effective))
                previous, previous_end = terms, end
        weights = {
            lang: {t: self._idf(df.get(t, 0), counts.get(lang, 0)) for t in query_terms.get(lang, ())}
            for lang, df in frequency.items()
        }
        # Matched weight over what the question's terms would weigh if each were in one sentence only: terms that
        # every candidate shares add little, and the scale does not depend on how common the question's terms are.
        totals = {lang: len(query_terms.get(lang, ())) * self._idf(0, counts.get(lang, 0)) or 1.0 for lang in weights}

        out: list[Candidate] = []
        for rank, document, start, end, vector, cosine, terms, effective in rows:
            text = document.content or ""
            doc_language = str(document.meta.get("language"))
            wanted = query_terms.get(doc_language, set())
            w = weights.get(doc_language, {})
            # Shares of the question's terms in the passage's language, scaled by how much of the question those
            # terms stand for: the plain share decides abstention, the IDF-weighted one (context included) ranks.
            share = reach.get(doc_language, 0.0)
            coverage = share * len(wanted & terms) / len(wanted) if wanted else 0.0
            matched = sum(w.get(t, 0.0) for t in wanted & terms) + s.anaphora * sum(
                w.get(t, 0.0) for t in wanted & effective
            )
            weighted = share * matched / totals.get(doc_language, 1.0)
            prior = s.preference_weight * (preference(document, language, audience) - 1.0)
            bonus = s.shape_bonus * sum(1 for shape in shapes if shape.search(text, start, end))
            if references and _cites(document, references):
                bonus += s.reference_bonus
            score = s.cosine_weight * cosine + s.coverage_weight * weighted - s.rank_weight * rank + prior + bonus
            out.append(Candidate(rank, document, start, end, vector, score, cosine, coverage))
        return out

    @staticmethod
    def _idf(df: int, n: int) -> float:
        """BM25's inverse document frequency over the candidate sentences: a term every sentence has tells little."""
        return float(np.log(1.0 + (n - df + 0.5) / (df + 0.5)))

    def compose(
        self, question: str, embedding: np.ndarray, documents: list[Document], language: str, audience: str = "public"
    ) -> Composition:
        """Pick, order and cite the answer sentences, or abstain."""
        s = self.settings
        scored = self.candidates(question, embedding, documents, language, audience)
        ranked = sorted(scored, key=lambda c: c.score, reverse=True)
        if not ranked:
            return Composition(ABSTAIN_TEXT[language], [], True, 0.0, 0.0)
        best = ranked[0]
        passage_cosine = max(float(d.meta.get("dense_score", 0.0)) for d in documents[: s.passages])
        evidence = max(best.cosine, passage_cosine)
        coverage = max(c.coverage for c in ranked)
        if evidence + s.abstain_coverage_weight * coverage < s.abstain_threshold:
            return Composition(ABSTAIN_TEXT[language], [], True, evidence, coverage)

        # Two sentences from the best sentence's passage, then the best one from another passage: the section
        # that answers is usually right, and a second source often adds the number or name asked for. A fourth
        # sentence (from a third passage) only when it scores close to the best and the answer stays short.
        lead = best
        chosen: list[Candidate] = [lead]
        for candidate in ranked:
            if len(chosen) >= s.per_passage or candidate.score < best.score - s.relative_floor:
                break
            if (
                candidate is not lead
                and candidate.document.id == lead.document.id
                and not self._repeats(candidate, chosen)
            ):
                chosen.append(candidate)
        others = 0
        for candidate in ranked:
            if len(chosen) >= s.max_sentences or candidate.score < best.score - s.relative_floor:
                break
            if others >= s.other_passages:
                break
            if candidate.document.id != lead.document.id and not self._repeats(candidate, chosen):
                if others and not self._room(chosen, candidate, best):
                    break
                chosen.append(candidate)
                others += 1
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

    def _room(self, chosen: list[Candidate], candidate: Candidate, best: Candidate) -> bool:
        """Tell whether one more sentence still reads as a short answer: close in score, and the answer stays short."""
        s = self.settings
        length = sum(c.end - c.start for c in chosen) + candidate.end - candidate.start
        return candidate.score >= best.score - s.extra_floor and length <= s.extra_chars

    def _repeats(self, candidate: Candidate, chosen: list[Candidate]) -> bool:
        """Tell whether the sentence says what a chosen one says (parallel versions, overlapping passages)."""
        words = set(self.analysers.analyse(_text(candidate), candidate.document.meta.get("language")))
        for other in chosen:
            if other.document.id == candidate.document.id and other.start == candidate.start:
                return True
            theirs = set(self.analysers.analyse(_text(other), other.document.meta.get("language")))
            # Judged by what the candidate adds: a short sentence inside a long chosen one is a repeat, a sentence
            # that adds the asked-for fact to a few shared words is not.
            if words and theirs and len(words & theirs) / len(words) >= self.settings.repeat_overlap:
                return True
        return False


# Words that make a sentence lean on the one before it ("Se kestää…", "In its view…", "Den är också…").
_ANAPHORS = {
    "fi": frozenset(
        "se sen sitä siitä siihen siinä sillä ne niitä niiden niistä hän hänen he heidän "
        "tämä tätä tämän tästä tähän nämä näitä näiden".split()
    ),
    "sv": frozenset("den det dess de dem deras han hon hans hennes denna detta dessa därför dock".split()),
    "en": frozenset("it its this these they their them he she his her such however".split()),
}
_OPENING = re.compile(r"[^\W_]+")
_REFERENCE = re.compile(r"\b(\d+\s?[a-z]?\s?§|[A-Z]{2,3}:\d{4}:\d+)")


def _continues(text: str, previous_end: int, start: int, language: str) -> bool:
    """Tell whether the sentence at ``start`` directly follows the previous one and opens with a pronoun."""
    if "\n\n" in text[previous_end:start]:
        return False
    opening = [w.lower() for w in _OPENING.findall(text, start, min(len(text), start + 40))[:3]]
    return any(w in _ANAPHORS.get(language, _ANAPHORS["en"]) for w in opening)


def _references(question: str) -> set[str]:
    """Section and decision identifiers the question names ("33 §", "KKO:2022:2"), normalised."""
    return {re.sub(r"\s+", "", m) for m in _REFERENCE.findall(question)}


def _cites(document: Document, references: set[str]) -> bool:
    """Tell whether the passage is the section or decision the question names."""
    section = re.sub(r"\s+", "", str(document.meta.get("section") or ""))
    return any(section.startswith(r) for r in references)


def _text(candidate: Candidate) -> str:
    return (candidate.document.content or "")[candidate.start : candidate.end]
