"""Finlex statute XML (``original-statute_*.xml``): an act as enacted, one section per ``saa:Pykala``."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from lxml import etree

from ingest.document import LoadedDocument
from ingest.loaders.textbuilder import (
    TextBuilder,
    clean_line,
    clean_paragraph,
    document_id_for,
    finish,
    language_from_path,
    normalise_language,
)
from kb.errors import LoaderError

SAA = "http://www.vn.fi/skeemat/saadoskooste/2010/04/27"
SAA1 = "http://www.vn.fi/skeemat/saadoselementit/2010/04/27"
MET1 = "http://www.vn.fi/skeemat/metatietoelementit/2010/04/27"
ASI = "http://www.vn.fi/skeemat/asiakirjakooste/2010/04/27"
ASI1 = "http://www.vn.fi/skeemat/asiakirjaelementit/2010/04/27"

# Roots of the statute form ("act to be confirmed", as published in the statute book). Court decisions and
# other Finlex XML have other roots and are refused rather than half-read.
STATUTE_ROOTS = frozenset({"VahvistettavaLaki"})

_ID_ATTR = f"{{{SAA1}}}identifiointiTunnus"
_CLASS_ATTR = f"{{{SAA1}}}pykalaLuokitusKoodi"
_LANG_ATTR = f"{{{MET1}}}kieliKoodi"
_TYPE_ATTR = f"{{{SAA1}}}saadostyyppiNimi"

# The entry-into-force section has no number or heading in the XML; the statute book prints this word.
_ENTRY_INTO_FORCE = {"fi": "Voimaantulo", "sv": "Ikraftträdande", "en": "Entry into force"}
# Printed as a row of dashes: unchanged text of the amended act is left out here.
_OMISSION = "– – –"
# Elements whose content starts on a new line inside a paragraph: sub-items (alakohta), and the stray
# un-namespaced <pl> lines that carry the new act title inside one Swedish johtolause (388/2015).
_LINE_ELEMENTS = frozenset({"MomenttiAlakohtaKooste", "pl"})

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def _local(element: etree._Element) -> str:
    """Return the tag without its namespace ("" for comments and processing instructions)."""
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _inline(element: etree._Element, skip: frozenset[str] = frozenset()) -> str:
    """Return all text inside ``element`` in document order; line elements start on their own line.

    Args:
        element: the element to read.
        skip: local names of elements whose own text is left out (their tails are kept).
    """
    parts: list[str] = [element.text or ""]
    for child in element:
        name = _local(child)
        if name in skip:
            pass
        elif name in _LINE_ELEMENTS:
            parts.append("\n" + _inline(child, skip) + "\n")
        elif name:
            parts.append(_inline(child, skip))
        parts.append(child.tail or "")
    return "".join(parts)


def _section_key(identifier: str) -> str:
    """Turn "52 b §" into "52b" and "Voimaantulo" into "voimaantulo"."""
    return re.sub(r"[\s§]+", "", clean_line(identifier)).lower()


def _first(element: etree._Element, name: str) -> etree._Element | None:
    """Return the first direct child in the saa namespace with this local name."""
    return element.find(f"{{{SAA}}}{name}")


def _text_of(element: etree._Element | None) -> str:
    """Return the element's text as one clean line ("" when there is no element)."""
    return clean_line(_inline(element)) if element is not None else ""


class _StatuteReader:
    """Walk one act (saa:Saados) in document order and feed a TextBuilder."""

    def __init__(self, language: str | None, qualify_keys: bool) -> None:
        self.builder = TextBuilder()
        self.language = language
        self.qualify_keys = qualify_keys
        self.chapters: dict[str, str] = {}
        self.new_title = ""

    def act(self, act: etree._Element) -> None:
        """Read the title, johtolause, sections and appendix of the act."""
        for child in act:
            name = _local(child)
            if name == "SaadosNimeke":
                self.builder.paragraph(_act_title(child))
            elif name == "Johtolause":
                self.enacting_clause(child)
            elif name == "UusiNimeke":
                self.new_title = _act_title(child)
                self.builder.paragraph(self.new_title)
            elif name == "Pykalisto":
                self.section_list(child, chapter=None)
                self.builder.close_section()
            elif name == "SaadosLiite":
                self.builder.close_section()
                for paragraph in child:
                    self.builder.paragraph(_inline(paragraph))

    def enacting_clause(self, johtolause: etree._Element) -> None:
        """Add each paragraph of the johtolause; stray <pl> lines in it are the act's new title."""
        title_lines: list[str] = []
        for paragraph in johtolause:
            title_lines.extend(clean_line(_inline(line)) for line in paragraph.iter("pl"))
            self.builder.paragraph(_inline(paragraph, skip=frozenset({"pl"})))
        if any(title_lines):
            self.new_title = " ".join(line for line in title_lines if line)
            self.builder.paragraph(self.new_title)

    def section_list(self, parent: etree._Element, chapter: tuple[str, str] | None) -> None:
        """Read chapters, sections and subheadings under a saa:Pykalisto or saa:Luku."""
        for child in parent:
            name = _local(child)
            if name == "Luku":
                self.chapter(child)
            elif name == "Pykala":
                self.section(child, chapter)
            elif name == "SaadosValiotsikkoKooste":
                # A subheading groups the sections that follow; it gets a keyless section of its own.
                self.builder.heading(_text_of(child), None)

    def chapter(self, luku: etree._Element) -> None:
        """Open a section for the chapter heading, then read the chapter's sections."""
        number = _text_of(_first(luku, "LukuTunnusKooste"))
        identifier = luku.get(_ID_ATTR) or number
        heading = " ".join(p for p in (number, _text_of(_first(luku, "SaadosOtsikkoKooste"))) if p)
        # The identifier is "4 luku" in most Swedish files too, but "4 kap." in some: key on the number only.
        chapter_number = re.sub(r"\s+|luku|kap\.?", "", identifier).lower()
        if heading:
            self.builder.heading(heading, f"{chapter_number}luku" if chapter_number else None)
        self.section_list(luku, (chapter_number, heading))

    def section(self, pykala: etree._Element, chapter: tuple[str, str] | None) -> None:
        """Add one section (pykälä): heading line, then each momentti as a paragraph."""
        number = _text_of(_first(pykala, "PykalaTunnusKooste"))
        identifier = clean_line(pykala.get(_ID_ATTR) or number)
        heading = _text_of(_first(pykala, "SaadosOtsikkoKooste"))
        if not number and (identifier == "Voimaantulo" or pykala.get(_CLASS_ATTR) == "VoimaantuloSaannos"):
            title = _ENTRY_INTO_FORCE.get(self.language or "fi", "Voimaantulo")
            key = "voimaantulo"
        else:
            number = number or identifier
            title = f"{number} {heading}" if heading else number
            key = _section_key(identifier)
            if self.qualify_keys and chapter is not None and chapter[0]:
                # Section numbers restart in every chapter of this act (e.g. the Criminal Code): "25:3".
                key = f"{chapter[0]}:{key}"
        if chapter is not None and chapter[1]:
            self.chapters[key] = chapter[1]
        self.builder.heading(title, key)
        previous = ""
        for child in pykala:
            name = _local(child)
            if name == "MomenttiKooste":
                self.builder.paragraph(_inline(child))
            elif name == "KohdatMomentti":
                self.builder.paragraph(_list_moment(child))
            elif name == "MomenttiKohtaKooste" and previous == name:
                # Items straight under the section (no introductory sentence) stay together as one list.
                self.builder.extend_last(_inline(child))
            elif name == "MomenttiKohtaKooste":
                self.builder.paragraph(_inline(child))
            elif name == "Katkoviiva":
                self.builder.paragraph(_OMISSION)
            previous = name


def _list_moment(moment: etree._Element) -> str:
    """Render a momentti with items: the introduction, then each item (kohta) on its own line."""
    lines: list[str] = []
    for child in moment:
        name = _local(child)
        if name in ("MomenttiJohdantoKooste", "MomenttiKohtaKooste"):
            lines.append(clean_paragraph(_inline(child)))
        elif name == "Katkoviiva":
            lines.append(_OMISSION)
    return "\n".join(line for line in lines if line)


def _act_title(nimeke: etree._Element) -> str:
    """Join the act type and name: "Laki" + "ulkomaalaislain muuttamisesta"; "Ulkomaalaislaki" alone."""
    kind = _text_of(_first(nimeke, "SaadostyyppiKooste"))
    name = _text_of(_first(nimeke, "SaadosNimekeKooste"))
    return " ".join(p for p in (kind, name) if p)


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def load_finlex_xml(data: bytes, source: str) -> LoadedDocument:
    """Load a Finlex statute XML file.

    Args:
        data: the file's bytes.
        source: the path relative to the ingested folder.

    Raises:
        LoaderError: the XML is not well-formed, not a Finlex statute, or has no text.
    """
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise LoaderError(f"not well-formed XML ({exc.msg}); the file may be truncated or damaged") from exc
    if root is None or _local(root) not in STATUTE_ROOTS:
        found = etree.QName(root.tag).localname if root is not None and isinstance(root.tag, str) else "none"
        raise LoaderError(
            f"unsupported XML document (root element <{found}>); only Finlex statute XML "
            f"(<{'>, <'.join(sorted(STATUTE_ROOTS))}>) can be loaded"
        )
    act = root.find(f".//{{{SAA}}}Saados")
    if act is None:
        raise LoaderError("Finlex XML without an act (no saa:Saados element)")

    language = (
        normalise_language(act.get(_LANG_ATTR))
        or normalise_language(root.get(_LANG_ATTR))
        or language_from_path(source)
    )
    number_text = clean_line(root.findtext(f".//{{{ASI1}}}AsiakirjaNroTeksti") or "")
    year_text = clean_line(root.findtext(f".//{{{ASI1}}}ValtiopaivavuosiTeksti") or "")
    meta: dict[str, Any] = {"kind": "statute", "format": "finlex-xml"}
    statute: str | None = None
    url: str | None = None
    if number_text.isdigit() and year_text.isdigit():
        number, year = int(number_text), int(year_text)
        statute = f"{number}/{year}"
        url = f"https://www.finlex.fi/{language or 'fi'}/laki/alkup/{year}/{year}{number:04d}"
        meta.update(statute=statute, year=year, number=number)

    nimeke = _first(act, "SaadosNimeke")
    act_title = _act_title(nimeke) if nimeke is not None else ""
    if not act_title:
        act_title = clean_line(root.findtext(f".//{{{MET1}}}NimekeTeksti") or "")
    title = _capitalise(act_title) if act_title else document_id_for(source)
    if statute:
        title = f"{title} ({statute})"
    if act.get(_TYPE_ATTR):
        meta["act_type"] = act.get(_TYPE_ATTR)
    references = [clean_line(t) for t in root.xpath(".//*[local-name()='AsiakirjaViitteet']//text()") if t.strip()]
    if references:
        meta["references"] = references
    signed = clean_line(root.findtext(f".//{{{ASI}}}PaivaysKooste") or "")
    if signed:
        meta["signed"] = signed

    identifiers = Counter(p.get(_ID_ATTR) or "" for p in act.iter(f"{{{SAA}}}Pykala"))
    duplicated = any(count > 1 for identifier, count in identifiers.items() if identifier)
    reader = _StatuteReader(language, qualify_keys=duplicated)
    reader.act(act)
    if reader.new_title:
        meta["new_title"] = reader.new_title
    if reader.chapters:
        meta["chapters"] = reader.chapters
    return finish(
        reader.builder,
        source=source,
        document_id=document_id_for(source),
        title=title,
        language=language,
        url=url,
        meta=meta,
    )
