"""Language detection and the per-language analysers behind the sparse (BM25) side.

Finnish is analysed with Voikko: every word gives its lemma and, for compounds, the lemmas of its parts
("ihmiskaupan" -> ihmiskauppa, ihminen, kauppa), so a question and a statute meet whatever the inflection.
Swedish and English use Snowball stemmers. Detection is py3langid restricted to the languages we expect.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Protocol

import snowballstemmer

from kb.errors import ConfigError
from kb.types import LANGUAGES

_WORD = re.compile(r"[^\W_]+(?:[-’'][^\W_]+)*")
_PART = re.compile(r"\(([^)+][^)]*)\)")

# Function words that carry no meaning for retrieval; IDF does the rest.
STOPWORDS: dict[str, frozenset[str]] = {
    "fi": frozenset(
        "ja tai on ovat oli ei se ne että kun jos mutta myös sekä kuin mitä mikä mitkä kuka ketkä miten miksi "
        "missä mistä mihin milloin voi voiko onko onko minä sinä hän me te he minun sinun hänen olla ole "
        "tämä tuo nämä nuo siitä sen niiden joka jotka".split()
    ),
    "sv": frozenset(
        "och eller är var inte det den de att när om men också som vad vem vilka hur varför var vart "
        "kan jag du han hon vi ni man en ett till av för på med från har hade ska skall".split()
    ),
    "en": frozenset(
        "the a an and or is are was were be been not it its that this these those when if but also as what "
        "who whom which how why where can could do does did i you he she we they of to in on for with from "
        "by at my your have has had will would shall should there".split()
    ),
}


# Question and function words that belong to one of our languages only ("on", "en", "in", "i" are left out:
# they are words in two of them).
FUNCTION_WORDS: dict[str, frozenset[str]] = {
    "fi": frozenset(
        "ja tai ei että kun jos mikä mitä mitkä kuka ketkä kenen kenelle missä mistä mihin milloin miten miksi "
        "kuinka montako paljonko onko voiko saako pitääkö ovat oli olla minä sinä hän me te he minun sinun "
        "hänen tämä tämän nämä se sen ne niiden joka jotka myös sekä kanssa".split()
    ),
    "sv": frozenset(
        "och eller inte att som det den de är var vem vad vilken vilket vilka hur när varför vart kan ska skall "
        "har hade på av för med från till om jag du hon vi ni man ett också efter under".split()
    ),
    "en": frozenset(
        "the of and or not that this these those what who whom which when where why how is are was were be been "
        "do does did can could should would will shall has have had to for with from by at my your they their "
        "there also after".split()
    ),
}

# Swedish words that Norwegian and Danish spell otherwise (og, ikke, hvem, hva, hvilken, hvordan, når, er, jeg, …).
SWEDISH_ONLY = frozenset(
    "och inte vem vad vilken vilket vilka hur när varför är jag till från också eller hon mycket många".split()
)


class Analyser(Protocol):
    """Turns text into index terms."""

    def __call__(self, text: str) -> list[str]:
        """Return the index terms of ``text``."""
        ...


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits; hyphenated compounds kept whole)."""
    return [w.lower() for w in _WORD.findall(text)]


class FinnishAnalyser:
    """Voikko lemmas plus compound parts; Snowball stems for words Voikko does not know."""

    def __init__(self) -> None:
        try:
            import libvoikko
        except ImportError as exc:  # pragma: no cover - the package is a pinned dependency
            raise ConfigError("the Python package libvoikko is missing; run `make run`") from exc
        try:
            self._voikko = libvoikko.Voikko("fi")
        except (OSError, libvoikko.VoikkoException) as exc:
            raise ConfigError(
                "Voikko cannot be loaded; install the Debian packages libvoikko1 and voikko-fi "
                "(`make run` does it as root)"
            ) from exc
        self._stemmer = snowballstemmer.stemmer("finnish")
        # Neither a Voikko handle nor a Snowball stemmer may be used by two threads at once; cached words need no lock.
        self._lock = threading.Lock()
        self._terms: Callable[[str], tuple[str, ...]] = lru_cache(maxsize=200_000)(self._word_terms)

    def _word_terms(self, word: str) -> tuple[str, ...]:
        with self._lock:
            analyses = self._voikko.analyze(word)[:3]
        terms: list[str] = []
        for analysis in analyses:
            base = (analysis.get("BASEFORM") or "").lower()
            if base:
                terms.append(base)
            for part in _PART.findall(analysis.get("WORDBASES") or ""):
                part = part.replace("=", "").lower()
                if len(part) > 2:
                    terms.append(part)
            for piece in base.split("-"):
                if len(piece) > 2:
                    terms.append(piece)
        if not terms:
            with self._lock:
                terms.append(self._stemmer.stemWord(word))
        return tuple(dict.fromkeys(terms))

    def __call__(self, text: str) -> list[str]:
        """Return the terms of the words of ``text`` (lemmas and compound parts, else stems), stop words dropped."""
        out: list[str] = []
        for word in words(text):
            if word in STOPWORDS["fi"]:
                continue
            out.extend(self._terms(word))
        return out


class SnowballAnalyser:
    """Snowball stems, stop words dropped."""

    def __init__(self, language: str) -> None:
        self._stopwords = STOPWORDS[language]
        self._stemmer = snowballstemmer.stemmer({"sv": "swedish", "en": "english"}[language])
        self._lock = threading.Lock()  # a stemmer keeps its word in itself while stemming
        self._stem: Callable[[str], str] = lru_cache(maxsize=200_000)(self._stem_word)

    def _stem_word(self, word: str) -> str:
        with self._lock:
            return str(self._stemmer.stemWord(word))

    def __call__(self, text: str) -> list[str]:
        """Return the stems of the words of ``text``, stop words dropped."""
        return [self._stem(w) for w in words(text) if w not in self._stopwords]


class Analysers:
    """One analyser per language, built once (Voikko loads a dictionary)."""

    def __init__(self) -> None:
        self._by_language: dict[str, Analyser] = {
            "fi": FinnishAnalyser(),
            "sv": SnowballAnalyser("sv"),
            "en": SnowballAnalyser("en"),
        }

    def analyse(self, text: str, language: str | None) -> list[str]:
        """Index terms of ``text`` in ``language`` (English rules for other or unknown languages)."""
        return self._by_language.get(language or "en", self._by_language["en"])(text)


def function_word_hits(text: str) -> dict[str, int]:
    """Return how many of the words of ``text`` are function words of fi, sv and en, per language."""
    return {lang: sum(1 for w in words(text) if w in FUNCTION_WORDS[lang]) for lang in LANGUAGES}


class LanguageDetector:
    """Detects fi, sv or en; other languages are reported by code so callers can fall back."""

    OTHERS = (
        "ru", "et", "ro", "th", "vi", "uk", "de", "fr", "es", "pl", "ar", "so", "fa", "tr", "zh", "tl", "no", "da"
    )

    # The languages of the help texts (corpus/safety/help.toml) besides fi, sv and en; "am" stands for text in
    # Ethiopic script, which is then told apart as Tigrinya or not (see ``detect_message``).
    MESSAGE_LANGUAGES = (
        "ru", "uk", "et", "ro", "pl", "bg", "vi", "th", "tl", "zh", "ar", "fa", "so", "es", "fr", "ne", "uz", "am",
        "de", "tr", "no", "da",
    )

    def detect_message(self, text: str) -> str:
        """Return the language of a message among many (for help in the person's own language).

        Tigrinya has no model here: text in Ethiopic script that writes "ኣ" (Tigrinya's usual spelling of the
        glottal a) more often than "አ" (Amharic's) is taken as Tigrinya.
        """
        language, _probability = self._messages.classify(text)
        if language in LANGUAGES:
            return self.detect_supported(text)
        if language == "am" and text.count("ኣ") >= text.count("አ"):
            return "ti"
        return str(language)

    def __init__(self) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._identifier.set_languages([*LANGUAGES, *self.OTHERS])
        self._messages = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        self._messages.set_languages([*LANGUAGES, *self.MESSAGE_LANGUAGES])

    def detect(self, text: str) -> str:
        """Return the most likely language code of ``text``."""
        language, _probability = self._identifier.classify(text)
        return str(language)

    def shows_its_language(self, text: str) -> bool:
        """Tell whether a short text still shows which of fi, sv and en it is written in.

        It does when more of its function words belong to one language than to any other and the character model
        reads it as that language too: "Mikä on toipumisaika?" and "vem är du?" do; "hej", "ok" and "kiitos" do not.
        """
        hits = function_word_hits(text)
        best = max(LANGUAGES, key=lambda lang: hits[lang])
        if hits[best] == 0 or any(hits[lang] == hits[best] for lang in LANGUAGES if lang != best):
            return False
        return self.detect_supported(text) == best

    def detect_supported(self, text: str, default: str = "en") -> str:
        """Return the most likely of fi, sv and en; ``default`` for text in another language.

        A short question is mostly names and nouns ("Vem vann Super Bowl XLIX?"), which the character model
        reads as English; when it picks fi, sv or en but the text has none of that language's function words
        and some of exactly one other's, the function words decide.
        """
        language = self.detect(text)
        # Swedish read as Norwegian or Danish: a word with ä or ö, or one they spell otherwise ("och", "vem").
        if language in ("no", "da") and any(w in SWEDISH_ONLY or "ä" in w or "ö" in w for w in words(text)):
            return "sv"
        if language not in LANGUAGES:
            return default
        hits = function_word_hits(text)
        if hits[language] == 0:
            voting = [lang for lang in LANGUAGES if hits[lang] > 0]
            if len(voting) == 1:
                return voting[0]
        return language
