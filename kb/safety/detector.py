"""Danger detection and the help block.

A message is urgent when it reads as someone in danger now: a first-person lexicon in fi, sv, en and the
languages victims in Finland often speak (ru, uk, et, ro, th, vi, …), or an e5 embedding close to example
messages of people in danger and clearly closer to them than to neutral questions about the law that use the
same alarming words.

| number | value | why |
|---|---|---|
| ``threshold`` | 0.88 | cosine to the nearest danger example; the gold set's danger questions lie above it |
| ``margin`` | 0.03 | that much closer to a danger example than to a question about the law |
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# First-person, present-tense signs of danger. Questions *about* the law ("what is the penalty for …")
# use the topic words but not these constructions.
_LEXICON: dict[str, list[str]] = {
    "fi": [
        r"\bauta(kaa)? minua\b", r"\bapua+!", r"\bminut on (lukittu|suljettu)", r"\b(olen|ollaan) lukit(tu|ttuna)",
        r"\ben (pääse|voi lähteä|uskalla lähteä)", r"\bpassini\b", r"\b(vei|veivät|ottivat|otti) (minun )?passin",
        r"\buhka(a|avat|sivat|si) (minua|tappaa|satuttaa)", r"\blyö(vät|nyt)? minua\b", r"\bhakkaa(vat)? minua\b",
        r"\bpelkään (henkeni|että)", r"\bolen vaarassa\b", r"\bminua (lyödään|uhataan|pidetään)",
        r"\bpakottavat minut\b", r"\bvankina\b",
    ],
    "sv": [
        r"\bhjälp mig\b", r"\bjag är (inlåst|instängd|i fara)", r"\b(de|han|hon) har tagit mitt pass",
        r"\btog mitt pass", r"\bmitt pass\b", r"\bjag (kan|får) inte (gå|lämna|åka)", r"\bhotar (mig|att döda)",
        r"\bslår mig\b", r"\bjag är rädd för (mitt liv|att)", r"\btvingar mig\b", r"\blåst in mig\b",
    ],
    "en": [
        r"\bhelp me\b", r"\bi('m| am) (locked|trapped|being held|in danger|scared for my life)", r"\blocked me\b",
        r"\b(took|taken|have|has|kept|keeps|keep) my passport", r"\bi can('| ?no)t (leave|escape|get out|go home)",
        r"\bthreaten(s|ed|ing)? (me|to kill|my family)", r"\b(beat|beats|hit|hits|hurt|hurts) me\b",
        r"\bforc(e|es|ed|ing) me\b", r"\bi('m| am) afraid (they|he|she|for my)", r"\bwon'?t let me (leave|go)",
    ],
    "ru": [r"помогите", r"помоги мне", r"паспорт", r"заперли", r"не могу уйти", r"угрожа", r"бьют меня", r"избива"],
    "uk": [r"допоможіть", r"допоможи мені", r"паспорт", r"замкнули", r"не можу піти", r"погрожу", r"б'ють мене"],
    "et": [
        r"\baidake\b", r"\baita mind\b", r"\bpass(i)? (võeti|võtsid)", r"\bmind on lukustatud", r"\bei saa lahkuda",
        r"\bähvarda",
    ],
    "ro": [
        r"\bajutor\b", r"\bajuta(ți)?-mă\b", r"pașaportul", r"pasaportul", r"\bsunt încuiat", r"\bnu pot pleca",
        r"\bamenință", r"\bmă bat\b",
    ],
    "th": [r"ช่วยด้วย", r"ช่วยฉัน", r"หนังสือเดินทาง", r"ขังฉัน", r"ถูกขัง", r"ขู่", r"ทำร้ายฉัน", r"ออกไปไม่ได้"],
    "vi": [
        r"cứu tôi", r"giúp tôi", r"giúp với", r"hộ chiếu", r"bị nhốt", r"nhốt tôi", r"đe dọa", r"đánh tôi",
        r"không thể rời",
    ],
    "pl": [r"\bpomocy\b", r"\bpomóż(cie)? mi\b", r"\bmój paszport", r"\bzamkn(ęli|ięty)"],
}
_PATTERNS = {lang: [re.compile(p, re.IGNORECASE) for p in pats] for lang, pats in _LEXICON.items()}

# Examples for the embedding side: messages from people in danger, and neutral questions with the same words.
DANGER_EXAMPLES = [
    "I am locked in and I cannot leave.",
    "My boss took my passport and threatens me.",
    "Please help me, they are hurting me.",
    "Olen lukittuna asuntoon enkä pääse pois.",
    "Työnantaja vei passini ja uhkailee minua.",
    "Jag är inlåst och de har tagit mitt pass.",
    "Hjälp, han slår mig och jag kan inte gå härifrån.",
    "They force me to work and I am afraid for my life.",
]
LAW_EXAMPLES = [
    "What is the penalty for aggravated trafficking?",
    "Is taking someone's passport a crime under the Criminal Code?",
    "Mikä on rangaistus ihmiskaupasta?",
    "Vad är straffet för grov människohandel?",
    "Which authority decides on a reflection period?",
    "What does forced labour mean in the law?",
]


@dataclass(frozen=True)
class DangerSignal:
    """Whether a message is urgent, and why (no message text is kept)."""

    urgent: bool
    lexicon: bool
    similarity: float
    margin: float


class DangerDetector:
    """Lexicon plus e5 similarity to example messages; the embedding is the one the question already has."""

    def __init__(
        self, danger_vectors: np.ndarray, law_vectors: np.ndarray, threshold: float = 0.88, margin: float = 0.03
    ) -> None:
        self._danger = danger_vectors
        self._law = law_vectors
        self.threshold = threshold
        self.margin = margin

    @staticmethod
    def lexicon_hit(text: str) -> bool:
        """Tell whether a first-person danger phrase of any supported language occurs."""
        return any(p.search(text) for patterns in _PATTERNS.values() for p in patterns)

    def assess(self, text: str, embedding: np.ndarray) -> DangerSignal:
        """Judge one message by its text and its (normalised) embedding."""
        danger = float(np.max(self._danger @ embedding))
        law = float(np.max(self._law @ embedding))
        lexicon = self.lexicon_hit(text)
        similar = danger >= self.threshold and danger - law >= self.margin
        return DangerSignal(urgent=lexicon or similar, lexicon=lexicon, similarity=danger, margin=danger - law)
