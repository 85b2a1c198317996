"""Our gold questions (corpus/eval/gold.jsonl) and the answer metrics computed on them."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("dev", "heldout")
ANSWERABLE = {"public", "staff", "harmless_alarming"}


@dataclass(frozen=True)
class GoldQuestion:
    """One question with what a correct answer needs."""

    id: str
    language: str
    question: str
    category: str
    audience: str
    expected: list[dict[str, str | None]]
    # One phrase, or alternatives that state the same fact in another inflection or wording of the sources
    # ("kuusi kuukautta" / "kuuden kuukauden").
    must_contain: str | list[str] | None
    split: str  # "dev": tune on it; "heldout": gate on it (corpus/eval/README.md)

    @property
    def answerable(self) -> bool:
        """Whether the question's category is one the knowledge base should answer."""
        return self.category in ANSWERABLE


def load_gold(folder: Path, split: str | None = None) -> list[GoldQuestion]:
    """Return the gold questions of ``folder``/gold.jsonl: one split (``dev`` or ``heldout``), or all."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown gold split {split!r}; one of {SPLITS}")
    questions = []
    for line in (folder / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            question = GoldQuestion(**{k: row.get(k) for k in GoldQuestion.__dataclass_fields__})
            if split is None or question.split == split:
                questions.append(question)
    return questions


def phrases(must_contain: str | list[str] | None) -> list[str]:
    """Return the alternatives of a ``must_contain`` value (none for null)."""
    if must_contain is None:
        return []
    return [must_contain] if isinstance(must_contain, str) else list(must_contain)


def supported(answer: dict[str, Any], phrase: str | list[str]) -> bool:
    """One of the expected phrases is in the answer, one of its cited quotes or its help block (what a reader sees)."""
    help_block = answer.get("help") or {}
    shown = [help_block.get("text") or ""]
    shown += [f"{c.get('name')} {c.get('phone') or ''} {c.get('text') or ''}" for c in help_block.get("contacts") or []]
    haystack = " ".join([answer["answer"], *(c["quote"] for c in answer["citations"]), *shown]).casefold()
    return any(p.casefold() in haystack for p in phrases(phrase))


def direct(answer: dict[str, Any], phrase: str | list[str]) -> bool:
    """Tell whether the expected fact comes before the first citation marker (the answer's first sentence)."""
    first = answer["answer"].split("[", 1)[0].casefold()
    return any(p.casefold() in first for p in phrases(phrase))


def mixes_languages(answer: dict[str, Any]) -> bool:
    """Tell whether an answer asserts sentences in another language than its own (an extract quoting one)."""
    if answer.get("answer_kind") not in (None, "extract"):
        return False  # curated sentences are written in the answer's language
    return any(c["language"] != answer["language"] for c in answer["citations"])


@dataclass
class AnswerMetrics:
    """Counts per group; ratios computed on demand."""

    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def ratio(self, hits: str, total: str) -> float | None:
        """Return the count ``hits`` over the count ``total``; None when ``total`` is zero."""
        return self.counts[hits] / self.counts[total] if self.counts[total] else None

    def summary(self) -> dict[str, float | int | None]:
        """support, abstention, false abstention, danger recall and false alarms."""
        return {
            "answerable": self.counts["answerable"],
            "support": self.ratio("supported", "answerable"),
            "out_of_scope_abstention": self.ratio("abstained_oos", "out_of_scope"),
            "false_abstention": self.ratio("abstained_answerable", "answerable"),
            "danger_recall": self.ratio("urgent_danger", "danger"),
            "danger_false_alarms": self.counts["urgent_harmless"],
            "card_hit_rate": self.ratio("cards", "answerable"),
            "direct_at_1": self.ratio("direct", "answerable"),
            "sentences_per_answer": self.ratio("sentences", "answered"),
            "mixed_language_answers": self.counts["mixed"],
        }


def evaluate_answers(
    questions: Iterable[GoldQuestion], ask: Callable[[GoldQuestion], dict[str, Any]]
) -> tuple[dict[str, AnswerMetrics], list[dict[str, Any]]]:
    """Ask every question; return metrics per language (and "all") and the failures, for a report."""
    metrics: dict[str, AnswerMetrics] = defaultdict(AnswerMetrics)
    failures: list[dict[str, Any]] = []
    for q in questions:
        answer = ask(q)
        groups = [metrics[q.language], metrics["all"]]
        problems = []
        for m in groups:
            c = m.counts
            if q.answerable:
                c["answerable"] += 1
                if answer["abstained"]:
                    c["abstained_answerable"] += 1
                if q.must_contain and supported(answer, q.must_contain):
                    c["supported"] += 1
                if q.must_contain and direct(answer, q.must_contain):
                    c["direct"] += 1
                if not answer["abstained"]:
                    c["answered"] += 1
                    c["sentences"] += len(answer["citations"])
                    c["mixed"] += int(mixes_languages(answer))
                c["cards"] += int(answer.get("answer_kind") == "card")
                if q.category == "harmless_alarming":
                    c["harmless"] += 1
                    c["urgent_harmless"] += int(answer["urgent"])
            elif q.category == "out_of_scope":
                c["out_of_scope"] += 1
                c["abstained_oos"] += int(answer["abstained"])
            elif q.category == "danger":
                c["danger"] += 1
                c["urgent_danger"] += int(answer["urgent"])
        if q.answerable and q.must_contain and not supported(answer, q.must_contain):
            problems.append("unsupported" + (" (abstained)" if answer["abstained"] else ""))
        if q.category == "out_of_scope" and not answer["abstained"]:
            problems.append("answered out-of-scope")
        if q.category == "danger" and not answer["urgent"]:
            problems.append("missed danger")
        if q.category == "harmless_alarming" and answer["urgent"]:
            problems.append("false alarm")
        if problems:
            failures.append({"id": q.id, "problems": problems, "answer": answer["answer"][:200]})
    return dict(metrics), failures


def split_rows(path: Path, split: str | None) -> list[dict[str, Any]]:
    """Return the rows of a corpus/eval JSON-lines file in ``split`` ("dev", "heldout"; None: all)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if split is None or r["split"] == split]


def evaluate_plain_and_outside(
    folder: Path, ask: Callable[[str, str], dict[str, Any]], split: str
) -> dict[str, dict[str, Any]]:
    """Ask the plain-worded questions and those outside the material (corpus/eval); return per language and "all".

    Plain questions (plain-questions.jsonl) count as supported and direct as gold questions do; an outside question
    (out-of-scope.jsonl) counts when the answer abstains. ``ask(question, audience)`` returns the API's JSON answer.
    """
    out: dict[str, dict[str, Any]] = {}

    def add(language: str, name: str, value: bool) -> None:
        for key in (language, "all"):
            counts = out.setdefault(key, defaultdict(int))
            counts[name] += int(value)

    for row in split_rows(folder / "plain-questions.jsonl", split):
        answer = ask(row["question"], row.get("audience", "public"))
        add(row["language"], "plain", True)
        add(row["language"], "plain_supported", supported(answer, row["must_contain"]))
        add(row["language"], "plain_direct", direct(answer, row["must_contain"]))
        add(row["language"], "plain_abstained", bool(answer["abstained"]))
    for row in split_rows(folder / "out-of-scope.jsonl", split):
        answer = ask(row["question"], "public")
        add(row["language"], "outside", True)
        add(row["language"], "outside_abstained", bool(answer["abstained"]))
    figures: dict[str, dict[str, Any]] = {}
    for key, c in out.items():
        figures[key] = {
            "plain": c["plain"],
            "plain_support": round(c["plain_supported"] / c["plain"], 3) if c["plain"] else None,
            "plain_direct_at_1": round(c["plain_direct"] / c["plain"], 3) if c["plain"] else None,
            "plain_false_abstention": round(c["plain_abstained"] / c["plain"], 3) if c["plain"] else None,
            "outside": c["outside"],
            "outside_abstention": round(c["outside_abstained"] / c["outside"], 3) if c["outside"] else None,
        }
    return figures
