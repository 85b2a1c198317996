"""The ask path, top to bottom, in one place.

    question ─ normalise ─ languages ─ embed (once) ─┬─ danger? ──────── help block first, what helps, cited
                                                     │                   (a follow-up: then the card it asks for)
                                                     ├─ small talk? ──── a fixed reply in the asker's language
                                                     ├─ follow-up? ───── carry over the earlier turn
                                                     ├─ a card? ──────── the curated answer, cited
                                                     └─ retrieve → rerank → compose → parallel passages
                                                                       └─ abstain → the offer of help
                                                                          (also when clearly outside the material)

| number | value | why |
|---|---|---|
| ``ASK_CANDIDATES`` | 8 | fused passages an extract is chosen from: reranking by audience can lift rank 8 |
| ``PASSAGES_SHOWN`` | 5 | passages listed under an answer (``passages``) |
| ``CARD_SURE`` | 0.96 | a card scoring this (cosine + terms) answers even where extracts would abstain; on dev,
  0.93 gave 22 of 60 out-of-scope questions a card, 1.0 abstained on 31 of 45 plain questions |
| ``OWN_WORDS`` | 1.0 | a follow-up is embedded as the sum of its own vector (times this) and that of it read with
  the earlier turn: dev conversations answered 0.667 with the read-with vector alone, 0.756 / 0.778 / 0.756 / 0.733
  at 0.5 / 1 / 1.5 / 2 |
| ``SCOPE_ABSTAIN`` | 0.1 | below this probability of being inside the material (the matcher's scope model), neither
  a card nor an extract answers, when the best passage is our own material: dev out-of-scope questions abstained
  0.467 → 0.567 for extracts, 0.700 with sure cards too (one dev plain question lost, no gold one); vetoing cards
  below 0.3 reached 0.78 on dev but cost held-out gold support 0.854 → 0.805 (closing note of 2026-12-02, #17) |
| ``SCOPE_SURE`` | 0.85 | when the extract abstains but the question is this sure to be inside the material and near a
  card (above ``SUGGEST_SCORE``), that card answers with its neighbours as "did you mean": dev plain questions'
  support 0.400 → 0.489 / 0.533 / 0.578 / 0.578 / 0.600 at 0.95 / 0.9 / 0.85 / 0.8 / 0.7, outside abstention 0.733
  down to 0.717 from 0.8; gold dev and conversations unchanged. Not when the small-talk model's likeliest class is
  an intent below its threshold ("tak så mycke"): dev figures unchanged, and a thank-you gets no card |
| ``SHORT_WORDS`` | 3 | a message this short may say too little to tell its language: the interface's language is
  used, unless its function words and the character model agree on one ("Mikä on toipumisaika?" on an English page
  abstained in English; now the recovery period's card answers in Finnish) |
| ``CARD_SIGNAL`` | 0.3 | search: the passages cited by the cards nearest the question are raised in fusion by this
  (times the card's score relative to the best, to the power ``CARD_SIGNAL_SHARPNESS`` 4, over the best
  ``CARD_SIGNAL_CARDS`` 3): dev gold nDCG@10 over the convex fusion 0.684 → 0.748 / 0.747 / 0.750 / 0.742 at
  0.1 / 0.2 / 0.3 / 0.5; over the served RRF, 0.705 → 0.762 (held-out 0.652 → 0.695) |
| ``ANSWER_SHAPE`` | 0.02 | among near cards, those whose first sentence gives what the question asks for (who → an
  authority, how long → a duration, how much → a number, when → a date) are preferred by this (0.6 nats of the
  ranker): dev conversations answered 34 → 35 of 45 at 0.02 and 0.04, gold dev support 0.822 at both and 0.778 at
  0.07; held-out conversations unchanged at 0.644 |
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
from haystack import Document

from kb.answers.cards import Card
from kb.answers.citations import QuoteLocator, cited_text
from kb.answers.composer import AnswerComposer, Composition
from kb.answers.conversation import History, follow_up_text, leans, preferences
from kb.answers.matching import CardMatch, CardMatcher
from kb.answers.parallel import with_parallel
from kb.answers.question import AUTHORITY, INTERROGATIVES, SHAPE_PATTERNS, question_types
from kb.answers.rerank import rerank
from kb.answers.smalltalk import SURE, SmallTalkReplies
from kb.answers.texts import ABSTAIN_TEXT, NOTICE
from kb.safety.detector import SAFE, DangerDetector, DangerSignal
from kb.safety.help import HelpDesk
from kb.search.hybrid import HybridSearch
from kb.text.language import LanguageDetector
from kb.text.normalise import normalise
from kb.types import LANGUAGES, Answer, Passage, Suggestion

ASK_CANDIDATES = 8
OUR_KINDS = frozenset({"guide", "statute", "consolidated-statute", "case-law", "press-release"})
CARD_SURE = 0.96
PASSAGES_SHOWN = 5
SHORT_WORDS = 3
SCOPE_ABSTAIN = 0.1
SCOPE_SURE = 0.85
OWN_WORDS = 1.0
CARD_SIGNAL = 0.3
CARD_SIGNAL_CARDS = 3
CARD_SIGNAL_SHARPNESS = 4
ANSWER_SHAPE = 0.02
NOT_TALK = ("duration", "number", "when")  # "how long?", "how much?", "when?" in a conversation ask about the topic
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Question:
    """One ask: the text and what came with it."""

    text: str
    language: str | None = None
    audience: str = "public"
    ui_language: str | None = None
    card_id: str | None = None
    history: History = field(default_factory=tuple)


@dataclass
class Asker:
    """The components of the ask path, wired by ``KnowledgeBase``."""

    detector: LanguageDetector
    embed: Callable[[str], np.ndarray]
    danger: DangerDetector
    help_desk: HelpDesk
    smalltalk: SmallTalkReplies
    cards: dict[str, Card]
    matcher: CardMatcher
    search: HybridSearch
    composer: AnswerComposer
    locator: QuoteLocator
    cited_documents: frozenset[str] = field(init=False, default=frozenset())  # the documents the cards cite
    # (language, kind of answer) -> the cards whose answer's first sentence gives that kind (an authority, a duration…)
    shaped: dict[tuple[str, str], frozenset[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.cited_documents = frozenset(
            s.source.split("#")[0]
            for card in self.cards.values()
            for text in card.texts.values()
            for s in (*text.answer, *text.staff)
        )
        self.shaped = {
            (language, kind): frozenset(
                card.id
                for card in self.cards.values()
                if language in card.texts and card.texts[language].answer
                and (AUTHORITY if kind == "who" else SHAPE_PATTERNS[kind]).search(card.texts[language].answer[0].text)
            )
            for language in LANGUAGES
            for kind in INTERROGATIVES
        }

    def asked_for(self, kinds: list[str], language: str) -> dict[str, float]:
        """Return ``ANSWER_SHAPE`` for each card whose first sentence gives the ``kinds`` of answer a question asks for.

        "Who decides?" → an authority, "how long?" → a duration: a preference among near cards, not relevance.
        """
        out: dict[str, float] = {}
        for kind in kinds:
            for card_id in self.shaped.get((language, kind), ()):
                out[card_id] = out.get(card_id, 0.0) + ANSWER_SHAPE
        return out

    def languages(self, q: Question, text: str) -> tuple[str, str]:
        """Return (the message's own language, any code; the answer's language: fi, sv or en)."""
        short = self.short(text)
        own = self.detector.detect_message(text)
        if q.language in LANGUAGES:
            return own, str(q.language)
        if short and q.ui_language in LANGUAGES and not self.detector.shows_its_language(text):
            # "hej", "ok": too short to tell; the interface's language tells ("Mikä on toipumisaika?" tells itself)
            return str(q.ui_language), str(q.ui_language)
        return own, self.detector.detect_supported(text)

    @staticmethod
    def short(text: str) -> bool:
        """Tell whether a message is too short to tell its language."""
        return len(_WORD.findall(text)) <= SHORT_WORDS

    def ask(self, q: Question, embedding: np.ndarray | None = None) -> Answer:
        """Answer one question."""
        text = normalise(q.text)
        own, language = self.languages(q, text)
        # The language the question is written in (fi, sv, en), which may differ from the one asked for: cards are
        # matched and passages searched in it, and the answer is written in ``language``.
        asked = own if own in LANGUAGES else language
        embedding = self.embed(text) if embedding is None else embedding
        kinds = question_types(text)
        match = self.matcher.match(text, embedding, asked, rank_prefer=self.asked_for(kinds, asked))
        talk = self.smalltalk.recognise(text, embedding, language)
        if talk is not None and q.history and talk.similarity < SURE and (
            leans(text, language) or any(kind in NOT_TALK for kind in kinds)
        ):
            talk = None  # "what does she do, then?" after a question about the coordinator asks about her, not us
        # Small talk is never urgent by itself: "shut up" or "this is useless" near a prototype is not danger.
        calm = talk is not None and talk.similarity >= SURE
        signal = SAFE if calm else self.danger.assess(text, embedding, own)
        if signal.urgent:
            # Help first. A follow-up ("and if I have no passport?" after a question on residence permits) also
            # gets the card it asks for after the help; its level stays what the message alone reads as.
            read = self.read_with_history(text, embedding, q, language, asked, match)
            return self.help_answer(signal, own, q.audience, also=read[2].card_id if read else None)
        picked = self.card_answer(self.cards[str(q.card_id)], language, q.audience) if q.card_id in self.cards else None
        if picked is not None:
            return picked
        if talk is not None:
            if q.language is None and q.ui_language is None and self.short(text):
                language = talk.language  # "hei", "tack": the closest greeting's language tells
                talk = self.smalltalk.reply(talk, language)
            return self.smalltalk_answer(talk.reply, talk.help, language, q.audience)
        scope = self.matcher.ranker.in_scope(embedding)
        chat = self.smalltalk.intent(embedding)[0] is not None  # small talk below its threshold ("tak så mycke")
        read = self.read_with_history(text, embedding, q, language, asked, match)
        if read is not None:
            text, embedding, match, read_with = read
            # inside the material when either reading is: "how big is it?" after a question about the police's team
            scope = max(scope, self.matcher.ranker.in_scope(read_with))
        card_id = match.card_id
        if card_id is not None and match.score >= CARD_SURE and scope >= SCOPE_ABSTAIN:  # sure: no retrieval
            card = self.card_answer(self.cards[card_id], language, q.audience)
            if card is not None:
                return card
        extract = self.compose(text, embedding, language, q.audience, asked)
        if scope < SCOPE_ABSTAIN and self.ours(extract[0]):  # "what does a work permit cost?": not in the material
            documents, composition = extract
            extract = documents, replace(composition, text="", citations=[], abstained=True)
        # A card answers when it matches and the material has something to say: a card that merely shares words
        # with a question the material does not answer ("how much does a work permit cost?") is no answer.
        if card_id is not None and match.score < CARD_SURE and not extract[1].abstained:
            card = self.card_answer(self.cards[card_id], language, q.audience)
            if card is not None:
                return card
        if extract[1].abstained and scope >= SCOPE_SURE and not chat:
            # "I've got nowhere to sleep tonight": the passages share no words with it, but the question is plainly
            # about our material and near a card: that card answers, and its neighbours are offered beside it. Chat
            # gets no card: the scope model reads it as inside the material.
            meant = card_id or (match.choices[0] if match.choices else None)
            card = self.card_answer(self.cards[meant], language, q.audience) if meant is not None else None
            if card is not None:
                others = tuple(c for c in match.choices if c != meant)
                return replace(card, did_you_mean=self.suggestions(others[:3], language))
        return self.extract_answer(extract, language, q.audience, match)

    def read_with_history(
        self, text: str, embedding: np.ndarray, q: Question, language: str, asked: str, match: CardMatch
    ) -> tuple[str, np.ndarray, CardMatch, np.ndarray] | None:
        """Return a follow-up read with the turn before: its text, embedding, card match and the read-with vector.

        None when the question stands on its own. The embedding is the sum of the question's own vector (times
        ``OWN_WORDS``) and that of it read with the earlier turn's topic.
        """
        carried = follow_up_text(text, q.history, language, match, self.cards)
        if carried is None:
            return None
        read_with = self.embed(carried)
        both = read_with + OWN_WORDS * embedding
        embedding = both / np.linalg.norm(both)
        prefer = self.asked_for(question_types(carried), asked)
        match = self.matcher.match(carried, embedding, asked, preferences(q.history, self.cards), prefer)
        return carried, embedding, match, read_with

    def card_signal(self, text: str, embedding: np.ndarray, language: str) -> dict[str, float]:
        """Return passage id -> boost for the passages the cards nearest the question cite (question to question).

        The question is compared with every way people ask the cards (``CardMatcher.scores``); the passages that
        hold the nearest cards' quotes get ``CARD_SIGNAL`` times how near their card is. A card whose quotes the
        served index does not hold (an index of other documents) raises nothing.
        """
        if language not in LANGUAGES:
            return {}
        ranked = self.matcher.scores(text, embedding, language)[:CARD_SIGNAL_CARDS]
        if not ranked or ranked[0][1] <= 0:
            return {}
        best = ranked[0][1]
        boost: dict[str, float] = {}
        for card_id, score in ranked:
            raise_by = CARD_SIGNAL * (max(score, 0.0) / best) ** CARD_SIGNAL_SHARPNESS
            cited = set()
            for audience in ("public", "staff"):
                for sentence in self.cards[card_id].sentences(language, audience):
                    found = self.locator.find(sentence.source, sentence.quote)
                    if found is not None:
                        cited.add(found[0].id)
            for passage_id in cited:
                boost[passage_id] = boost.get(passage_id, 0.0) + raise_by
        return boost

    def ours(self, documents: list[Document]) -> bool:
        """Tell whether the best passage is of the material the scope model knows.

        That is our guides, the statutes and case law, or a document a card cites: a question about documents someone
        added is never turned away by the scope model.
        """
        if not documents:
            return True
        meta = documents[0].meta
        return meta.get("kind") in OUR_KINDS or meta.get("document_id") in self.cited_documents

    def help_answer(self, signal: DangerSignal, own: str, audience: str, also: str | None = None) -> Answer:
        """Answer someone in danger: the help block first, then what helps them act (free, anonymous…), cited.

        ``also``: the card a follow-up asks for, whose answer comes after them when it is written in the help's
        language and the index holds its quotes (``answer_kind`` "card" then, still urgent, the help first).
        """
        block = self.help_desk.block(own, urgency=signal.urgency, audience=audience)
        helps = [(s.text, s.source, s.quote) for s in self.help_desk.sentences(own, about_other=signal.about_other)]
        card = self.cards.get(also or "")
        if card is not None and block.language in card.texts:
            answers = [(s.text, s.source, s.quote) for s in card.sentences(block.language, audience)]
            text, citations = cited_text(helps + answers, self.locator)
            if len(citations) < len(helps) + len(answers):  # a quote the index lacks: the help alone
                card = None
        else:
            card = None
        if card is None:
            text, citations = cited_text(helps, self.locator)
        text = text or block.text  # an index without our guides holds none of the quotes: the block says it all
        notice_language = block.language if block.language in LANGUAGES else "en"
        return Answer(
            answer=text, language=block.language, abstained=False, urgent=True, help=block, citations=citations,
            passages=[], notice=NOTICE[notice_language], audience=audience, answer_kind="card" if card else "help",
            urgency=signal.urgency, indicators=list(signal.indicators),
            flags={"danger_score": round(signal.score, 4), "about_other": signal.about_other},
            card_id=card.id if card else None,
            follow_ups=self.suggestions(card.follow_ups, block.language) if card else [],
        )

    def card_answer(self, card: Card, language: str, audience: str) -> Answer | None:
        """Answer with a curated answer, each sentence cited to its quote; its follow-up cards as suggestions.

        None when the served index does not hold every quote (e.g. an index of other documents): no sentence is
        asserted without its source, and half a card is no answer.
        """
        sentences = [(s.text, s.source, s.quote) for s in card.sentences(language, audience)]
        text, citations = cited_text(sentences, self.locator)
        if len(citations) < len(sentences):
            return None
        return Answer(
            answer=text, language=language, abstained=False, urgent=False, help=None, citations=citations,
            passages=[], notice=NOTICE[language], audience=audience, answer_kind="card", card_id=card.id,
            follow_ups=self.suggestions(card.follow_ups, language),
        )

    def smalltalk_answer(self, reply: str, with_help: bool, language: str, audience: str) -> Answer:
        """Answer small talk: a fixed reply, the offer of help where a person may be wanted, starter questions."""
        block = self.help_desk.block(language, urgency=None, audience=audience) if with_help else None
        return Answer(
            answer=reply, language=language, abstained=False, urgent=False, help=block, citations=[], passages=[],
            notice=NOTICE[language], audience=audience, answer_kind="smalltalk",
            follow_ups=self.starters(language),
        )

    def compose(
        self, text: str, embedding: np.ndarray, language: str, audience: str, asked: str
    ) -> tuple[list[Document], Composition]:
        """Retrieve (the question analysed in ``asked``, its own language), rerank and compose in ``language``."""
        fused = self.search.retrieve(
            text, embedding, language=asked, top_k=ASK_CANDIDATES, boost=self.card_signal(text, embedding, asked)
        )
        documents = rerank(fused, language, audience)
        return documents, self.composer.compose(text, embedding, documents, language, audience)

    def extract_answer(
        self, extract: tuple[list[Document], Composition], language: str, audience: str, match: CardMatch
    ) -> Answer:
        """Answer with sentences chosen from the best passages, each cited; or abstain with the offer of help."""
        documents, composition = extract
        citations = [with_parallel(c, language, self.search.twin) for c in composition.citations]
        abstained = composition.abstained
        choices = self.suggestions(match.choices, language)
        return Answer(
            answer=ABSTAIN_TEXT[language] if abstained else composition.text, language=language,
            abstained=abstained, urgent=False,
            help=self.help_desk.block(language, urgency=None, audience=audience) if abstained else None,
            citations=citations, passages=[Passage.from_document(d) for d in documents[:PASSAGES_SHOWN]],
            notice=NOTICE[language], audience=audience, answer_kind="abstain" if abstained else "extract",
            did_you_mean=choices if not abstained else [],
            follow_ups=(choices or self.starters(language)) if abstained else [],
            flags={"evidence": round(composition.evidence, 4), "card_score": round(match.score, 4)},
        )

    def suggestions(self, card_ids: tuple[str, ...], language: str) -> list[Suggestion]:
        """Return the first question of each card, in ``language`` (at most four)."""
        return [
            Suggestion(card_id=c, question=self.cards[c].texts[language].questions[0])
            for c in card_ids[:4]
            if c in self.cards
        ]

    def starters(self, language: str) -> list[Suggestion]:
        """Return the questions offered when a chat opens (the cards people need first)."""
        return self.suggestions(STARTERS, language)


# When the chat opens, after small talk and after an abstention: where to get help, whether it costs, the
# reflection period, who does what.
STARTERS = (
    "getting-help-where-to-get-help", "getting-help-free", "reflection-period-what-is", "who-does-what-overview"
)
