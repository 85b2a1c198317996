"""The foundation's acceptance queries over an index of ../shared/sources."""

from __future__ import annotations

import pytest

from kb.knowledge_base import KnowledgeBase


def sections(kb: KnowledgeBase, query: str, k: int) -> list[tuple[str, str, str]]:
    return [(p.language, p.section or "", p.source) for p in kb.search(query, k=k)]


def test_sources_fi_reflection_period_decision_finds_52c(statutes_kb: KnowledgeBase) -> None:
    hits = sections(statutes_kb, "Kuka päättää harkinta-ajan antamisesta?", 3)
    assert any(lang == "fi" and section.startswith("52 c §") for lang, section, _ in hits), hits


def test_sources_sv_national_rapporteur_finds_ombudsman_act_3(statutes_kb: KnowledgeBase) -> None:
    hits = sections(statutes_kb, "Vem är nationell rapportör om människohandel?", 3)
    assert any(
        lang == "sv" and section.startswith("3 §") and "1326-2014" in source for lang, section, source in hits
    ), hits


@pytest.mark.parametrize("k", [5])
def test_sources_en_reflection_period_finds_52c_cross_lingual(statutes_kb: KnowledgeBase, k: int) -> None:
    hits = sections(statutes_kb, "Who decides on the reflection period for a trafficking victim?", k)
    assert any(lang in ("fi", "sv") and section.startswith("52 c §") for lang, section, _ in hits), hits
