"""Curated answers ("answer cards"): questions people ask, answered in 1-3 sentences that people wrote and checked.

Each card (``corpus/answers/<id>.toml``, format in corpus/answers/README.md) has, per language, the ways people ask
it and the answer, each sentence with the exact quote of a guide section or statute that supports it; staff
variants where officials need more. The matcher compares a question with every card question (e5 with ``query: ``
on both sides, plus the overlap of their analysed terms) and says which card answers, which cards it might mean,
or none.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from kb.errors import ConfigError
from kb.types import LANGUAGES


@dataclass(frozen=True)
class CardSentence:
    """One answer sentence and the source span that supports it."""

    text: str
    source: str  # document id, "#", section key (none for a guide's lead)
    quote: str


@dataclass(frozen=True)
class CardText:
    """A card in one language."""

    questions: tuple[str, ...]
    answer: tuple[CardSentence, ...]
    staff: tuple[CardSentence, ...]


@dataclass(frozen=True)
class Card:
    """A curated answer in fi, sv and en."""

    id: str
    topic: str
    audience: str
    review: str
    follow_ups: tuple[str, ...]
    texts: dict[str, CardText]

    def sentences(self, language: str, audience: str) -> tuple[CardSentence, ...]:
        """Return the answer for ``audience`` in ``language`` (the staff variant for staff, where there is one)."""
        text = self.texts[language]
        return text.staff if audience == "staff" and text.staff else text.answer


def _sentences(rows: object, where: str) -> tuple[CardSentence, ...]:
    if rows is None:
        return ()
    if not isinstance(rows, list):
        raise ConfigError(f"{where}: a list of sentences is expected")
    try:
        return tuple(CardSentence(str(r["text"]), str(r["source"]), str(r["quote"])) for r in rows)
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"{where}: every sentence needs text, source and quote") from exc


def load_cards(folder: Path) -> dict[str, Card]:
    """Read every card of ``folder``, by id.

    Raises:
        ConfigError: a card that cannot be read or lacks a part; a follow-up that names no card.
    """
    cards: dict[str, Card] = {}
    for path in sorted(folder.glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            texts = {
                lang: CardText(
                    questions=tuple(str(q) for q in data[lang]["questions"]),
                    answer=_sentences(data[lang]["answer"], f"{path.name} [{lang}].answer"),
                    staff=_sentences(data[lang].get("staff"), f"{path.name} [{lang}].staff"),
                )
                for lang in LANGUAGES
            }
            card = Card(
                id=str(data["id"]),
                topic=str(data["topic"]),
                audience=str(data["audience"]),
                review=str(data["review"]),
                follow_ups=tuple(str(f) for f in data.get("follow_ups", [])),
                texts=texts,
            )
        except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"cannot read the answer card {path}: {exc}") from exc
        cards[card.id] = card
    for card in cards.values():
        missing = [f for f in card.follow_ups if f not in cards]
        if missing:
            raise ConfigError(f"answer card {card.id}: follow-ups name no card: {', '.join(missing)}")
    return cards
