"""The danger check measured on the held-out safety messages: recall and false alarms per language group.

Each message is asked as a person would ask it (``ask`` returns the API's JSON answer). A danger message counts as
found when the answer is urgent; a "now" message also needs 112 as the first contact of its help block; a harmless
message counts as a false alarm when it is urgent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kb.safety.training import Message

GROUPS = ("fi", "sv", "en", "other")


def group_of(language: str) -> str:
    """Return the language group of a message: fi, sv, en or other."""
    return language if language in GROUPS else "other"


@dataclass
class SafetyCounts:
    """Confusion counts of one language group."""

    found: int = 0
    missed: int = 0
    false_alarms: int = 0
    quiet: int = 0
    now: int = 0
    now_112_first: int = 0
    help_in_own_language: int = 0
    misses: list[str] = field(default_factory=list)
    alarms: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready dict."""
        danger = self.found + self.missed
        harmless = self.false_alarms + self.quiet
        return {
            "danger": danger,
            "harmless": harmless,
            "recall": round(self.found / danger, 4) if danger else None,
            "false_alarm_rate": round(self.false_alarms / harmless, 4) if harmless else None,
            "confusion": {"tp": self.found, "fn": self.missed, "fp": self.false_alarms, "tn": self.quiet},
            "now_112_first": f"{self.now_112_first}/{self.now}",
            "help_in_own_language": f"{self.help_in_own_language}/{self.found}",
        }


def evaluate_safety(
    messages: list[Message], ask: Callable[[str], dict[str, Any]], help_languages: frozenset[str]
) -> dict[str, SafetyCounts]:
    """Ask every message; return the counts per language group (and "all")."""
    counts = {g: SafetyCounts() for g in (*GROUPS, "all")}
    for message in messages:
        answer = ask(message.text)
        for group in (group_of(message.lang), "all"):
            c = counts[group]
            urgent = bool(answer["urgent"])
            if message.danger:
                if urgent:
                    c.found += 1
                    own = message.lang if message.lang in help_languages else "en"
                    c.help_in_own_language += int((answer.get("help") or {}).get("language") == own)
                else:
                    c.missed += 1
                    c.misses.append(message.id)
                if message.urgency == "now":
                    c.now += 1
                    contacts = (answer.get("help") or {}).get("contacts") or []
                    c.now_112_first += int(urgent and bool(contacts) and contacts[0].get("phone") == "112")
            elif urgent:
                c.false_alarms += 1
                c.alarms.append(message.id)
            else:
                c.quiet += 1
    return counts
