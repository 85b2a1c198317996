"""The help block: emergency and helpline contacts, written by code from the contacts file, never from retrieval."""

from __future__ import annotations

import tomllib
from pathlib import Path

from kb.errors import ConfigError
from kb.types import HelpBlock, HelpContact

_HELP_TITLE = {
    "fi": "Jos olet vaarassa, hae apua heti",
    "sv": "Om du är i fara, sök hjälp nu",
    "en": "If you are in danger, get help now",
}
_HELP_TEXT = {
    "fi": "Hätätilanteessa soita 112. Ihmiskaupan uhrien auttamisjärjestelmä auttaa ympäri vuorokauden.",
    "sv": "Ring 112 i en nödsituation. Hjälpsystemet för offer för människohandel hjälper dygnet runt.",
    "en": "In an emergency, call 112. The Assistance System for Victims of Human Trafficking helps day and night.",
}
_OFFER_TITLE = {
    "fi": "Apua saa myös puhelimitse",
    "sv": "Du kan också få hjälp per telefon",
    "en": "You can also get help by phone",
}
_STAFF_TEXT = {
    "fi": (
        "Jos joku on välittömässä vaarassa, soita 112. "
        "Auttamisjärjestelmä neuvoo ja ottaa vastaan ohjauksia ympäri vuorokauden."
    ),
    "sv": "Om någon är i akut fara, ring 112. Hjälpsystemet ger råd och tar emot hänvisningar dygnet runt.",
    "en": (
        "If someone is in immediate danger, call 112. "
        "The assistance system advises and takes referrals day and night."
    ),
}


class HelpDesk:
    """Writes help blocks from corpus/contacts.toml."""

    def __init__(self, path: Path) -> None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the help contacts {path}: {exc}") from exc
        self._contacts: list[dict[str, object]] = list(data.get("contact", []))
        if not any(c.get("phone") == "112" for c in self._contacts):
            raise ConfigError(f"{path} must list the emergency number 112")

    def block(self, language: str, *, urgent: bool, audience: str = "public") -> HelpBlock:
        """Return the help block in ``language`` (English for languages we do not write)."""
        lang = language if language in _HELP_TITLE else "en"
        contacts = []
        for c in self._contacts:
            words = c.get(lang) if isinstance(c.get(lang), dict) else {}
            assert isinstance(words, dict)
            contacts.append(
                HelpContact(
                    id=str(c["id"]),
                    name=str(words.get("name", c["id"])),
                    text=str(words.get("text", "")),
                    phone=_opt(c.get("phone")),
                    tel=_opt(c.get("tel")),
                    email=_opt(c.get("email")),
                    web=_opt(words.get("web", c.get("web"))),
                    hours=_opt(c.get("hours")),
                )
            )
        title = _HELP_TITLE[lang] if urgent else _OFFER_TITLE[lang]
        text = _STAFF_TEXT[lang] if audience == "staff" else _HELP_TEXT[lang]
        return HelpBlock(language=lang, title=title, text=text, contacts=contacts)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
