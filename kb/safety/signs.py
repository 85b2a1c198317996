"""The signs of trafficking and forced labour a message can show, and how they set the level of urgency.

The ILO's eleven indicators of forced labour (abuse of vulnerability, deception, restriction of movement,
isolation, physical and sexual violence, intimidation and threats, retention of identity documents, withholding of
wages, debt bondage, abusive working and living conditions, excessive overtime), split where the level of help
differs (being locked in from other restrictions; threats to life or family from other intimidation), plus sexual
exploitation, forced marriage, forced criminality, forced begging, and a child in any of these.
"""

from __future__ import annotations

INDICATORS: tuple[str, ...] = (
    "deception",
    "abuse_of_vulnerability",
    "movement_restricted",
    "locked_in",
    "isolation",
    "violence",
    "threats",
    "intimidation",
    "documents_retained",
    "wages_withheld",
    "debt_bondage",
    "abusive_conditions",
    "excessive_overtime",
    "sexual_exploitation",
    "forced_marriage",
    "forced_criminality",
    "forced_begging",
    "child",
)

# Danger now: 112 first.
NOW_SIGNS = frozenset({"violence", "locked_in", "threats", "child"})
# Each of these alone means exploitation: the assistance system's 24/7 line first.
STRONG_SIGNS = frozenset(
    {
        "documents_retained",
        "movement_restricted",
        "debt_bondage",
        "wages_withheld",
        "sexual_exploitation",
        "forced_marriage",
        "forced_criminality",
        "forced_begging",
    }
)
# Two of these together mean exploitation.
WEAK_SIGNS = frozenset(INDICATORS) - NOW_SIGNS - STRONG_SIGNS


def urgency_of(indicators: set[str] | frozenset[str]) -> str | None:
    """Return "now", "exploitation" or None for a set of signs (the rule the data set is labelled by)."""
    if indicators & NOW_SIGNS:
        return "now"
    if indicators & STRONG_SIGNS or len(indicators & WEAK_SIGNS) >= 2:
        return "exploitation"
    return None
