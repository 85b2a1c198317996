"""Hybrid retrieval finds paraphrased questions in each language, and across languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kb.config import Settings
from kb.embedding import Encoder
from kb.knowledge_base import KnowledgeBase
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


def test_retrieval_language_filter_returns_only_that_language(fixture_kb: KnowledgeBase) -> None:
    passages = fixture_kb.search("library opening hours", k=5, language="sv")
    assert passages and {p.language for p in passages} == {"sv"}
