"""Retrieval evaluation: our gold questions and third-party sets, for hybrid retrieval and two baselines.

Majakka's hybrid retrieval is measured and, in the same run, a BM25-only and a dense-only baseline (the same index,
with one side of the fusion switched off).

Relevance:
- gold: a passage of an expected document whose section starts with the expected section;
- SweQUAD-MC: a passage of the question's context that contains the gold answer span;
- XQuAD: a passage of the question's paragraph (en→en, and sv→en with the Swedish questions);
- Tatoeba: the English sentence that translates the Finnish or Swedish one (top-1 accuracy);
- construction FAQ (the PyPI package ``zaragoza-construction-faq`` 1.2.1, "Swedish Construction FAQ by Zaragoza
  AB", CC BY 4.0): 503 questions, each answered by one entry; the answers are the corpus, a question's own answer
  is relevant (and the answers of the three questions it repeats word for word). In Swedish and in its English
  translation. Its answers are short, and its questions share few words with them: a set where BM25 is weak and
  dense retrieval strong, the opposite of SweQUAD-MC.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evals.gold import load_gold
from ingest.document import LoadedDocument
from ingest.indexer import Indexer
from kb.config import Settings
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from kb.search.store import open_client
from kb.text.spans import paragraphs
from kb.types import Passage

MODES = {"hybrid": None, "bm25": [0.0, 1.0], "dense": [1.0, 0.0]}
# The served fusion without the cards' signal (before it: what the question-to-question signal adds), and the
# other fusion, convex, with it: mode -> (fusion, with the cards' signal).
BEFORE_MODES: dict[str, tuple[str | None, bool]] = {"hybrid-no-cards": (None, False), "hybrid-convex": ("convex", True)}
# The same retrieval with the question embedded by the full-precision torch model instead of the int8 ONNX one.
REFERENCE_MODES = {"hybrid-fp32": None, "dense-fp32": [1.0, 0.0]}
K = 10


@dataclass
class Query:
    """One evaluation question and what counts as relevant for it."""

    id: str
    text: str
    language: str
    relevant: Callable[[Passage], bool]


@dataclass
class SetResult:
    """Metrics of one set, one mode, one language."""

    queries: int = 0
    recall: dict[int, float] = field(default_factory=lambda: {1: 0.0, 5: 0.0, 10: 0.0})
    mrr: float = 0.0
    ndcg: float = 0.0

    def add(self, flags: list[bool], relevant_count: int) -> None:
        """Count one query: ``flags`` say which of its ranked passages are relevant, best first."""
        self.queries += 1
        for k in self.recall:
            self.recall[k] += any(flags[:k])
        first = next((i for i, f in enumerate(flags[:K]) if f), None)
        self.mrr += 1.0 / (first + 1) if first is not None else 0.0
        dcg = sum(1.0 / math.log2(i + 2) for i, f in enumerate(flags[:K]) if f)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(K, max(1, relevant_count))))
        self.ndcg += dcg / ideal

    def summary(self) -> dict[str, float | int]:
        """Return the query count and the mean recall@1/5/10, MRR@10 and nDCG@10, rounded."""
        n = max(1, self.queries)
        return {
            "queries": self.queries,
            **{f"recall@{k}": round(v / n, 4) for k, v in self.recall.items()},
            "mrr@10": round(self.mrr / n, 4),
            "ndcg@10": round(self.ndcg / n, 4),
        }


def evaluate(
    kb: KnowledgeBase,
    queries: Iterable[Query],
    progress: Callable[[int], None] | None = None,
    reference: Encoder | None = None,
) -> dict[str, dict[str, dict[str, Any]]]:
    """Run every query in every mode; one embedding per question serves the three modes.

    With a ``reference`` encoder (the full-precision model), the REFERENCE_MODES run too, on its embeddings.
    nDCG's ideal ranking counts every relevant passage in the index (a question may have several).
    """
    queries = list(queries)
    modes: list[tuple[str, list[float] | None, bool, str | None, bool]] = [
        (mode, weights, False, None, weights is None) for mode, weights in MODES.items()
    ]
    modes += [(mode, None, False, method, cards) for mode, (method, cards) in BEFORE_MODES.items()]
    reference_vectors = None
    if reference is not None:
        modes += [(mode, weights, True, None, weights is None) for mode, weights in REFERENCE_MODES.items()]
        reference_vectors = reference.encode_many([q.text for q in queries])
    results: dict[str, dict[str, SetResult]] = {mode: {} for mode, _w, _r, _m, _c in modes}
    snapshot = kb.hybrid.snapshot.current() if kb.hybrid.snapshot is not None else None
    every = [Passage.from_document(d) for d in snapshot.documents] if snapshot else []
    for i, query in enumerate(queries):
        relevant_count = sum(1 for p in every if query.relevant(p)) if every else 1
        embedding = kb.encoder.encode(query.text)
        for mode, weights, by_reference, method, cards in modes:
            vector = reference_vectors[i] if by_reference and reference_vectors is not None else embedding
            fused = kb.retrieve(
                query.text, vector, language=query.language, top_k=K, weights=weights, fusion=method, cards=cards
            )
            flags = [query.relevant(Passage.from_document(d)) for d in fused]
            for group in (query.language, "all"):
                results[mode].setdefault(group, SetResult()).add(flags, relevant_count)
        if progress:
            progress(i + 1)
    return {mode: {g: r.summary() for g, r in groups.items()} for mode, groups in results.items()}


def gold_queries(folder: Path, split: str | None = None) -> list[Query]:
    """Answerable gold questions (of one split, or all) with their expected sections."""
    out = []
    for q in load_gold(folder, split):
        if not q.expected or not q.answerable:
            continue

        def relevant(p: Passage, expected: list[dict[str, str | None]] = q.expected) -> bool:
            return any(
                p.document_id == e["document_id"]
                and (
                    not e.get("section")
                    or (p.section or "").startswith(str(e["section"]))
                    or p.title == e["section"]
                )
                for e in expected
            )

        out.append(Query(q.id, q.question, q.language, relevant))
    return out


def _in_document(document_id: str) -> Callable[[Passage], bool]:
    """Return the relevance test of a question whose answer is one document: the passage belongs to it."""
    return lambda p: p.document_id == document_id


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def swequad(folder: Path) -> tuple[list[tuple[str, str, str]], list[Query]]:
    """SweQUAD-MC: (document name, text) for every distinct context, and the questions."""
    contexts: dict[str, str] = {}
    queries: list[Query] = []
    for split in ("training", "dev", "test"):
        for i, item in enumerate(json.loads((folder / f"{split}.json").read_text(encoding="utf-8"))["data"]):
            context = item["context"]
            name = contexts.setdefault(context, f"ctx{len(contexts):04d}")
            answer = next(c for c in item["choices"] if c.get("type") == "Correct answer")
            span = _norm(context[answer["start"] : answer["end"]])

            def relevant(p: Passage, name: str = name, span: str = span) -> bool:
                return p.document_id == name and span in _norm(p.text)

            queries.append(Query(f"{split}-{i}", item["question"], "sv", relevant))
    # A context's first line is the agency page's title.
    return [(name, text.splitlines()[0].strip(), text) for text, name in contexts.items()], queries


def xquad(folder: Path) -> tuple[list[tuple[str, str, str]], list[Query]]:
    """XQuAD: the English paragraphs, English questions and their Swedish translations."""
    documents: list[tuple[str, str, str]] = []
    queries: list[Query] = []
    by_id: dict[str, str] = {}
    for language in ("en", "sv"):
        data = json.loads((folder / f"xquad.{language}.json").read_text(encoding="utf-8"))["data"]
        n = 0
        for article in data:
            for paragraph in article["paragraphs"]:
                name = f"para{n:04d}"
                n += 1
                if language == "en":
                    documents.append((name, str(article.get("title", "")).replace("_", " "), paragraph["context"]))
                for qa in paragraph["qas"]:
                    by_id.setdefault(qa["id"], name)
                    target = by_id[qa["id"]]
                    queries.append(Query(f"{language}-{qa['id']}", qa["question"], language, _in_document(target)))
    return documents, queries


def tatoeba(folder: Path, pair: str, language: str) -> tuple[list[tuple[str, str, str]], list[Query]]:
    """Tatoeba: the English sentences as the corpus, the Finnish or Swedish ones as questions."""
    source = (folder / f"tatoeba.{pair}.{pair[:3]}").read_text(encoding="utf-8").splitlines()
    english = (folder / f"tatoeba.{pair}.eng").read_text(encoding="utf-8").splitlines()
    documents = [(f"s{i:04d}", "", line) for i, line in enumerate(english)]
    queries = [
        Query(f"{language}-{i}", line, language, _in_document(f"s{i:04d}"))
        for i, line in enumerate(source)
    ]
    return documents, queries


def construction_faq(language: str) -> tuple[list[tuple[str, str, str]], list[Query]]:
    """Return the construction FAQ in ``sv`` or ``en``: its answers as the corpus, its questions as the queries."""
    try:
        import zaragoza_construction_faq as faq
    except ImportError as exc:
        raise RuntimeError("the FAQ set needs `pip install zaragoza-construction-faq==1.2.1` (in .[dev])") from exc
    items = faq.load(lang="en") if language == "en" else faq.load()
    answers: dict[str, set[str]] = {}
    for item in items:
        answers.setdefault(_norm(item["q"]), set()).add(item["id"])
    documents = [(str(item["id"]), "", str(item["a"])) for item in items]
    queries = [
        Query(str(item["id"]), str(item["q"]), language, _in_one_of(frozenset(answers[_norm(item["q"])])))
        for item in items
    ]
    return documents, queries


def _in_one_of(document_ids: frozenset[str]) -> Callable[[Passage], bool]:
    return lambda p: p.document_id in document_ids


def build_index(settings: Settings, documents: list[tuple[str, str, str]], language: str, data_dir: Path) -> None:
    """Index (name, title, text) documents into a fresh data folder with Majakka's own chunking."""
    loaded = []
    for name, title, text in documents:
        body = re.sub(r"\r?\n", "\n\n", text.strip())  # one paragraph a line, as the loaders write them
        if not paragraphs(body, 0, len(body)):
            continue
        loaded.append(LoadedDocument(name, title, language, None, name, body))
    eval_settings = settings.with_data_dir(data_dir)
    client = open_client(eval_settings)
    try:
        Indexer(eval_settings, client).index_documents(loaded)
    finally:
        client.close()


def run_external(
    settings: Settings,
    name: str,
    documents: list[tuple[str, str, str]],
    language: str,
    queries: list[Query],
    progress: Callable[[int], None] | None = None,
    reference: Encoder | None = None,
) -> dict[str, Any]:
    """Index a third-party corpus in a temporary folder and evaluate on it."""
    work = Path(tempfile.mkdtemp(prefix=f"majakka-eval-{name}-"))
    try:
        data_dir = work / "data"
        build_index(settings, documents, language, data_dir)
        with KnowledgeBase(settings.with_data_dir(data_dir)) as kb:
            return evaluate(kb, queries, progress, reference)
    finally:
        shutil.rmtree(work, ignore_errors=True)
