"""Question analysis: what kind of answer a question asks for, and what it names.

Also what makes an answer sentence lean on the one before it (a pronoun opening), so that its terms carry over.
"""

from __future__ import annotations

import re

from haystack import Document

# What a question asks for, and how a sentence that gives it looks (fi, sv, en). A sentence of the asked type
# gets a bonus: the sentence that answers often adds a number, a date or an authority to the question's words.
_QUESTION_TYPES = {
    "duration": r"\b(kuinka (pitkä|kauan)|miten pitkä|how long|hur läng|hur lång)",
    "number": r"\b(kuinka (paljon|monta)|montako|paljonko|how (much|many)|hur (mycket|många))",
    # "när", "when" and "vilka" also join clauses ("… när offret är ett barn"): a question word only in front.
    "when": r"\b(milloin|mihin aikaan|what year|vilket år)|^\W*(when|när)\b",
    "who": (
        r"\b(kuka|ketkä|kenen|kenelle|mikä viranomainen|who|which authority|whom|vem|vilken myndighet)\b"
        r"|^\W*vilka\b"
    ),
    "penalty": r"(rangaistu|penalt|punish|straff|vankeu|prison|fängelse)",
}
_ANSWER_SHAPES = {
    "duration": (
        r"\d+\s*(päiv|kuukau|vuo|day|month|year|dag|månad|år)"
        r"|(kuu(si|den)|kolmenkymmenen|six|sex|thirty|trettio)\s"
    ),
    "number": r"\d",
    "when": r"\d{4}|\d+\.\d+\.|(tammi|helmi|maalis|huhti|touko|kesä|heinä|elo|syys|loka|marras|joulu)kuu|"
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"januari|februari|mars|maj|juni|juli|augusti|oktober",
    # a person's name inside the sentence ("… ledande sakkunnig Veli-Pekka Rautava"), or an authority
    "who": r"(?<=[\w,] )[A-ZÅÄÖ][a-zåäö]+(-[A-ZÅÄÖ][a-zåäö]+)? [A-ZÅÄÖ][a-zåäö]+\b"
    r"|poliisi|police|polis|virasto|ministeri|"
    r"ombudsman|valtuutettu|keskus|centre|förläggning|myndighet|authority|viranomai",
    "penalty": r"\d+\s*(kuukau|vuo|month|year|månad|år)|vankeutta|imprisonment|fängelse",
}
QUESTION_PATTERNS = {k: re.compile(p, re.IGNORECASE) for k, p in _QUESTION_TYPES.items()}
SHAPE_PATTERNS = {k: re.compile(p, re.IGNORECASE) for k, p in _ANSWER_SHAPES.items()}
INTERROGATIVES = ("duration", "number", "when", "who")  # question phrases only; "penalty" matches content words
# An authority named in a sentence (the "who" shape above also takes any two words in a row, since it ignores case).
AUTHORITY = re.compile(
    r"\b(poliisi|police|polis|rajatarkastusviranomai|border control|gränskontroll|rajavartiolaito|border guard|"
    r"gränsbevakning|maahanmuuttoviras|immigration service|migrationsverk|migri|joutseno|vastaanottokeskus|"
    r"reception cent|förläggning|ministeri|ministry|ombudsm|valtuutettu|kunta|kotikunta|municipalit|kommun|"
    r"tuomioistuin|court|domstol|syyttäjä|prosecutor|åklagar|viranomai|authorit|myndighet|ely-keskus|ely centre|"
    r"närings-, trafik|hyvinvointialue|wellbeing services|välfärdsområde|koordinaattori|coordinator|samordnare)",
    re.IGNORECASE,
)


def question_types(question: str) -> list[str]:
    """Return the kinds of answer a question asks for (duration, number, when, who, penalty)."""
    return [kind for kind, pattern in QUESTION_PATTERNS.items() if pattern.search(question)]


# Words that make a sentence lean on the one before it ("Se kestää…", "In its view…", "Den är också…").
_ANAPHORS = {
    "fi": frozenset(
        "se sen sitä siitä siihen siinä sillä ne niitä niiden niistä hän hänen he heidän "
        "tämä tätä tämän tästä tähän nämä näitä näiden".split()
    ),
    "sv": frozenset("den det dess de dem deras han hon hans hennes denna detta dessa därför dock".split()),
    "en": frozenset("it its this these they their them he she his her such however".split()),
}
_OPENING = re.compile(r"[^\W_]+")
_REFERENCE = re.compile(r"\b(\d+\s?[a-z]?\s?§|[A-Z]{2,3}:\d{4}:\d+)")


def continues(text: str, previous_end: int, start: int, language: str) -> bool:
    """Tell whether the sentence at ``start`` directly follows the previous one and opens with a pronoun."""
    if "\n\n" in text[previous_end:start]:
        return False
    opening = [w.lower() for w in _OPENING.findall(text, start, min(len(text), start + 40))[:3]]
    return any(w in _ANAPHORS.get(language, _ANAPHORS["en"]) for w in opening)


def named_references(question: str) -> set[str]:
    """Section and decision identifiers the question names ("33 §", "KKO:2022:2"), normalised."""
    return {re.sub(r"\s+", "", m) for m in _REFERENCE.findall(question)}


def cites(document: Document, references: set[str]) -> bool:
    """Tell whether the passage is the section or decision the question names."""
    section = re.sub(r"\s+", "", str(document.meta.get("section") or ""))
    return any(section.startswith(r) for r in references)
