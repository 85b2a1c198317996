"""The help block and the help answer, written by code from the contacts and help texts, never from retrieval.

``corpus/contacts.toml`` holds the numbers and addresses (112 first); ``corpus/safety/help.toml`` the titles, texts
and "what helps you act" sentences in every language we write. A message in a language we do not write gets
English. The order of the contacts follows the urgency: danger now puts 112 first, signs of exploitation the
assistance system's 24/7 line.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.errors import ConfigError
from kb.types import HelpBlock, HelpContact

EMERGENCY = "emergency"
ASSISTANCE = "assistance-system"
# The sentences of a help answer, in order; the last one only when the message is about someone else.
ACTS = ("act_free", "act_anonymous", "act_no_permit")
ACTS_FOR_OTHERS = ("act_referral", "act_referral_consent")
_REQUIRED = (
    "title_now", "text_now", "title_exploitation", "text_exploitation", *ACTS, *ACTS_FOR_OTHERS,
)


@dataclass(frozen=True)
class HelpSentence:
    """One sentence of a help answer, in the message's language, with the guide quote that supports it."""

    text: str
    source: str  # document id, "#", section key
    quote: str


class HelpDesk:
    """Writes help blocks and help answers from the contacts file and the help texts."""

    def __init__(self, contacts: Path, texts: Path) -> None:
        data = _read(contacts)
        self._texts = _read(texts)
        self._quotes: dict[str, dict[str, list[str]]] = self._texts.pop("quotes", {})
        self._contacts: list[dict[str, Any]] = list(data.get("contact", []))
        if not any(c.get("phone") == "112" for c in self._contacts):
            raise ConfigError(f"{contacts} must list the emergency number 112")
        for language, table in self._texts.items():
            missing = [k for k in _REQUIRED if k not in table]
            if missing:
                raise ConfigError(f"{texts}: [{language}] lacks {', '.join(missing)}")
        if "en" not in self._texts or "en" not in self._quotes:
            raise ConfigError(f"{texts} must have English texts and quotes (the fallback)")

    @property
    def languages(self) -> frozenset[str]:
        """The languages help is written in."""
        return frozenset(self._texts)

    def language(self, language: str) -> str:
        """Return the language the help for a message in ``language`` is written in."""
        return language if language in self._texts else "en"

    def direction(self, language: str) -> str:
        """Return "rtl" or "ltr" for the help written for ``language``."""
        return str(self._texts[self.language(language)].get("dir", "ltr"))

    def block(self, language: str, *, urgency: str | None, audience: str = "public") -> HelpBlock:
        """Return the help block for ``language``: urgent ("now", "exploitation") or an offer of help (None)."""
        lang = self.language(language)
        words = self._texts[lang]
        english = self._texts["en"]
        if urgency == "now":
            title, text = words["title_now"], words["text_now"]
        elif urgency == "exploitation":
            title, text = words["title_exploitation"], words["text_exploitation"]
        else:
            title = words.get("title_offer", english["title_offer"])
            text = words.get("text_offer", english["text_offer"])
        if audience == "staff" and "text_staff" in words:
            text = words["text_staff"]
        contacts = [self._contact(c, lang) for c in self._contacts]
        first = ASSISTANCE if urgency == "exploitation" else EMERGENCY
        contacts.sort(key=lambda c: c.id != first)  # stable: the rest keep the file's order
        return HelpBlock(language=lang, title=title, text=text, contacts=contacts, direction=self.direction(lang))

    def sentences(self, language: str, *, about_other: bool) -> list[HelpSentence]:
        """Return what helps someone act (help is free, anonymous, without a permit; anyone may refer), cited."""
        lang = self.language(language)
        quotes = self._quotes.get(lang, self._quotes["en"])
        keys = (*ACTS, *ACTS_FOR_OTHERS) if about_other else ACTS
        return [HelpSentence(self._texts[lang][k], quotes[k][0], quotes[k][1]) for k in keys]

    def quotes(self) -> list[tuple[str, str]]:
        """Every (source, quote) the help sentences cite, for the check that each is a stored span."""
        return [(source, quote) for table in self._quotes.values() for source, quote in table.values()]

    def _contact(self, contact: dict[str, Any], lang: str) -> HelpContact:
        words = contact.get(lang) if isinstance(contact.get(lang), dict) else None
        name = text = None
        if words is None:  # a language contacts.toml does not write: the help texts name the contact
            key = "emergency" if contact["id"] == EMERGENCY else "assistance"
            table = self._texts[lang]
            name, text = table.get(f"{key}_name"), table.get(f"{key}_text")
            words = contact.get("en") or {}
        return HelpContact(
            id=str(contact["id"]),
            name=str(name or words.get("name", contact["id"])),
            text=str(text or words.get("text", "")),
            phone=_opt(contact.get("phone")),
            tel=_opt(contact.get("tel")),
            email=_opt(contact.get("email")),
            web=_opt(words.get("web", contact.get("web"))),
            hours=_opt(contact.get("hours")),
        )


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
