"""Danger detection: does a message read as someone being exploited or in danger, and which signs does it show.

A trained model (``model.py``, trained by ``training.py`` at `kb model install` from corpus/safety) reads the
message's e5 embedding, the one the question already has, and its words, lemmas and word pieces
(``features.py``). Its heads give the probability of danger, of a message about someone else, and of each sign
(``signs.py``); the signs found set the level: "now" (112 first) or "exploitation" (the assistance system first).
No text of the message is kept: a ``DangerSignal`` holds names and numbers only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.safety.features import MessageFeatures
from kb.safety.model import DangerModel
from kb.safety.signs import INDICATORS, urgency_of


@dataclass(frozen=True)
class DangerSignal:
    """What the detector found: the level, the signs' names, whether it is about someone else, the score."""

    urgency: str | None
    indicators: tuple[str, ...]
    about_other: bool
    score: float

    @property
    def urgent(self) -> bool:
        """Tell whether the message gets the help first."""
        return self.urgency is not None


SAFE = DangerSignal(urgency=None, indicators=(), about_other=False, score=0.0)


class DangerDetector:
    """Scores a message with the trained model over the question's own embedding (about 0.15 ms, no second encoding)."""

    def __init__(self, model: DangerModel, features: MessageFeatures) -> None:
        self.model = model
        self.features = features
        self._danger = model.threshold("danger")

    def assess(self, text: str, embedding: np.ndarray, language: str) -> DangerSignal:
        """Judge one message (normalised text, its normalised embedding, its detected language).

        The whole message is judged as one. Judging each clause apart (taking the highest probability) was tried
        and dropped: out of fold it raised false alarms from 8 % to 23 %; judging a message that ends in a short
        question ("… Mitä teen?") also without it raised them to 14 %.
        """
        p = self.model.probabilities(embedding, self.features.indices(text, language))
        if p["danger"] < self._danger and p["now"] < self.model.now_alarm:
            return DangerSignal(None, (), False, p["danger"])
        found = tuple(name for name in INDICATORS if p[name] >= self.model.threshold(name))
        if not found:  # danger is clear but no one sign stands out: name the likeliest
            found = (max(INDICATORS, key=lambda name: p[name]),)
        # "Now" when the "now" head says so (a low threshold: 112 first costs little) or a sign of danger now is
        # found; else the assistance system first, also for danger that no one sign makes clear.
        now = p["now"] >= self.model.now_threshold
        urgency = "now" if now or urgency_of(set(found)) == "now" else "exploitation"
        return DangerSignal(urgency, found, p["about_other"] >= self.model.threshold("about_other"), p["danger"])
