"""Conversations and small talk through the API, on the held-out halves of corpus/eval (nothing was tuned on them)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from evals.dialogue import evaluate_conversations, evaluate_smalltalk, turn_of
from kb.answers.conversation import leans
from kb.knowledge_base import KnowledgeBase
from tests.conftest import REPORT_LINES

# Issue #14 asks >= 0.90 of last turns answered and >= 0.95 of small talk handled. These floors are what the
# system holds today (the closing note of the conversation issue gives the figures): they catch a regression.
CONVERSATION_FLOOR = 0.66  # held-out: 0.533 before the card ranker and the follow-up vector, 0.644 after, 0.711
# (12-03), 0.733 (12-04: an alarming follow-up gets its card after the help)
SMALLTALK_FLOOR = 0.85  # held-out: 0.853 by the nearest prototype, 0.867 with the intent model, 0.893 (12-03), 0.907


@pytest.fixture(scope="module")
def ask(sources_kb: KnowledgeBase) -> Iterator[Any]:
    with TestClient(create_app(sources_kb.settings, kb=sources_kb)) as client:

        def post(body: dict[str, Any]) -> dict[str, Any]:
            response = client.post("/api/v1/ask", json=body)
            assert response.status_code == 200, response.text
            return dict(response.json())

        yield post


def test_dialogue_heldout_conversations(ask: Any, sources_kb: KnowledgeBase) -> None:
    figures = evaluate_conversations(sources_kb.settings.gold / "conversations.jsonl", ask, "heldout")
    REPORT_LINES.append(f"conversations (held-out): {json.dumps({k: v['answered_rate'] for k, v in figures.items()})}")
    assert figures["all"]["conversations"] >= 45
    assert figures["all"]["answered_rate"] >= CONVERSATION_FLOOR, figures["all"]


def test_dialogue_heldout_smalltalk(ask: Any, sources_kb: KnowledgeBase) -> None:
    figures = evaluate_smalltalk(sources_kb.settings.gold / "smalltalk.jsonl", ask, "heldout")
    REPORT_LINES.append(f"small talk (held-out): {json.dumps({k: v['handled_rate'] for k, v in figures.items()})}")
    assert figures["all"]["handled_rate"] >= SMALLTALK_FLOOR, figures["all"]


def test_dialogue_smalltalk_is_never_urgent_nor_an_abstention(ask: Any) -> None:
    for text in ("kiitos", "tack så mycket", "who are you?", "this is useless", "turpa kiinni"):
        body = ask({"question": text})
        assert body["answer_kind"] == "smalltalk" and not body["urgent"] and not body["abstained"], text


def test_dialogue_a_pronoun_about_someone_else_is_not_small_talk_about_us(ask: Any) -> None:
    # "What does she actually do?" after a question about the coordinator asks about the coordinator; without the
    # history the same words are read as "what do you do?".
    first = ask({"question": "Who is the national anti-trafficking coordinator?", "ui_language": "en"})
    turn = turn_of("Who is the national anti-trafficking coordinator?", first)
    body = ask({"question": "and what does she do?", "history": [turn], "ui_language": "en"})
    assert body["answer_kind"] != "smalltalk", body["answer"]


def test_dialogue_how_long_in_a_conversation_asks_about_the_topic(ask: Any) -> None:
    # "how long?" sits near a greeting (cosine 0.86), so alone it is greeted; after a question it asks for a duration.
    first = ask({"question": "What does the recovery period mean for a trafficking victim?", "ui_language": "en"})
    turn = turn_of("What does the recovery period mean for a trafficking victim?", first)
    body = ask({"question": "how long?", "history": [turn], "ui_language": "en"})
    assert body["answer_kind"] != "smalltalk" and not body["abstained"], body["answer"]
    assert re.search(r"\d+ days", body["answer"]), body["answer"]


def test_dialogue_a_follow_up_that_both_signals_agree_on_gets_its_card(ask: Any) -> None:
    # "ja saako lakimiehen?" after a question on interpreters: the ranker gives legal aid less than RANK_SURE, but it
    # is also the nearest card by relevance, well ahead of the next one.
    first = ask({"question": "Entä jos en puhu suomea?", "ui_language": "fi"})
    turn = turn_of("Entä jos en puhu suomea?", first)
    body = ask({"question": "ja saako lakimiehen?", "history": [turn], "ui_language": "fi"})
    assert body.get("card_id") == "getting-help-legal-aid", (body.get("card_id"), body["answer"])


def test_dialogue_a_card_far_down_by_relevance_is_not_the_rankers_pick(ask: Any) -> None:
    # "for how long are they appointed?" after the expert group's card: the ranker alone prefers the reflection
    # period's length (a duration card), which the question is nowhere near; only cards within NEAR_BAND of the
    # most relevant one are its to choose, and the answer gives the group's term.
    first = ask({"question": "Who is in the multidisciplinary expert group?", "ui_language": "en"})
    assert first.get("card_id") == "recovery-and-assistance-expert-group", first["answer"]
    turn = turn_of("Who is in the multidisciplinary expert group?", first)
    body = ask({"question": "for how long are they appointed?", "history": [turn], "ui_language": "en"})
    assert body.get("card_id") not in {"reflection-period-length", "recovery-and-assistance-recovery-period-length"}
    assert "three years" in body["answer"], body["answer"]


def test_dialogue_a_bare_question_word_is_read_with_the_turn_before(ask: Any) -> None:
    # "how long?" matches the reflection period's length by itself; after the recovery period's card it asks how
    # long the recovery period is (BARE_WORDS: a question of three words or fewer always leans on the history).
    first = ask({"question": "What is the recovery period?", "ui_language": "en"})
    assert first.get("card_id") == "recovery-and-assistance-recovery-period", first["answer"]
    turn = turn_of("What is the recovery period?", first)
    body = ask({"question": "how long?", "history": [turn], "ui_language": "en"})
    assert body.get("card_id") == "recovery-and-assistance-recovery-period-length", body["answer"]


def test_dialogue_a_follow_up_that_raises_the_alarm_gets_help_first_then_its_card(ask: Any) -> None:
    # A follow-up that reads as danger gets the help block and what helps first, as any alarm does; the card it
    # asks for follows, each sentence cited to its exact span. Without the conversation, the help alone.
    first = ask({"question": "Can a victim of trafficking get a residence permit in Finland?", "ui_language": "en"})
    assert first["answer_kind"] == "card" and not first["urgent"], first["answer"]
    history = [turn_of("Can a victim of trafficking get a residence permit in Finland?", first)]
    follow_up = "and if my employer has my passport?"
    body = ask({"question": follow_up, "history": history, "ui_language": "en"})
    alone = ask({"question": follow_up, "ui_language": "en"})
    assert body["urgent"] and body["urgency"] == alone["urgency"] == "exploitation", body["indicators"]
    assert body["help"]["contacts"][0]["id"] == "assistance-system"
    assert alone["answer_kind"] == "help" and alone["card_id"] is None
    assert body["answer_kind"] == "card" and body["card_id"], body["answer"]
    assert body["answer"].startswith(alone["answer"]) and len(body["citations"]) > len(alone["citations"])
    assert all(c["text"][c["start"] : c["end"]] == c["quote"] for c in body["citations"])


def test_dialogue_a_long_question_naming_its_topic_ignores_the_history() -> None:
    assert leans("och vem bestämmer det?", "sv")
    assert leans("kuka sitä pyörittää", "fi")
    assert not leans("Vilken roll har Migrationsverket när det gäller offer för människohandel i Finland?", "sv")
