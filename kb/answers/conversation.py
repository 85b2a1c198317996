"""Follow-up questions: a question that leans on the earlier turns is read together with the one before it.

The client sends the earlier turns (``history``); the server keeps nothing. A question leans on them when it opens
with a word that continues ("entä", "och", "what about"), holds a pronoun that points back ("se", "det", "it"), or
is short and matches no curated answer by itself (it leaves out its topic), or is all but bare ("kauanko?", "who
decides?"). Then the previous question's topic words (all but question and function words) are added to it, so that
embedding, card matching and retrieval see the topic while the question's own words still decide what is asked.
A question that stands on its own ignores the history.

| number | value | why (corpus/eval/conversations.jsonl, dev split) |
|---|---|---|
| ``TOPICLESS_WORDS`` | 8 | a question this short that matches no card by itself is read with the one before |
| ``BARE_WORDS`` | 3 | a question this short ("how long?", "kuka päättää?") is read with the one before even when |
|  |  | it matches a card by itself: dev conversations answered 38 -> 39 of 45 at 2, 3 and 4 ("how long?" after |
|  |  | the recovery period's card had the reflection period's length); dev gold, plain and outside unchanged |
| ``NEXT_CARD`` | 0.03 | a follow-up most often asks what the previous card's follow-ups answer |
| ``SAME_TOPIC`` | 0.01 | or something else of the same guide |
| ``SAME_CARD`` | 0 | the card just given is neither preferred nor avoided: dev conversations answered 36 of 45 at |
|  |  | -0.03 and -0.01, 37 at 0, 36 at 0.01, 35 at 0.02 (2026-12-03; "how long are they appointed for?" after the |
|  |  | expert group's card asks that card again) |
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.answers.cards import Card
from kb.answers.matching import CardMatch
from kb.text.language import FUNCTION_WORDS, STOPWORDS

TOPICLESS_WORDS = 8
BARE_WORDS = 3
NEXT_CARD = 0.03
SAME_TOPIC = 0.01
SAME_CARD = 0.0


@dataclass(frozen=True)
class Turn:
    """One earlier turn as the client keeps it."""

    question: str
    answer: str | None = None
    card_id: str | None = None
    document_ids: tuple[str, ...] = field(default_factory=tuple)


History = tuple[Turn, ...]

_OPENERS = {
    "fi": ("entä", "entäs", "ja", "mutta", "no", "kuin", "myös", "sekä", "jos"),
    "sv": ("och", "men", "än", "samt", "också", "om"),
    "en": ("and", "but", "what about", "how about", "also", "so", "if", "then"),
}
_POINTERS = {
    "fi": frozenset(
        "se sen sitä siitä siihen siinä sillä siltä ne niitä niiden niistä niihin tämä tätä tästä tähän tuo "
        "hän häntä hänen he heitä heille sinne siellä silloin sellainen".split()
    ),
    "sv": frozenset("det den dess de dem deras detta denna dessa där dit då sådan sådant han hon honom henne".split()),
    "en": frozenset("it its they them their that this those these there then such he she him her".split()),
}
_WORD = re.compile(r"[^\W_]+")


def leans(text: str, language: str) -> bool:
    """Tell whether the question opens with a continuing word, or is short and points back with a pronoun.

    A longer question that names its own topic uses pronouns for other things ("när det gäller", "is it true that").
    """
    lowered = text.lower().strip()
    words = _WORD.findall(lowered)
    if not words:
        return False
    openers = _OPENERS.get(language, _OPENERS["en"])
    if any(lowered.startswith(o + " ") or lowered == o for o in openers):
        return True
    return len(words) <= TOPICLESS_WORDS and any(w in _POINTERS.get(language, _POINTERS["en"]) for w in words)


def follow_up_text(
    text: str, history: History, language: str, match: CardMatch, cards: dict[str, Card]
) -> str | None:
    """Return the question read with the previous one, or None when it stands on its own.

    The topic is the previous question's words and, when a card answered it, that card's own first question: "Entä
    jos en puhu suomea?" names no topic, but the card that answered it does.
    """
    if not history:
        return None
    words = len(_WORD.findall(text))
    topicless = (match.card_id is None and words <= TOPICLESS_WORDS) or words <= BARE_WORDS
    if not (leans(text, language) or topicless):
        return None
    previous = history[-1]
    card = cards.get(previous.card_id or "")
    sources = [previous.question] + ([card.texts[language].questions[0]] if card and language in card.texts else [])
    topic = list(dict.fromkeys(w for source in sources for w in topic_words(source, language)))
    return f"{text} {' '.join(topic)}" if topic else None


def preferences(history: History, cards: dict[str, Card]) -> dict[str, float]:
    """Return score adjustments for the cards a follow-up of the previous turn most likely asks for."""
    previous = cards.get(history[-1].card_id or "") if history else None
    if previous is None:
        return {}
    prefer = {c.id: SAME_TOPIC for c in cards.values() if c.topic == previous.topic}
    prefer.update({c: NEXT_CARD for c in previous.follow_ups})
    prefer[previous.id] = SAME_CARD
    return prefer


def topic_words(question: str, language: str) -> list[str]:
    """Return the words of an earlier question that name its topic (no question or function words)."""
    skip = STOPWORDS.get(language, STOPWORDS["en"]) | FUNCTION_WORDS.get(language, FUNCTION_WORDS["en"])
    return [w for w in _WORD.findall(question) if len(w) > 2 and w.lower() not in skip]
