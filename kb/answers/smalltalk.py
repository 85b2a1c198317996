"""Small talk: greetings, thanks, goodbyes, "who are you", "what can you do", insults and frustration.

A message is small talk when its e5 embedding is close to one of the prototypes in ``corpus/smalltalk.toml`` and it
is short: a real question that opens with "thanks" ("kiitos, entä kuka päättää?") is longer and closer to a card.
The reply is the file's, in the message's language; it never abstains and is never urgent by itself (the danger
check runs first).

| number | value | why (corpus/eval/smalltalk.jsonl, dev split) |
|---|---|---|
| ``SIMILARITY`` | 0.905 | the cosine to the nearest prototype above which a message may be small talk (the dev
  questions dressed as small talk reached 0.903) |
| ``SURE`` | 0.95 | above this it is small talk even when a card question shares its words ("tack") |
| ``CARD_OVER`` | 1.05 | between the two, a card scoring this much (cosine + terms) answers instead |
| ``MAX_WORDS`` | 8 | longer messages are questions even when they open with a greeting |
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ConfigError
from kb.types import LANGUAGES

SIMILARITY = 0.905
SURE = 0.95
CARD_OVER = 1.05
MAX_WORDS = 8
INTENTS = ("greeting", "thanks", "goodbye", "who_are_you", "what_can_you_do", "insult", "frustration")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SmallTalk:
    """The intent found, the reply in the message's language, and whether the help block goes with it."""

    intent: str
    reply: str
    help: bool
    similarity: float
    language: str  # the language of the closest prototype (for a message too short to tell its own)


class SmallTalkReplies:
    """Prototypes and replies per intent and language, and the nearest-prototype decision."""

    def __init__(self, path: Path, encode_many: Callable[[list[str]], np.ndarray]) -> None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the small talk {path}: {exc}") from exc
        self._replies: dict[tuple[str, str], tuple[str, bool]] = {}
        labels: list[tuple[str, str]] = []
        examples: list[str] = []
        for intent in INTENTS:
            for language in LANGUAGES:
                table = data.get(intent, {}).get(language)
                if not table or not table.get("examples") or not table.get("reply"):
                    raise ConfigError(f"{path}: [{intent}.{language}] needs examples and a reply")
                self._replies[(intent, language)] = (str(table["reply"]), bool(table.get("help", False)))
                labels += [(intent, language)] * len(table["examples"])
                examples += [str(e) for e in table["examples"]]
        self._labels = labels
        self._vectors = encode_many(examples)

    def nearest(self, embedding: np.ndarray) -> tuple[str, str, float]:
        """Return the intent and language of the closest prototype, and its cosine."""
        cosines = self._vectors @ embedding
        best = int(np.argmax(cosines))
        intent, language = self._labels[best]
        return intent, language, float(cosines[best])

    def recognise(self, text: str, embedding: np.ndarray, language: str, card_score: float) -> SmallTalk | None:
        """Return the small talk ``text`` is, or None for anything else (``card_score``: the best card's score)."""
        if len(_WORD.findall(text)) > MAX_WORDS:
            return None
        intent, closest, similarity = self.nearest(embedding)
        if similarity < SIMILARITY or (similarity < SURE and card_score >= CARD_OVER):
            return None
        reply, with_help = self._replies[(intent, language if language in LANGUAGES else "en")]
        return SmallTalk(intent, reply, with_help, similarity, closest)

    def reply(self, talk: SmallTalk, language: str) -> SmallTalk:
        """Return the same small talk answered in ``language``."""
        reply, with_help = self._replies[(talk.intent, language)]
        return SmallTalk(talk.intent, reply, with_help, talk.similarity, talk.language)
