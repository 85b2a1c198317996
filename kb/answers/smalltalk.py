"""Small talk: greetings, thanks, goodbyes, "who are you", "what can you do", insults and frustration.

A short message is small talk when a small model says so: a logistic regression over e5 embeddings, trained on the
prototypes of ``corpus/smalltalk.toml`` (seven intents) against every card question, paraphrase and question outside
the material (an eighth class, "none"), so that "kuka sä oot?" is a question about us and "kuka päättää?" one about
the material. A real question that opens with "thanks" ("kiitos, entä kuka päättää?") is longer, or closer to the
cards. The reply is the file's,
in the message's language; it never abstains and is never urgent by itself (the danger check runs first, unless the
message is all but one of the prototypes).

| number | value | why (corpus/eval/smalltalk.jsonl, dev split) |
|---|---|---|
| ``TALK_C`` | 1.0 | inverse L2 strength of the model; dev messages recognised (and real questions left alone): |
|  |  | 0.938 at C = 1, 0.926 at 10 and 100, each at its best threshold; 0.852 by the nearest prototype |
| ``TALK_PROBABILITY`` | 0.3 | the intent's probability above which a message is small talk (0.815 at 0.5 for C = 1) |
| ``TALK_FLOOR`` | 0.85 | and the cosine to the nearest prototype it must also reach: dev 0.926 at 0.83 to 0.87, and |
|  |  | "what's the weather tomorrow?" (0.82 to a greeting) is no longer taken for one |
| ``SURE`` | 0.95 | a cosine this close to a prototype is small talk whatever the model says ("tack"), and is |
|  |  | not checked for danger ("shut up" near a prototype is not danger) |
| ``MAX_WORDS`` | 10 | longer messages are questions even when they open with a greeting (dev: 0.901 at 8, |
|  |  | 0.926 at 10 and 12) |
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.answers.matching import save_arrays
from kb.errors import ConfigError
from kb.types import LANGUAGES

TALK_C = 1.0
TALK_PROBABILITY = 0.3
TALK_FLOOR = 0.85
SURE = 0.95
MAX_WORDS = 10
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

    def __init__(
        self,
        path: Path,
        encode_many: Callable[[list[str]], np.ndarray],
        questions: np.ndarray,
        cache: Path | None = None,
    ) -> None:
        """Read the prototypes and replies; train the model against ``questions`` (vectors of real questions)."""
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
        self._weights, self._bias = self._fit(questions, cache)

    def _fit(self, questions: np.ndarray, cache: Path | None) -> tuple[np.ndarray, np.ndarray]:
        """Train (or read from ``cache``) the intent model: one row per intent, "none" last."""
        digest = hashlib.sha256(f"{TALK_C}|{self._labels}".encode())
        digest.update(np.ascontiguousarray(self._vectors).tobytes())
        digest.update(np.ascontiguousarray(questions).tobytes())
        path = cache / f"smalltalk-{digest.hexdigest()[:16]}.npz" if cache is not None else None
        if path is not None and path.exists():
            with np.load(path) as saved:
                return saved["weights"], saved["bias"]
        from sklearn.linear_model import LogisticRegression

        x = np.vstack([self._vectors, questions])
        y = np.array([INTENTS.index(intent) for intent, _language in self._labels] + [len(INTENTS)] * len(questions))
        model = LogisticRegression(C=TALK_C, class_weight="balanced", max_iter=3000).fit(x, y)
        weights, bias = model.coef_.astype(np.float32), model.intercept_.astype(np.float32)
        if path is not None:
            save_arrays(path, {"weights": weights, "bias": bias}, "smalltalk-*.npz")
        return weights, bias

    def intent(self, embedding: np.ndarray) -> tuple[str | None, float]:
        """Return the likeliest intent (None: not small talk) and its probability."""
        logits = self._weights @ embedding + self._bias
        p = np.exp(logits - logits.max())
        p /= p.sum()
        best = int(np.argmax(p))
        return (INTENTS[best] if best < len(INTENTS) else None), float(p[best])

    def nearest(self, embedding: np.ndarray) -> tuple[str, str, float]:
        """Return the intent and language of the closest prototype, and its cosine."""
        cosines = self._vectors @ embedding
        best = int(np.argmax(cosines))
        intent, language = self._labels[best]
        return intent, language, float(cosines[best])

    def recognise(self, text: str, embedding: np.ndarray, language: str) -> SmallTalk | None:
        """Return the small talk ``text`` is, or None for anything else."""
        if len(_WORD.findall(text)) > MAX_WORDS:
            return None
        intent, closest, similarity = self.nearest(embedding)
        if similarity < SURE:
            found, probability = self.intent(embedding)
            if found is None or probability < TALK_PROBABILITY or similarity < TALK_FLOOR:
                return None
            intent = found
        reply, with_help = self._replies[(intent, language if language in LANGUAGES else "en")]
        return SmallTalk(intent, reply, with_help, similarity, closest)

    def reply(self, talk: SmallTalk, language: str) -> SmallTalk:
        """Return the same small talk answered in ``language``."""
        reply, with_help = self._replies[(talk.intent, language)]
        return SmallTalk(talk.intent, reply, with_help, talk.similarity, talk.language)
