"""Answer sentence scoring: question words, pronoun-led sentences, named sections, and gold phrase alternatives."""

from __future__ import annotations

import pytest
from haystack import Document

from evals.gold import supported
from kb.answers.question import cites, continues, named_references, question_types


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("När offentliggjordes handlingsplanen?", ["when"]),
        ("Krävs hot för att det ska vara människohandel när offret är ett barn?", []),  # "när" joins clauses
        ("Vilka uppgifter har hjälpsystemet?", ["who"]),
        ("Har hjälpsystemet uppgifter som vilka som helst?", []),
        ("Kuinka pitkä harkinta-aika on?", ["duration"]),
    ],
)
def test_answer_question_types_only_from_question_words(question: str, kinds: list[str]) -> None:
    assert question_types(question) == kinds


def test_answer_pronoun_led_sentence_continues_the_one_before() -> None:
    text = "Uhrille voidaan antaa harkinta-aika. Se kestää enintään kuusi kuukautta.\n\nSe on uusi kappale."
    first_end = text.index(".") + 1
    second = text.index("Se kestää")
    assert continues(text, first_end, second, "fi")
    assert not continues(text, text.index("kuukautta.") + 10, text.index("Se on"), "fi")  # a new paragraph
    plain = "The period is lawful residence. Victims decide whether to cooperate."
    assert not continues(plain, plain.index(".") + 1, plain.index("Victims"), "en")


def test_answer_named_section_is_recognised() -> None:
    references = named_references("Vilka uppgifter har hjälpsystemet enligt 33 § i mottagandelagen?")
    assert references == {"33§"}
    assert cites(Document(content="…", meta={"section": "33 § Hjälpsystemets uppgifter"}), references)
    assert not cites(Document(content="…", meta={"section": "133 § Något annat"}), references)
    assert cites(Document(content="…", meta={"section": "KKO:2022:2"}), named_references("Mistä KKO:2022:2 oli kyse?"))


def test_answer_gold_phrase_alternatives() -> None:
    answer = {"answer": "Harkinta-aika kestää 30 päivästä kuuteen kuukauteen. [1]", "citations": [{"quote": "…"}]}
    assert supported(answer, ["kuusi kuukautta", "kuuteen kuukauteen"])
    assert not supported(answer, "kuusi kuukautta")
    assert supported({"answer": "x", "citations": [{"quote": "Enintään kuusi kuukautta."}]}, "KUUSI kuukautta")
