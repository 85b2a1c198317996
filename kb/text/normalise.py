"""Text as people mean it: the same letters however they were typed, before detection, analysis and search.

NFKC folds compatibility forms (full-width letters, ligatures); zero-width and other invisible format characters
and control characters are removed ("he\u200blp" → "help"); a Cyrillic or Greek letter that looks like a Latin one
inside a word that is otherwise Latin is read as the Latin letter ("pаssport" with a Cyrillic "а" → "passport").
Whole words in Cyrillic or Greek stay as they are: Russian and Ukrainian messages must keep their letters.
"""

from __future__ import annotations

import re
import unicodedata

# Letters that look alike and are used to dodge filters, Cyrillic and Greek → Latin.
_CONFUSABLES = str.maketrans(
    {
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
        "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S",
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "Α": "A", "Β": "B", "Ε": "E", "Η": "H", "Ι": "I", "Κ": "K",
        "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Χ": "X", "Υ": "Y", "Ζ": "Z",
    }
)
_WORD = re.compile(r"[^\W\d_]+")


def _invisible(char: str) -> bool:
    category = unicodedata.category(char)
    # Cf: format characters (zero-width space, joiners, direction marks, soft hyphen); Cc: controls but whitespace.
    return category == "Cf" or (category == "Cc" and char not in "\n\t\r")


def _fold_word(match: re.Match[str]) -> str:
    word = match.group(0)
    if word.isascii():
        return word
    latin = sum(1 for c in word if "LATIN" in unicodedata.name(c, ""))
    if latin == 0:  # a Cyrillic or Greek word: leave it alone
        return word
    return word.translate(_CONFUSABLES)


def normalise(text: str) -> str:
    """Return ``text`` in NFKC, without invisible characters, with look-alike letters in Latin words folded."""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = "".join(c for c in text if not _invisible(c))
        text = _WORD.sub(_fold_word, text)
    return text
