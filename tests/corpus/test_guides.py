"""Checks of Majakka's own corpus (corpus/README.md): guide format, contacts and the gold question set.

Pure Python, no model. Every failure message names the file (and line where there is one) and the rule broken.
The official texts live next to the project in ../shared/sources; if that folder is missing the tests fail
(they never skip), because the guides and the gold set cannot be checked without it.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path

import frontmatter
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpus"
GUIDES = CORPUS / "guides"
CONTACTS = CORPUS / "contacts.toml"
GOLD = CORPUS / "eval" / "gold.jsonl"
SHARED = ROOT.parent / "shared"
SOURCES = SHARED / "sources"

LANGUAGES = ("fi", "sv", "en")
AUDIENCES = {"public", "staff", "both"}
REQUIRED_META = ("id", "title", "language", "group", "audience", "updated", "sources")
SOURCE_LABEL = {"fi": "Lähde", "sv": "Källa", "en": "Source"}
CATEGORIES = {"public", "staff", "out_of_scope", "danger", "harmless_alarming"}
ANSWERABLE = {"public", "staff", "harmless_alarming"}

HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
ANCHOR = re.compile(r"^(?P<title>.*?)\s*\{#(?P<key>[a-z0-9][a-z0-9-]*)\}$")
# A source reference ends the paragraph: "(Lähde: …)", "(Källa: …)" or "(Source: …)".
REFERENCE_START = re.compile(r"\((Lähde|Källa|Source):")
# What a reference must name: a statute section ...
NAMES_SECTION = re.compile(r"§|\bsections?\b", re.IGNORECASE)
# ... or an official address / page / document: a web address, a page, a press release, a numbered
# publication, a circular, or a court decision (KKO:2022:2, KHO:2017:42, HD 2021:59).
NAMES_ADDRESS_OR_PAGE = re.compile(
    r"\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:fi|se|eu|org|com|net|int|is)(?:/\S*)?"
    r"|\b(?:page|sivu|sida)\b"
    r"|\b(?:press release|tiedote|pressmeddelande)\b"
    r"|\b(?:publication|julkaisu|publikation) \d+/\d{4}"
    r"|\b(?:circular|yleiskirje|cirkulär)\b"
    r"|\b(?:KKO|KHO):\d{4}:\d+|\bHD \d{4}:\d+",
    re.IGNORECASE,
)
STATUTE_SECTION = re.compile(r"^\d+ ?[a-z]? §$")
UNICODE_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def normalise(text: str) -> str:
    """NFC, Unicode spaces as plain spaces, whitespace runs collapsed: how the loaders see text."""
    text = UNICODE_SPACES.sub(" ", unicodedata.normalize("NFC", text))
    return re.sub(r"\s+", " ", text).strip()


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# ---------------------------------------------------------------------------------------------- guides


@dataclass
class Block:
    """A paragraph or list of a guide body (lines up to a blank line) and its first line in the file."""

    line: int
    lines: list[str]

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class Guide:
    path: Path
    meta: dict
    body: str
    body_line: int  # line number (1-based) of the body's first line in the file
    blocks: list[Block] = field(default_factory=list)

    @property
    def where(self) -> str:
        return rel(self.path)

    def headings(self) -> list[tuple[int, str]]:
        """(line, heading text without the #s) for every heading of the body."""
        return [(b.line, HEADING.match(b.lines[0]).group(2)) for b in self.blocks if HEADING.match(b.lines[0])]

    def sections(self) -> dict[str, str]:
        """Section title (anchor stripped) -> section text; the lead paragraph is filed under the guide title."""
        result: dict[str, list[str]] = {str(self.meta.get("title", "")): []}
        current = result[str(self.meta.get("title", ""))]
        for block in self.blocks:
            match = HEADING.match(block.lines[0])
            if match:
                anchored = ANCHOR.match(match.group(2))
                current = result.setdefault(anchored.group("title") if anchored else match.group(2), [])
            else:
                current.append(block.text)
        return {title: "\n\n".join(texts) for title, texts in result.items()}


def _split_front_matter(raw: str, path: Path) -> tuple[int, str]:
    lines = raw.split("\n")
    if not lines or lines[0].strip() != "---":
        raise AssertionError(f"{rel(path)}:1: the file must start with a '---' front-matter block")
    for i in range(1, len(lines)):
        if lines[i].strip() == "---":
            return i + 2, "\n".join(lines[i + 1 :])
    raise AssertionError(f"{rel(path)}: the front matter is not closed by a '---' line")


def _blocks(body: str, first_line: int) -> list[Block]:
    blocks: list[Block] = []
    current: Block | None = None
    for offset, line in enumerate(body.split("\n")):
        if not line.strip():
            current = None
            continue
        if current is None:
            current = Block(first_line + offset, [])
            blocks.append(current)
        current.lines.append(line)
    return blocks


GUIDE_PATHS = tuple(sorted(GUIDES.glob("*/*.md")))


@cache
def load_guide(path: Path) -> Guide:
    raw = path.read_text(encoding="utf-8")
    try:
        post = frontmatter.loads(raw)
    except Exception as exc:  # any parse error is a guide error
        raise AssertionError(f"{rel(path)}: the front matter does not parse as YAML: {exc}") from exc
    body_line, body = _split_front_matter(raw, path)
    return Guide(path, dict(post.metadata), body, body_line, _blocks(body, body_line))


def load_guides() -> tuple[Guide, ...]:
    assert GUIDE_PATHS, f"no guides found under {rel(GUIDES)}/<language>/*.md"
    return tuple(load_guide(path) for path in GUIDE_PATHS)


def guides_by_id() -> dict[str, Guide]:
    return {str(g.meta.get("id")): g for g in load_guides()}


@pytest.fixture(scope="module")
def sources_dir() -> Path:
    if not SOURCES.is_dir():
        pytest.fail(
            f"the official sources folder {SOURCES} is missing; the corpus tests need ../shared/sources next to "
            "the project (it holds the statutes the guides and the gold set refer to)"
        )
    return SOURCES


@pytest.mark.parametrize("path", GUIDE_PATHS, ids=rel)
def test_guide_parses(path: Path):
    guide = load_guide(path)
    assert isinstance(guide.meta, dict) and guide.meta, f"{guide.where}: empty front matter"
    assert guide.blocks, f"{guide.where}: the guide has no body text"


def test_guides_exist_for_every_language():
    for language in LANGUAGES:
        assert list((GUIDES / language).glob("*.md")), f"no guides in {rel(GUIDES / language)}"
    stray = [rel(p) for p in GUIDES.glob("*/*.md") if p.parent.name not in LANGUAGES]
    assert not stray, f"guides in a folder that is not fi/sv/en: {stray}"


@pytest.mark.parametrize("path", GUIDE_PATHS, ids=rel)
def test_front_matter(path: Path):
    guide = load_guide(path)
    meta, where = guide.meta, guide.where
    missing = [k for k in REQUIRED_META if meta.get(k) in (None, "", [])]
    assert not missing, f"{where}: front matter lacks {missing} (required: {list(REQUIRED_META)})"
    problems = []
    if meta["language"] not in LANGUAGES:
        problems.append(f"language {meta['language']!r} is not one of {LANGUAGES}")
    if meta["language"] != guide.path.parent.name:
        problems.append(f"language {meta['language']!r} does not match its folder {guide.path.parent.name!r}")
    if meta["id"] != f"{meta['group']}-{meta['language']}":
        problems.append(f"id {meta['id']!r} must be '<group>-<language>', i.e. '{meta['group']}-{meta['language']}'")
    if meta["audience"] not in AUDIENCES:
        problems.append(f"audience {meta['audience']!r} is not one of {sorted(AUDIENCES)}")
    updated = meta["updated"]
    if not isinstance(updated, date):
        try:
            date.fromisoformat(str(updated))
        except ValueError:
            problems.append(f"updated {updated!r} is not a date (YYYY-MM-DD)")
    sources = meta["sources"]
    if not isinstance(sources, list):
        problems.append("sources must be a list")
        sources = []
    for i, source in enumerate(sources, 1):
        if not isinstance(source, dict):
            problems.append(f"sources[{i}] must be a mapping with title and path and/or url")
            continue
        if not source.get("title"):
            problems.append(f"sources[{i}] has no title")
        if not (source.get("path") or source.get("url")):
            problems.append(f"sources[{i}] ({source.get('title')!r}) has neither path nor url")
    assert not problems, "\n".join(f"{where}: {problem}" for problem in problems)


def test_guide_ids_unique():
    counts = Counter(str(g.meta.get("id")) for g in load_guides())
    duplicated = [i for i, n in counts.items() if n > 1]
    assert not duplicated, f"duplicate guide ids: {duplicated}"


@pytest.mark.parametrize("path", GUIDE_PATHS, ids=rel)
def test_headings_have_anchors(path: Path):
    guide = load_guide(path)
    problems = []
    keys = []
    for block in guide.blocks:
        match = HEADING.match(block.lines[0])
        if not match:
            continue
        if len(block.lines) > 1:
            problems.append(f"{guide.where}:{block.line}: a heading must be followed by a blank line")
        if len(match.group(1)) < 2:
            problems.append(f"{guide.where}:{block.line}: use '##' headings; the title belongs in the front matter")
            continue
        anchored = ANCHOR.match(match.group(2))
        if not anchored:
            problems.append(
                f"{guide.where}:{block.line}: heading {match.group(2)!r} does not end with an anchor {{#key}}"
            )
        else:
            keys.append(anchored.group("key"))
    duplicated = [k for k, n in Counter(keys).items() if n > 1]
    if duplicated:
        problems.append(f"{guide.where}: anchor keys used twice: {duplicated}")
    assert not problems, "\n".join(problems)


def _keys(guide: Guide) -> list[str]:
    return [m.group("key") for _, h in guide.headings() if (m := ANCHOR.match(h))]


def test_groups_have_all_languages_with_same_keys():
    groups: dict[str, dict[str, Guide]] = {}
    for guide in load_guides():
        groups.setdefault(str(guide.meta.get("group")), {})[str(guide.meta.get("language"))] = guide
    problems = []
    for group, versions in sorted(groups.items()):
        missing = [lang for lang in LANGUAGES if lang not in versions]
        if missing:
            problems.append(f"group {group!r}: no {missing} version (have {sorted(versions)})")
            continue
        reference = _keys(versions["fi"])
        for language in ("sv", "en"):
            keys = _keys(versions[language])
            if keys != reference:
                problems.append(
                    f"group {group!r}: {versions[language].where} has anchor keys {keys}, "
                    f"but {versions['fi'].where} has {reference} (same keys in the same order required)"
                )
        stems = {g.path.name for g in versions.values()}
        if len(stems) > 1:
            problems.append(f"group {group!r}: file names differ between languages: {sorted(stems)}")
    assert not problems, "\n".join(problems)


def _reference(text: str) -> tuple[str, str] | None:
    """Return (label, reference text) when the paragraph ends with "(Label: …)", else None."""
    stripped = text.rstrip()
    if not stripped.endswith(")"):
        return None
    for match in reversed(list(REFERENCE_START.finditer(stripped))):
        inner = stripped[match.end() : -1]
        depth = 0
        balanced = True
        for ch in inner:
            depth += ch == "("
            depth -= ch == ")"
            if depth < 0:
                balanced = False
                break
        if balanced and depth == 0:
            return match.group(1), inner.strip()
    return None


@pytest.mark.parametrize("path", GUIDE_PATHS, ids=rel)
def test_every_paragraph_has_a_source_reference(path: Path):
    guide = load_guide(path)
    label = SOURCE_LABEL.get(str(guide.meta.get("language")))
    problems = []
    for block in guide.blocks:
        if HEADING.match(block.lines[0]):
            continue
        found = _reference(block.text)
        start = f"{guide.where}:{block.line}"
        excerpt = normalise(block.text)[-90:]
        if found is None:
            problems.append(f"{start}: paragraph does not end with a source reference ({label}: …): …{excerpt!r}")
            continue
        found_label, reference = found
        if found_label != label:
            problems.append(
                f"{start}: source reference uses '{found_label}:' but the guide's language needs '{label}:'"
            )
        flat = normalise(reference)
        if not (NAMES_SECTION.search(flat) or NAMES_ADDRESS_OR_PAGE.search(flat)):
            problems.append(
                f"{start}: source reference names neither a statute section (§ / section) nor an official "
                f"address or page: ({found_label}: {flat})"
            )
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", GUIDE_PATHS, ids=rel)
def test_source_paths_exist(path: Path, sources_dir: Path):
    guide = load_guide(path)
    problems = []
    for i, source in enumerate(guide.meta.get("sources") or [], 1):
        path = source.get("path") if isinstance(source, dict) else None
        if path and not (ROOT / path).resolve().is_file():
            problems.append(f"{guide.where}: sources[{i}] path {path!r} does not exist (resolved from {ROOT})")
    assert not problems, "\n".join(problems)


# -------------------------------------------------------------------------------------------- contacts


@cache
def load_contacts() -> dict[str, dict]:
    with CONTACTS.open("rb") as fh:
        data = tomllib.load(fh)
    contacts = data.get("contact")
    assert isinstance(contacts, list) and contacts, f"{rel(CONTACTS)}: no [[contact]] entries"
    by_id = {}
    for contact in contacts:
        assert contact.get("id"), f"{rel(CONTACTS)}: a [[contact]] has no id"
        assert contact["id"] not in by_id, f"{rel(CONTACTS)}: contact id {contact['id']!r} used twice"
        by_id[contact["id"]] = contact
    return by_id


def test_contacts_have_required_entries_in_every_language():
    contacts = load_contacts()
    problems = []
    for contact_id in ("emergency", "assistance-system"):
        contact = contacts.get(contact_id)
        if contact is None:
            problems.append(f"{rel(CONTACTS)}: no contact with id {contact_id!r}")
            continue
        if not contact.get("phone"):
            problems.append(f"{rel(CONTACTS)}: contact {contact_id!r} has no top-level phone")
        for language in LANGUAGES:
            texts = contact.get(language)
            if not isinstance(texts, dict):
                problems.append(f"{rel(CONTACTS)}: contact {contact_id!r} has no [contact.{language}] table")
                continue
            for key in ("name", "text"):
                if not texts.get(key):
                    problems.append(f"{rel(CONTACTS)}: contact {contact_id!r} lacks {language}.{key}")
            for key in ("phone", "tel"):
                if key in texts and texts[key] != contact.get(key):
                    problems.append(
                        f"{rel(CONTACTS)}: contact {contact_id!r} overrides {key} in [{language}] "
                        f"({texts[key]!r} != {contact.get(key)!r}); phone numbers must be the same in every language"
                    )
    assert not problems, "\n".join(problems)


def _phone_patterns(phone: str) -> list[re.Pattern[str]]:
    """Patterns for a number written with any spacing, internationally and (for +358) nationally (0…)."""
    digits = re.sub(r"\D", "", phone)
    forms = [digits]
    if phone.strip().startswith("+358"):
        forms.append("0" + digits[3:])
    return [re.compile(r"(?<![\d+])\+?" + " ?".join(form) + r"(?!\d)") for form in forms]


def test_contact_numbers_appear_in_getting_help_guides():
    contacts = load_contacts()
    guides = guides_by_id()
    problems = []
    for language in LANGUAGES:
        guide = guides.get(f"getting-help-{language}")
        if guide is None:
            problems.append(f"no guide with id getting-help-{language}")
            continue
        text = normalise(guide.body)
        for contact_id in ("emergency", "assistance-system"):
            phone = str(contacts.get(contact_id, {}).get("phone", ""))
            if not phone:
                problems.append(f"{rel(CONTACTS)}: contact {contact_id!r} has no phone")
            elif not any(p.search(text) for p in _phone_patterns(phone)):
                problems.append(
                    f"{guide.where}: the {contact_id} number {phone!r} (from {rel(CONTACTS)}) "
                    "does not appear in the guide"
                )
    assert not problems, "\n".join(problems)


# -------------------------------------------------------------------------------------------- gold set


@cache
def load_gold() -> tuple[tuple[int, dict], ...]:
    assert GOLD.is_file(), f"{rel(GOLD)} is missing"
    items = []
    for number, line in enumerate(GOLD.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"{rel(GOLD)}:{number}: not valid JSON ({exc.msg})") from exc
        assert isinstance(item, dict), f"{rel(GOLD)}:{number}: each line must be a JSON object"
        items.append((number, item))
    assert items, f"{rel(GOLD)} has no questions"
    return tuple(items)


def source_file(document_id: str) -> Path | None:
    """The file under ../shared/sources whose path without its last suffix is ``document_id``."""
    candidates = SOURCES.glob(glob_escape(document_id) + ".*")
    matches = [p for p in candidates if p.is_file() and p.with_suffix("") == SOURCES / document_id]
    return matches[0] if matches else None


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


@cache
def source_text(document_id: str) -> str:
    """Plain text of an official file: XML without tags, entities decoded; whitespace normalised."""
    path = source_file(document_id)
    assert path is not None, f"no file for {document_id!r} under {SOURCES}"
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".xml":
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return normalise(text)


def section_pattern(section: str) -> re.Pattern[str]:
    """Match "38 a §" also where a file writes "38a §" (consolidated texts); not inside "138 a §"."""
    parts = [re.escape(part) for part in section.split(" ")]
    return re.compile(r"(?<![0-9A-Za-z])" + r" ?".join(parts))


def test_gold_shape_and_ids():
    problems = []
    ids = Counter()
    for number, item in load_gold():
        where = f"{rel(GOLD)}:{number} ({item.get('id')})"
        for key in ("id", "language", "question", "category", "audience", "expected", "must_contain"):
            if key not in item:
                problems.append(f"{where}: missing key {key!r}")
        ids[item.get("id")] += 1
        if not isinstance(item.get("question"), str) or not item.get("question", "").strip():
            problems.append(f"{where}: empty question")
        if not re.fullmatch(r"[a-z]{2,3}", str(item.get("language"))):
            problems.append(f"{where}: language {item.get('language')!r} is not a language code")
        category = item.get("category")
        if category not in CATEGORIES:
            problems.append(f"{where}: category {category!r} is not one of {sorted(CATEGORIES)}")
        if item.get("audience") not in ("public", "staff"):
            problems.append(f"{where}: audience {item.get('audience')!r} must be public or staff")
        expected, must = item.get("expected"), item.get("must_contain")
        if not isinstance(expected, list):
            problems.append(f"{where}: expected must be a list")
            continue
        if category in ANSWERABLE:
            if not expected:
                problems.append(f"{where}: an answerable ({category}) question needs expected documents")
            alternatives = must if isinstance(must, list) else [must]
            if (
                not alternatives
                or len(set(alternatives)) != len(alternatives)
                or not all(isinstance(p, str) and 1 <= len(p.split()) <= 4 for p in alternatives)
            ):
                problems.append(
                    f"{where}: must_contain must be a phrase of 1–4 words or a list of distinct such alternatives, "
                    f"got {must!r}"
                )
        elif category == "out_of_scope":
            if expected or must is not None:
                problems.append(f"{where}: out_of_scope questions have expected [] and must_contain null")
        elif category == "danger" and must is not None:
            problems.append(f"{where}: danger messages have must_contain null")
    duplicates = [i for i, n in ids.items() if n > 1]
    if duplicates:
        problems.append(f"{rel(GOLD)}: duplicate ids {duplicates}")
    assert not problems, "\n".join(problems)


def test_gold_composition():
    items = [item for _, item in load_gold()]
    per_language = Counter(item.get("language") for item in items)
    per_category = Counter(item.get("category") for item in items)
    answerable = Counter(item.get("language") for item in items if item.get("category") in ANSWERABLE)
    danger_languages = {item.get("language") for item in items if item.get("category") == "danger"}
    problems = []
    for language in LANGUAGES:
        if per_language[language] < 30:
            problems.append(f"only {per_language[language]} {language} questions (need ≥ 30)")
        if answerable[language] < 15:
            problems.append(f"only {answerable[language]} answerable {language} questions (need ≥ 15)")
    for category in ("out_of_scope", "danger", "harmless_alarming"):
        if per_category[category] < 10:
            problems.append(f"only {per_category[category]} {category} questions (need ≥ 10)")
    others = danger_languages - set(LANGUAGES)
    if len(others) < 5:
        problems.append(f"danger messages in only {sorted(others)} besides fi/sv/en (need ≥ 5 other languages)")
    missing = set(LANGUAGES) - danger_languages
    if missing:
        problems.append(f"no danger message in {sorted(missing)}")
    assert not problems, f"{rel(GOLD)}: " + "; ".join(problems)


def test_gold_expected_documents_and_sections(sources_dir: Path):
    guides = guides_by_id()
    problems = []
    for number, item in load_gold():
        where = f"{rel(GOLD)}:{number} ({item.get('id')})"
        for entry in item.get("expected") or []:
            document_id, section = entry.get("document_id"), entry.get("section")
            if document_id in guides:
                guide = guides[document_id]
                titles = set(guide.sections()) | {str(guide.meta.get("title"))}
                if section not in titles:
                    problems.append(
                        f"{where}: section {section!r} is not a heading of {document_id} ({guide.where}) nor its "
                        f"title; headings: {sorted(titles)}"
                    )
                continue
            if not document_id or source_file(document_id) is None:
                problems.append(
                    f"{where}: document_id {document_id!r} is neither a guide id nor a file under {sources_dir}"
                )
                continue
            if section is None:
                continue
            if not STATUTE_SECTION.match(str(section)):
                problems.append(
                    f"{where}: section {section!r} of {document_id} must be a statute section like '52 c §'"
                )
            elif not section_pattern(section).search(source_text(document_id)):
                problems.append(f"{where}: section {section!r} does not appear in {document_id}")
    assert not problems, "\n".join(problems)


def test_gold_must_contain_is_in_an_expected_document(sources_dir: Path):
    guides = guides_by_id()
    problems = []
    for number, item in load_gold():
        must = item.get("must_contain")
        if not must:
            continue
        texts = []
        for entry in item.get("expected") or []:
            document_id = entry.get("document_id")
            if document_id in guides:
                texts.append(normalise(guides[document_id].body))
            elif document_id and source_file(document_id) is not None:
                texts.append(source_text(document_id))
        # Every alternative must be written in an expected document: an alternative is the same fact as the
        # sources word it, never a phrase an answer merely happens to contain.
        for phrase in must if isinstance(must, list) else [must]:
            needle = normalise(phrase).casefold()
            if not any(needle in text.casefold() for text in texts):
                names = [e.get("document_id") for e in item.get("expected") or []]
                problems.append(
                    f"{rel(GOLD)}:{number} ({item.get('id')}): must_contain {phrase!r} is in none of {names}"
                )
    assert not problems, "\n".join(problems)
