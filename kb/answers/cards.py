"""Curated answers ("answer cards"): questions people ask, answered in 1-3 sentences that people wrote and checked.

Each card (``corpus/answers/<id>.toml``, format in corpus/answers/README.md) has, per language, the ways people ask
it and the answer, each sentence with the exact quote of a guide section or statute that supports it; staff
variants where officials need more. The matcher compares a question with every card question (e5 with ``query: ``
on both sides, plus the overlap of their analysed terms) and says which card answers, which cards it might mean,
or none.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, replace
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
    paraphrases: tuple[str, ...] = ()  # more ways people ask it (paraphrases/<language>.jsonl): matched, never shown


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
    return _with_paraphrases(cards, folder / "paraphrases")


def _rows(path: Path) -> list[dict[str, str]]:
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _with_paraphrases(cards: dict[str, Card], folder: Path) -> dict[str, Card]:
    """Add the rows of ``folder``/<language>.jsonl (``card_id``, ``language``, ``question``) to their cards."""
    extra: dict[tuple[str, str], list[str]] = {}
    for path in sorted(folder.glob("*.jsonl")):
        for row in _rows(path):
            card_id, language = str(row.get("card_id")), str(row.get("language"))
            if card_id not in cards or language not in LANGUAGES or not str(row.get("question") or "").strip():
                raise ConfigError(f"{path}: a paraphrase needs a known card_id, a language and a question: {row}")
            extra.setdefault((card_id, language), []).append(str(row["question"]))
    for (card_id, language), questions in extra.items():
        text = cards[card_id].texts[language]
        cards[card_id].texts[language] = replace(text, paraphrases=tuple(questions))
    return cards


def load_outside(folder: Path) -> list[tuple[str, str]]:
    """Return (language, question) for every question the material does not answer (``folder``/outside/*.jsonl).

    They teach the matcher what lies outside the material: fees of ordinary permits, other countries, statistics,
    names of people in office (corpus/answers/README.md).
    """
    rows = [row for path in sorted((folder / "outside").glob("*.jsonl")) for row in _rows(path)]
    return [(str(r["language"]), str(r["question"])) for r in rows]
