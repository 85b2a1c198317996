"""Check answer cards (corpus/answers/*.toml) against the documents they cite; a card author's tool.

Usage: .venv/bin/python tools/check_cards.py [CARD.toml ...]   (no argument: every card)
Prints one line per problem and exits 1 when there is any.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from ingest.loaders import SUPPORTED_SUFFIXES, load_file

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "corpus" / "guides", ROOT.parent / "shared" / "sources"]
LANGS = ("fi", "sv", "en")


def documents() -> dict[str, object]:
    """Load every document of the default sources, by id."""
    found = {}
    for root in SOURCES:
        for path in sorted(root.rglob("*")):
            if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
                doc = load_file(path, root)
                found[doc.document_id] = doc
    return found


def section_text(doc: object, key: str | None) -> str | None:
    """Return the text of the section ``key`` (None: the whole document)."""
    if not key:
        return doc.text  # type: ignore[attr-defined]
    for section in doc.sections:  # type: ignore[attr-defined]
        if section.key == key:
            return doc.text[section.start : section.end]  # type: ignore[attr-defined]
    return None


def check(path: Path, docs: dict[str, object], ids: set[str]) -> list[str]:
    """Return the problems of one card file."""
    problems: list[str] = []
    say = problems.append
    try:
        card = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        return [f"{path.name}: not TOML: {exc}"]
    cid = card.get("id")
    if cid != path.stem:
        say(f"{path.name}: id {cid!r} must equal the file name")
    for field in ("topic", "audience", "review", "follow_ups"):
        if field not in card:
            say(f"{path.name}: missing {field}")
    if card.get("audience") not in ("public", "staff", "both"):
        say(f"{path.name}: audience must be public, staff or both")
    follow = card.get("follow_ups", [])
    if not 1 <= len(follow) <= 3:
        say(f"{path.name}: 1-3 follow_ups")
    for f in follow:
        if f not in ids:
            say(f"{path.name}: follow-up {f!r} is no card")
    for lang in LANGS:
        part = card.get(lang)
        if not isinstance(part, dict):
            say(f"{path.name}: no [{lang}] table")
            continue
        qs = part.get("questions", [])
        if len(qs) < 5 or len(set(qs)) != len(qs):
            say(f"{path.name} [{lang}]: at least 5 distinct questions")
        for variant in ("answer", "staff"):
            sentences = part.get(variant)
            if sentences is None and variant == "staff":
                continue
            if not sentences or not 1 <= len(sentences) <= 3:
                say(f"{path.name} [{lang}].{variant}: 1-3 sentences")
                continue
            for i, s in enumerate(sentences, 1):
                where = f"{path.name} [{lang}].{variant}[{i}]"
                if not s.get("text") or not s.get("quote") or not s.get("source"):
                    say(f"{where}: text, source and quote are required")
                    continue
                doc_id, _, key = s["source"].partition("#")
                doc = docs.get(doc_id)
                if doc is None:
                    say(f"{where}: no document {doc_id!r}")
                    continue
                body = section_text(doc, key or None)
                if body is None:
                    keys = [x.key for x in doc.sections if x.key]  # type: ignore[attr-defined]
                    say(f"{where}: {doc_id} has no section {key!r}; keys: {keys}")
                    continue
                if s["quote"] not in body:
                    say(f"{where}: quote not found verbatim in {s['source']}: {s['quote'][:80]!r}")
                if "[" in s["text"]:
                    say(f"{where}: no [n] markers in text; they are added by code")
    return problems


def main() -> int:
    """Check the cards named on the command line, else all."""
    answers = ROOT / "corpus" / "answers"
    every = sorted(answers.glob("*.toml"))
    ids = {p.stem for p in every}
    chosen = [Path(a) for a in sys.argv[1:]] or every
    docs = documents()
    problems = [p for path in chosen for p in check(path, docs, ids)]
    for p in problems:
        print(p)
    print(f"{len(chosen)} cards, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
