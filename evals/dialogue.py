"""Conversations and small talk measured through ``ask`` (the API's JSON answer), on the dev or held-out half.

Conversations (corpus/eval/conversations.jsonl): every turn is asked with the history a client would send (the
earlier questions, answers, cards and cited documents); the last answer counts when it, or one of its quotes,
holds one of the expected phrases. Small talk (corpus/eval/smalltalk.jsonl): a greeting, thanks… counts when the
answer is small talk in the message's language; a real question dressed as small talk ("none") counts when it
is not answered as small talk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.gold import split_rows

Ask = Callable[[dict[str, Any]], dict[str, Any]]


def _holds(answer: dict[str, Any], phrases: list[str]) -> bool:
    text = " ".join([answer["answer"], *(c["quote"] for c in answer["citations"])]).casefold()
    return any(p.casefold() in text for p in phrases)


def turn_of(question: str, answer: dict[str, Any]) -> dict[str, Any]:
    """Return the history entry a client keeps for one answered turn."""
    documents = list(dict.fromkeys(c["document_id"] for c in answer["citations"]))
    return {
        "question": question,
        "answer": re.sub(r" ?\[\d+\]", "", answer["answer"]),
        "card_id": answer.get("card_id"),
        "document_ids": documents,
    }


def evaluate_conversations(path: Path, ask: Ask, split: str | None) -> dict[str, dict[str, Any]]:
    """Return per language (and "all"): conversations, last turns answered with the expected facts, card hits."""
    out: dict[str, dict[str, Any]] = {}
    for row in split_rows(path, split):
        history: list[dict[str, Any]] = []
        answer: dict[str, Any] = {}
        for question in row["turns"]:
            answer = ask({"question": question, "history": history[-6:], "ui_language": row["language"]})
            history.append(turn_of(question, answer))
        ok = _holds(answer, row["expect"]["must_contain"])
        for key in (row["language"], "all"):
            m = out.setdefault(key, {"conversations": 0, "answered": 0, "card_hits": 0, "misses": []})
            m["conversations"] += 1
            m["answered"] += ok
            m["card_hits"] += answer.get("card_id") == row["expect"]["card_id"]
            if not ok:
                m["misses"].append(row["id"])
    for m in out.values():
        m["answered_rate"] = round(m["answered"] / m["conversations"], 3)
        m["card_hit_rate"] = round(m["card_hits"] / m["conversations"], 3)
    return out


def evaluate_smalltalk(path: Path, ask: Ask, split: str | None) -> dict[str, dict[str, Any]]:
    """Return per language (and "all"): small talk handled in the right language, and real questions left alone."""
    out: dict[str, dict[str, Any]] = {}
    for row in split_rows(path, split):
        answer = ask({"question": row["text"], "ui_language": None})
        talk = answer["answer_kind"] == "smalltalk"
        if row["intent"] == "none":
            ok = not talk
        else:
            ok = talk and answer["language"] == row["language"] and not answer["abstained"] and not answer["urgent"]
        for key in (row["language"], "all"):
            m = out.setdefault(key, {"messages": 0, "handled": 0, "misses": []})
            m["messages"] += 1
            m["handled"] += ok
            if not ok:
                m["misses"].append(row["id"])
    for m in out.values():
        m["handled_rate"] = round(m["handled"] / m["messages"], 3)
    return out
