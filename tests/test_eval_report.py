"""`make eval`'s report renders every kind of figure the evaluation returns."""

from __future__ import annotations

from evals.evaluation import MODES
from evals.report import markdown, retrieval_sets


def _metrics(ndcg: float) -> dict[str, float | int]:
    return {"queries": 3, "recall@1": 0.5, "recall@5": 0.8, "recall@10": 0.9, "mrr@10": 0.6, "ndcg@10": ndcg}


def test_report_renders_retrieval_beside_plain_wordings_and_outside_questions() -> None:
    retrieval = {mode: {"sv": _metrics(0.7), "all": _metrics(0.7)} for mode in MODES}
    plain = {"fi": {"plain": 4, "plain_support": 0.5, "plain_direct_at_1": 0.25, "plain_false_abstention": 0.0,
                    "outside": 5, "outside_abstention": 0.8}}
    results = {"swequad": retrieval, "plain-dev": plain, "_seconds": {"swequad": 1.0}}
    assert list(retrieval_sets(results)) == ["swequad"]
    text = markdown(results)
    assert "| swequad | sv | hybrid | 3 |" in text
    assert "| fi | 4 | 0.5 | 0.25 | 0.0 | 5 | 0.8 |" in text
