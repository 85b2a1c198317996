"""`kb eval`: every evaluation set, Majakka against its baselines, written as Markdown, JSON and a PNG chart."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from evals.evaluation import (
    BEFORE_MODES,
    MODES,
    construction_faq,
    evaluate,
    gold_queries,
    run_external,
    swequad,
    tatoeba,
    xquad,
)
from evals.gold import SPLITS, evaluate_answers, evaluate_plain_and_outside, load_gold
from kb.config import Settings

TARGETS = {
    "gold-dev": ("recall@5", 0.95),
    "gold-heldout": ("recall@5", 0.95),
    "swequad": ("ndcg@10", 0.90),
    "xquad-en": ("ndcg@10", 0.96),
    "xquad-sv-en": ("ndcg@10", 0.80),
    "tatoeba-fi-en": ("recall@1", 0.90),
    "tatoeba-sv-en": ("recall@1", 0.90),
    "faq-sv": ("ndcg@10", 0.70),
    "faq-en": ("ndcg@10", 0.70),
}
EVAL_SETS = ("gold", "safety", "dialogue", "swequad", "xquad", "tatoeba", "faq")
# Fusion is never to fall further below the better of its two sides than this, on any set (nDCG@10 / recall@1).
FUSION_SLACK = 0.005


def _bar(total: int, label: str) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=label, disable=not sys.stderr.isatty(), leave=False)


def run_all(settings: Settings, *, sets: list[str] | None = None) -> dict[str, Any]:
    """Evaluate the chosen sets (default all) and return {set: {mode: {language: metrics}}}."""
    from kb.knowledge_base import KnowledgeBase
    from kb.models.encoders import QueryEncoder

    wanted = set(sets or EVAL_SETS)
    results: dict[str, Any] = {}
    timings: dict[str, float] = {}
    # Questions are served by the int8 ONNX encoder; every set is also run with the full-precision one to show
    # what the quantisation costs.
    reference = QueryEncoder(settings)

    if "gold" in wanted:
        began = time.perf_counter()
        with KnowledgeBase(settings) as kb:
            for split in SPLITS:  # dev: tune on it; heldout: CI gates on it (corpus/eval/README.md)
                queries = gold_queries(settings.gold, split)
                with _bar(len(queries), f"gold {split}") as bar:
                    results[f"gold-{split}"] = evaluate(kb, queries, lambda n: bar.update(1), reference)
                metrics, _failures = evaluate_answers(
                    load_gold(settings.gold, split), lambda q: kb.ask(q.question, audience=q.audience).to_dict()
                )
                results[f"answers-{split}"] = {k: v.summary() for k, v in metrics.items()}
                results[f"plain-{split}"] = evaluate_plain_and_outside(
                    settings.gold, lambda q, a: kb.ask(q, audience=a).to_dict(), split
                )
        timings["gold"] = time.perf_counter() - began

    if wanted & {"safety", "dialogue"}:
        began = time.perf_counter()
        with KnowledgeBase(settings) as kb:
            results.update(conversation_figures(kb, settings, wanted))
        timings["safety+dialogue"] = time.perf_counter() - began

    if "swequad" in wanted:
        began = time.perf_counter()
        documents, queries = swequad(settings.eval_sets / "sv_swequad_mc")
        with _bar(len(queries), "swequad") as bar:
            results["swequad"] = run_external(
                settings, "swequad", documents, "sv", queries, lambda n: bar.update(1), reference
            )
        timings["swequad"] = time.perf_counter() - began

    if "xquad" in wanted:
        began = time.perf_counter()
        documents, queries = xquad(settings.eval_sets / "en_sv_xquad")
        with _bar(len(queries), "xquad") as bar:
            both = run_external(settings, "xquad", documents, "en", queries, lambda n: bar.update(1), reference)
        results["xquad-en"] = {mode: {"en": v["en"]} for mode, v in both.items()}
        results["xquad-sv-en"] = {mode: {"sv": v["sv"]} for mode, v in both.items()}
        timings["xquad"] = time.perf_counter() - began

    if "tatoeba" in wanted:
        began = time.perf_counter()
        folder = settings.eval_sets / "fi_sv_en_tatoeba"
        # Tatoeba is symmetric (sentence ↔ translation): e5's convention is "query: " on both sides.
        symmetric = settings.model_copy(
            update={
                "embedding": settings.embedding.model_copy(
                    update={"model": str(settings.model_dir), "passage_prefix": "query: "}
                )
            }
        )
        for pair, language in (("fin-eng", "fi"), ("swe-eng", "sv")):
            documents, queries = tatoeba(folder, pair, language)
            with _bar(len(queries), f"tatoeba {language}") as bar:
                results[f"tatoeba-{language}-en"] = run_external(
                    symmetric, f"tatoeba-{language}", documents, "en", queries, lambda n: bar.update(1), reference
                )
        timings["tatoeba"] = time.perf_counter() - began

    if "faq" in wanted:
        began = time.perf_counter()
        for language in ("sv", "en"):
            documents, queries = construction_faq(language)
            with _bar(len(queries), f"faq {language}") as bar:
                results[f"faq-{language}"] = run_external(
                    settings, f"faq-{language}", documents, language, queries, lambda n: bar.update(1), reference
                )
        timings["faq"] = time.perf_counter() - began
    results["_seconds"] = {k: round(v, 1) for k, v in timings.items()}
    return results


def conversation_figures(kb: Any, settings: Settings, wanted: set[str]) -> dict[str, Any]:
    """Measure the danger check on the held-out safety messages, and conversations and small talk on both halves."""
    from evals.dialogue import evaluate_conversations, evaluate_smalltalk
    from evals.safety import evaluate_safety
    from kb.answers.conversation import Turn
    from kb.asking import Question
    from kb.safety.training import load_messages

    def ask(body: dict[str, Any]) -> dict[str, Any]:
        history = tuple(
            Turn(t["question"], t["answer"], t["card_id"], tuple(t["document_ids"])) for t in body.get("history", [])
        )
        answer = kb.ask(Question(body["question"], ui_language=body.get("ui_language"), history=history))
        return dict(answer.to_dict())

    out: dict[str, Any] = {}
    if "safety" in wanted:
        counts = evaluate_safety(
            load_messages(settings.safety, "heldout"), lambda t: ask({"question": t}), kb.help_desk.languages
        )
        out["_safety-heldout"] = {g: c.summary() for g, c in counts.items()}
    if "dialogue" in wanted:
        for split in SPLITS:
            conversations = evaluate_conversations(settings.gold / "conversations.jsonl", ask, split)
            talk = evaluate_smalltalk(settings.gold / "smalltalk.jsonl", ask, split)
            out[f"_conversations-{split}"] = {k: _without_misses(v) for k, v in conversations.items()}
            out[f"_smalltalk-{split}"] = {k: _without_misses(v) for k, v in talk.items()}
    return out


def _without_misses(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in figures.items() if k != "misses"}


def _all(metrics: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = metrics.get("all") or next(iter(metrics.values()))
    return found


def retrieval_sets(results: dict[str, Any]) -> dict[str, Any]:
    """Return the results that are retrieval figures ({mode: {language: metrics}}), not answers or dialogue."""
    return {name: modes for name, modes in results.items() if isinstance(modes, dict) and set(MODES) <= set(modes)}


def markdown(results: dict[str, Any]) -> str:
    """Render the report as Markdown tables."""
    lines = ["# Majakka retrieval evaluation", ""]
    lines += [
        "| set | language | mode | queries | recall@1 | recall@5 | recall@10 | MRR@10 | nDCG@10 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, modes in retrieval_sets(results).items():
        for mode in [*MODES, *(m for m in BEFORE_MODES if m in modes)]:
            for language, m in sorted(modes[mode].items()):
                lines.append(
                    f"| {name} | {language} | {mode} | {m['queries']} | {m['recall@1']:.3f} | {m['recall@5']:.3f} | "
                    f"{m['recall@10']:.3f} | {m['mrr@10']:.3f} | {m['ndcg@10']:.3f} |"
                )
    lines += [
        "",
        "## Targets",
        "",
        f"| set | metric | target | hybrid | BM25 | dense | hybrid ≥ better side − {FUSION_SLACK} "
        "| hybrid without the cards' signal | it ≥ better side − " + f"{FUSION_SLACK} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (metric, target) in TARGETS.items():
        if name not in results:
            continue
        values = {mode: _all(results[name][mode])[metric] for mode in MODES}
        better = max(values["bm25"], values["dense"])
        ok = values["hybrid"] >= better - FUSION_SLACK
        before = _all(results[name]["hybrid-no-cards"])[metric] if "hybrid-no-cards" in results[name] else None
        before_cells = (f"{before:.3f} | {'yes' if before >= better - FUSION_SLACK else 'no'}"
                        if before is not None else "– | –")
        lines.append(
            f"| {name} | {metric} | {target} | {values['hybrid']:.3f} {'✓' if values['hybrid'] >= target else '✗'} | "
            f"{values['bm25']:.3f} | {values['dense']:.3f} | {'yes' if ok else 'no'} | {before_cells} |"
        )
    lines += _quantisation(results)
    for split in (s for s in SPLITS if f"answers-{s}" in results):
        lines += [
            "",
            f"## Gold answers ({split})",
            "",
            "| language | answerable | support | out-of-scope abstention | false abstention | danger recall "
            "| danger false alarms | card hits | direct@1 | sentences per answer | mixed-language answers |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for language, m in sorted(results[f"answers-{split}"].items()):
            def f(v: Any) -> str:
                return "–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))
            lines.append(
                f"| {language} | {m['answerable']} | {f(m['support'])} | {f(m['out_of_scope_abstention'])} | "
                f"{f(m['false_abstention'])} | {f(m['danger_recall'])} | {f(m['danger_false_alarms'])} | "
                f"{f(m['card_hit_rate'])} | {f(m['direct_at_1'])} | {f(m['sentences_per_answer'])} | "
                f"{f(m['mixed_language_answers'])} |"
            )
    lines += _plain_tables(results)
    lines += _conversation_tables(results)
    lines += ["", f"Seconds per set: {json.dumps(results.get('_seconds', {}))}", ""]
    return "\n".join(lines)


def _plain_tables(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for split in (s for s in SPLITS if f"plain-{s}" in results):
        lines += [
            "",
            f"## Plain wordings and questions outside the material ({split})",
            "",
            "| language | plain questions | support | direct@1 | abstained | outside questions | abstained |",
            "|---|---|---|---|---|---|---|",
        ]
        for language, m in sorted(results[f"plain-{split}"].items()):
            cells = [m["plain"], m["plain_support"], m["plain_direct_at_1"], m["plain_false_abstention"]]
            cells += [m["outside"], m["outside_abstention"]]
            lines.append(f"| {language} | " + " | ".join("–" if c is None else str(c) for c in cells) + " |")
    return lines


def _conversation_tables(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if "_safety-heldout" in results:
        lines += [
            "", "## Danger check (held-out safety messages)", "",
            "| group | danger | harmless | recall | false alarms | tp/fn/fp/tn | now: 112 first | help in own tongue |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for group, m in results["_safety-heldout"].items():
            c = m["confusion"]
            lines.append(
                f"| {group} | {m['danger']} | {m['harmless']} | {m['recall']} | {m['false_alarm_rate']} | "
                f"{c['tp']}/{c['fn']}/{c['fp']}/{c['tn']} | {m['now_112_first']} | {m['help_in_own_language']} |"
            )
    for split in SPLITS:
        conversations, talk = results.get(f"_conversations-{split}"), results.get(f"_smalltalk-{split}")
        if not conversations or not talk:
            continue
        lines += [
            "", f"## Conversations and small talk ({split})", "",
            "| language | conversations | last turn answered | card hit | small talk handled |",
            "|---|---|---|---|---|",
        ]
        for language in sorted(conversations):
            c, t = conversations[language], talk.get(language, {})
            lines.append(
                f"| {language} | {c['conversations']} | {c['answered_rate']} | {c['card_hit_rate']} | "
                f"{t.get('handled_rate')} |"
            )
    return lines


def _quantisation(results: dict[str, Any]) -> list[str]:
    """nDCG@10 with questions embedded by the int8 ONNX encoder against the full-precision torch model."""
    lines = [
        "",
        "## Question encoder: int8 ONNX (served) against full-precision torch",
        "",
        "| set | mode | nDCG@10 int8 | nDCG@10 fp32 | difference | within 0.01 |",
        "|---|---|---|---|---|---|",
    ]
    for name, modes in retrieval_sets(results).items():
        for mode in ("hybrid", "dense"):
            if f"{mode}-fp32" not in modes:
                continue
            int8, fp32 = _all(modes[mode])["ndcg@10"], _all(modes[f"{mode}-fp32"])["ndcg@10"]
            ok = int8 >= fp32 - 0.01
            lines.append(
                f"| {name} | {mode} | {int8:.3f} | {fp32:.3f} | {int8 - fp32:+.3f} | {'yes' if ok else 'no'} |"
            )
    return lines


def chart(results: dict[str, Any], path: Path) -> None:
    """Draw a grouped bar chart of nDCG@10 (top-1 accuracy for Tatoeba) per set and mode."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [n for n in TARGETS if n in results]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    width = 0.25
    for i, mode in enumerate(MODES):
        values = [_all(results[n][mode])[TARGETS[n][0]] for n in names]
        ax.bar([x + (i - 1) * width for x in range(len(names))], values, width, label=mode)
    ax.set_xticks(range(len(names)), [f"{n}\n({TARGETS[n][0]})" for n in names], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("score")
    ax.set_title("Majakka hybrid retrieval against BM25-only and dense-only")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_reports(results: dict[str, Any], folder: Path, name: str = "eval") -> list[Path]:
    """Write Markdown, JSON and PNG; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js, png = folder / f"{name}.md", folder / f"{name}.json", folder / f"{name}.png"
    md.write_text(markdown(results), encoding="utf-8")
    js.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    chart(results, png)
    return [md, js, png]
