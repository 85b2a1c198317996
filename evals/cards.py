"""Calibrating the card matcher on its dev split: `python -m evals.cards` prints the sweep the numbers came from.

Dev positives: every fifth question of every card and language, left out of the matcher's index (so each is
matched against the card's other questions, as a new wording would be). Dev negatives: the dev halves of
corpus/eval/out-of-scope.jsonl and of the gold set's out-of-scope questions. Nothing here reads a held-out row.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import replace

import numpy as np

from evals.gold import load_gold, split_rows
from kb.answers.cards import Card, load_cards
from kb.answers.matching import CardMatcher, Thresholds
from kb.config import Settings
from kb.environment import configure_environment
from kb.models.encoders import build_query_encoder
from kb.text.language import Analysers

LEFT_OUT = 5  # every fifth question (index 4, 9, …) of a card is a dev question


def left_out_question(i: int) -> bool:
    """Tell whether a card's i-th question (per language) is a dev question, left out of the matcher."""
    return i % LEFT_OUT == LEFT_OUT - 1


def left_out_questions(cards: dict[str, Card]) -> list[tuple[str, str, str]]:
    """Return (card id, language, question) for every dev question (``left_out_question``) of every card."""
    return [
        (card.id, language, q)
        for card in cards.values()
        for language, text in card.texts.items()
        for i, q in enumerate(text.questions)
        if left_out_question(i)
    ]


def sweep(settings: Settings) -> list[dict[str, float]]:
    """Return, for each candidate setting, the dev figures: right, wrong and missed cards, false cards."""
    encoder = build_query_encoder(settings)
    cards = load_cards(settings.answers)
    analysers = Analysers()
    matcher = CardMatcher.build(cards, encoder.encode_many, analysers, leave_out=left_out_question)
    positives = left_out_questions(cards)
    negatives = [(row["language"], row["question"]) for row in split_rows(settings.gold / "out-of-scope.jsonl", "dev")]
    negatives += [(q.language, q.question) for q in load_gold(settings.gold, "dev") if q.category == "out_of_scope"]
    pos_vectors = encoder.encode_many([q for _c, _l, q in positives])
    neg_vectors = encoder.encode_many([q for _l, q in negatives])
    rows = []
    grid = itertools.product(np.arange(0.84, 0.95, 0.01), (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6))
    for score, sure in grid:
        t = Thresholds(card_score=float(score), rank_sure=sure)
        m = replace_thresholds(matcher, t)
        right = wrong = missed = 0
        for (card_id, language, q), vector in zip(positives, pos_vectors, strict=True):
            got = m.match(q, vector, language).card_id
            right += got == card_id
            wrong += got is not None and got != card_id
            missed += got is None
        pairs = zip(negatives, neg_vectors, strict=True)
        false = sum(m.match(q, v, lang).card_id is not None for (lang, q), v in pairs)
        rows.append(
            {
                "card_score": round(float(score), 2), "rank_sure": sure,
                "right": right / len(positives), "wrong": wrong / len(positives), "missed": missed / len(positives),
                "precision": right / max(1, right + wrong), "false_cards": false / max(1, len(negatives)),
            }
        )
    return rows


def replace_thresholds(matcher: CardMatcher, thresholds: Thresholds) -> CardMatcher:
    """Return the matcher with other numbers (the index is shared, not rebuilt)."""
    copy = object.__new__(CardMatcher)
    copy.__dict__.update(matcher.__dict__)
    copy.thresholds = replace(thresholds)
    return copy


def main() -> int:
    """Print the sweep, best settings first (precision ≥ 0.97 and no false card, most right)."""
    configure_environment()
    rows = sweep(Settings())
    rows.sort(key=lambda r: (r["precision"] >= 0.97 and r["false_cards"] <= 0.05, r["right"]), reverse=True)
    for row in rows[:15]:
        print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
