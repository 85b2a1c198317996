"""Hybrid retrieval finds paraphrased questions in each language, and across languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.asking import SCOPE_ABSTAIN
from kb.config import Settings
from kb.knowledge_base import KnowledgeBase
from kb.models.encoders import Encoder
from tests.conftest import FIXTURE_CORPUS, ingest_into, make_settings


@pytest.fixture(scope="module")
def fixture_kb(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder, model_dir: Path) -> Iterator[KnowledgeBase]:
    settings: Settings = make_settings(tmp_path_factory.mktemp("fixture-data"))
    ingest_into(settings, [FIXTURE_CORPUS])
    kb = KnowledgeBase(settings, encoder=encoder)
    yield kb
    kb.close()


@pytest.mark.parametrize(
    ("question", "document_id"),
    [
        ("Mihin aikaan kirjasto aukeaa lauantaina?", "fixture-kirjasto-fi"),
        ("Minne vanhat lääkkeet viedään?", "fixture-kierratys-fi"),
        ("Kuka myöntää uhrille harkinta-ajan?", "fixture-harkinta-fi"),
        ("Vem rapporterar om människohandel i Finland?", "fixture-rapportor-sv"),
        ("Hur varmt blir havet på sommaren?", "fixture-vader-sv"),
        ("När kommer biblioteksbussen?", "fixture-bibliotek-sv"),
        ("Can I call the victims' line anonymously at night?", "fixture-helpline-en"),
        ("How long should rye bread be baked?", "fixture-cooking-en"),
        ("Do I need lights on my bike in winter?", "fixture-cycling-en"),
    ],
)
def test_retrieval_paraphrase_finds_the_right_passage_first(
    fixture_kb: KnowledgeBase, question: str, document_id: str
) -> None:
    assert fixture_kb.search(question, k=3)[0].document_id == document_id


def test_retrieval_cross_lingual_english_question_finds_swedish_and_finnish(fixture_kb: KnowledgeBase) -> None:
    assert fixture_kb.search("Who is the national rapporteur on human trafficking?", k=1)[0].document_id == (
        "fixture-rapportor-sv"
    )
    assert fixture_kb.search("Which authority grants a reflection period?", k=1)[0].document_id == (
        "fixture-harkinta-fi"
    )


def test_ask_about_own_documents_is_not_turned_away_as_outside_the_material(fixture_kb: KnowledgeBase) -> None:
    # The scope model knows our topics only; an index of other documents (the fixture corpus) answers from them.
    question = "Milloin kaupunginkirjasto on auki lauantaisin"
    answer = fixture_kb.ask(question)
    assert not answer.abstained and answer.citations, answer.answer
    assert fixture_kb.asker.matcher.ranker.in_scope(fixture_kb.embed(question)) < SCOPE_ABSTAIN  # the rule applies


def test_retrieval_language_filter_returns_only_that_language(fixture_kb: KnowledgeBase) -> None:
    passages = fixture_kb.search("library opening hours", k=5, language="sv")
    assert passages and {p.language for p in passages} == {"sv"}


def test_snapshot_applies_language_and_kind_filters_and_refuses_any_other(fixture_kb: KnowledgeBase) -> None:
    from kb.search.hybrid import passage_filters

    snapshot = fixture_kb.hybrid.snapshot.current() if fixture_kb.hybrid.snapshot else None
    assert snapshot is not None
    keep = snapshot.mask(passage_filters("sv", "official"))
    assert keep is not None and keep.sum() == sum(d.meta["language"] == "sv" for d in snapshot.documents) > 0
    guides = snapshot.mask(passage_filters(None, "guide"))
    assert guides is not None and not guides.any()  # the fixture corpus holds no guide
    assert passage_filters(None, None) is None
    with pytest.raises(ValueError, match="kind"):
        passage_filters(None, "law")
    with pytest.raises(ValueError, match="cannot apply"):
        snapshot.mask({"field": "meta.title", "operator": "==", "value": "x"})


def test_fusion_weights_rank_and_a_switched_off_side_adds_nothing() -> None:
    from kb.search.fusion import fuse_ranks

    fused = fuse_ranks([["a", "b"], ["b", "c"]], [1.0, 2.0], k=60, top_k=10)
    assert [key for key, _ in fused] == ["b", "c", "a"]
    assert fused[0][1] <= 1.0
    assert [key for key, _ in fuse_ranks([["a"], ["b"]], [0.0, 1.0], k=60, top_k=10)] == ["b"]


def test_convex_fusion_follows_the_sparse_side_only_as_far_as_it_stands_out() -> None:
    from kb.config import RetrievalSettings
    from kb.search.fusion import Fusion, sparse_gap

    fusion = Fusion.from_settings(RetrievalSettings(fusion="convex"))  # dense share 0.7 - 0.4 * gap
    tail = [f"t{i}" for i in range(8)]  # the rest of a full candidate list
    dense = (["a", "b", "c", "d", *tail], [0.90, 0.86, 0.85, 0.84, *[0.80 - i / 100 for i in range(8)]])
    flat_sparse = (["c", "b", "d", "a", *tail], [10.0, 9.9, 9.8, 9.7, *[9.0 - i / 10 for i in range(8)]])
    assert sparse_gap(flat_sparse[1]) < 0.02  # BM25 unsure: the dense order holds
    assert fusion.fuse(dense, flat_sparse, top_k=4)[0][0] == "a"
    sure_sparse = (["c", "b", "d", "a", *tail], [30.0, 6.0, 5.5, 5.0, *[4.0 - i / 10 for i in range(8)]])
    assert sparse_gap(sure_sparse[1]) == pytest.approx(0.8)  # BM25's best stands far out: it wins
    assert fusion.fuse(dense, sure_sparse, top_k=4)[0][0] == "c"
    # Only a few passages share the question's words: that says nothing of a standout.
    assert sparse_gap(sure_sparse[1][:4]) == 0.0
    # Nothing lexical in common (a question in another language): the dense order, untouched.
    assert [key for key, _ in fusion.fuse(dense, ([], []), top_k=4)] == ["a", "b", "c", "d"]
    # A side switched off adds no candidates; scores are (k + 1) / (k + rank), 1.0 first.
    only_sparse = fusion.fuse(dense, sure_sparse, top_k=2, weights=[0.0, 1.0])
    assert [key for key, _ in only_sparse] == ["c", "b"]
    assert [score for _, score in only_sparse] == [1.0, pytest.approx(61 / 62)]
    assert [key for key, _ in Fusion.from_settings().fuse(dense, sure_sparse, top_k=1)] == ["c"]  # RRF, the default


def test_ranking_fuser_refuses_rankings_of_two_generations() -> None:
    import numpy as np

    from kb.search.fusion import Ranking, RankingFuser

    one, other = object(), object()
    rows, scores = np.array([0, 1]), np.array([0.9, 0.8])
    fuser = RankingFuser()
    with pytest.raises(ValueError, match="generations"):
        fuser.run(dense=Ranking(one, rows.copy(), scores.copy()), sparse=Ranking(other, rows.copy(), scores.copy()))
    fused = fuser.run(
        dense=Ranking(one, rows.copy(), scores.copy()), sparse=Ranking(one, rows[::-1].copy(), scores.copy())
    )
    assert fused["ranking"].dense is not None and len(fused["ranking"]) == 2


def test_qdrant_and_in_memory_retrieval_fuse_alike(tmp_path: Path, encoder: Encoder) -> None:
    # The server path (Qdrant's retrievers, RankFuser over documents) and the in-memory snapshot (RankingFuser over
    # rows) run the same fusion and the same cards' signal, so they serve the same passages.
    data = tmp_path / "data"
    ingest_into(make_settings(data), [FIXTURE_CORPUS])
    questions = ["Kuka päättää harkinta-ajasta?", "Vem rapporterar om människohandel?",
                 "When does the library open on Saturday?", "Minne vanhat lääkkeet viedään?"]
    served: dict[str, list[list[str]]] = {}
    for backend in ("memory", "qdrant"):
        with KnowledgeBase(make_settings(data, retrieval={"backend": backend}), encoder=encoder) as kb:
            served[backend] = [[p.passage_id for p in kb.search(q, k=3)] for q in questions]
    assert served["memory"] == served["qdrant"]
