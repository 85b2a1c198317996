"""Official fi/sv/en terminology, used to let the BM25 side cross languages.

A question in one language matches the passages in the other two through the terms of this glossary: an English
question about the "reflection period" also looks for *harkinta-aika* in Finnish passages and *betänketid* in
Swedish ones. The pairs come from the statute texts and the terminology table of ../shared/facts.md (§ 2.9).
"""

from __future__ import annotations

from kb.text.language import Analysers
from kb.types import LANGUAGES

# (fi, sv, en); alternatives of one language are separated by "|".
TERMS: list[tuple[str, str, str]] = [
    ("ihmiskauppa", "människohandel", "trafficking|human trafficking|trafficking in human beings"),
    ("törkeä ihmiskauppa", "grov människohandel", "aggravated trafficking"),
    ("ihmiskaupan uhri|uhri", "offer för människohandel|offer", "victim|victim of trafficking"),
    ("auttamisjärjestelmä", "hjälpsystemet|hjälpsystem", "assistance system"),
    ("Joutsenon vastaanottokeskus|Joutseno", "förläggningen i Joutseno|Joutseno", "Joutseno Reception Centre|Joutseno"),
    ("harkinta-aika", "betänketid", "reflection period"),
    ("toipumisaika", "återhämtningstid", "recovery period"),
    ("monialainen asiantuntijaryhmä", "sektorsövergripande expertgrupp", "multidisciplinary expert group"),
    ("tunnistaminen|varsinainen tunnistaminen", "identifiering", "identification|identify"),
    (
        "yhdenvertaisuusvaltuutettu",
        "diskrimineringsombudsmannen|diskrimineringsombudsman",
        "Non-Discrimination Ombudsman",
    ),
    ("kansallinen ihmiskaupparaportoija|raportoija", "nationell rapportör|rapportör", "national rapporteur|rapporteur"),
    ("vähemmistövaltuutettu", "minoritetsombudsmannen", "Ombudsman for Minorities"),
    ("koordinaattori", "samordnare", "coordinator"),
    ("toimintaohjelma", "handlingsplan", "action plan"),
    ("sisäministeriö", "inrikesministeriet", "Ministry of the Interior"),
    ("oikeusministeriö", "justitieministeriet", "Ministry of Justice"),
    ("Maahanmuuttovirasto", "Migrationsverket", "Finnish Immigration Service|Migri"),
    ("poliisi", "polis", "police"),
    ("rajatarkastusviranomainen", "gränskontrollmyndighet", "border control authority|border authority"),
    ("oleskelulupa", "uppehållstillstånd", "residence permit"),
    ("jatkuva oleskelulupa", "kontinuerligt uppehållstillstånd", "continuous residence permit|continuous permit"),
    ("tilapäinen oleskelulupa", "tillfälligt uppehållstillstånd", "temporary residence permit|temporary permit"),
    ("ulkomaalaislaki", "utlänningslagen", "Aliens Act"),
    ("rikoslaki", "strafflagen", "Criminal Code"),
    ("vastaanottolaki", "mottagandelagen", "Reception Act"),
    ("pakkotyö", "tvångsarbete", "forced labour|forced labor"),
    ("seksuaalinen hyväksikäyttö", "sexuellt utnyttjande", "sexual exploitation"),
    ("vankeus", "fängelse", "imprisonment|prison"),
    ("rangaistus", "straff", "penalty|punishment"),
    ("esitutkinta", "förundersökning", "pre-trial investigation"),
    ("kotikunta", "hemkommun", "municipality of residence|home municipality"),
    ("päättää", "besluta|beslutar", "decide|decides"),
    ("maksuton", "avgiftsfri|gratis", "free of charge"),
    ("turvallinen majoitus", "tryggt boende", "safe accommodation"),
    ("oikeusapu", "rättshjälp", "legal aid"),
    ("ilman huoltajaa oleva lapsi", "barn utan vårdnadshavare", "unaccompanied child"),
    ("sisäisen turvallisuuden rahasto", "fonden för inre säkerhet", "Internal Security Fund"),
    ("ministerityöryhmä", "ministerarbetsgrupp", "ministerial working group"),
    ("kansliapäällikkökokous", "kanslichefsmöte", "meeting of permanent secretaries"),
]


class Glossary:
    """Finds glossary terms in a question and gives their equivalents, analysed, in the other languages."""

    def __init__(self, analysers: Analysers) -> None:
        self.analysers = analysers
        # entry → language → list of alternatives, each a frozenset of analysed terms
        self.entries: list[dict[str, list[frozenset[str]]]] = []
        for row in TERMS:
            entry: dict[str, list[frozenset[str]]] = {}
            for language, text in zip(LANGUAGES, row, strict=True):
                entry[language] = [frozenset(analysers.analyse(alt, language)) for alt in text.split("|")]
            self.entries.append(entry)

    def expansions(self, terms: set[str], language: str) -> dict[str, set[str]]:
        """Analysed equivalents per other language of the glossary terms found among ``terms``."""
        out: dict[str, set[str]] = {}
        if language not in LANGUAGES:
            return out
        for entry in self.entries:
            if any(alt and alt <= terms for alt in entry[language]):
                for other in LANGUAGES:
                    if other != language:
                        for alt in entry[other]:
                            out.setdefault(other, set()).update(alt)
        return out

    def covered(self, terms: set[str], language: str) -> set[str]:
        """Return the terms among ``terms`` that some glossary entry translates.

        Those are what a passage in another language can match.
        """
        out: set[str] = set()
        if language not in LANGUAGES:
            return out
        for entry in self.entries:
            for alt in entry[language]:
                if alt and alt <= terms:
                    out |= alt
        return out
