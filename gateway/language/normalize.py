"""Normalisation of incoming text.

Two levels, because order matters (DESIGN "Languages"):

* ``clean`` is safe to run *before* language identification: NFKC and removal of
  invisible format marks only. It never touches letters, so Pashto's own letters and
  Arabic-vs-Persian letter choices — evidence for the detector — survive.
* ``fold`` is for *matching* (keywords, place names, menu digits): it unifies Arabic and
  Persian letter variants, strips diacritics and tatweel, maps Persian and Arabic-Indic
  digits to ASCII and case-folds. Never feed its output to the language detector.

The raw text is always stored untouched; these functions produce copies.
"""

from __future__ import annotations

import re
import unicodedata

# Persian (U+06F0..) and Arabic-Indic (U+0660..) digits to ASCII.
_DIGITS = {0x06F0 + i: str(i) for i in range(10)} | {0x0660 + i: str(i) for i in range(10)}

# Arabic letter variants that Dari/Pashto writers (and keyboards) use interchangeably.
# Pashto's own letters (ټ ډ ړ ږ ښ ګ ڼ ۍ ې ځ څ) are deliberately left alone.
_LETTERS = {
    0x064A: "\u06cc",  # ARABIC YEH -> FARSI YEH
    0x0649: "\u06cc",  # ALEF MAKSURA -> FARSI YEH
    0x0643: "\u06a9",  # ARABIC KAF -> KEHEH
    0x0629: "\u0647",  # TEH MARBUTA -> HEH
    0x06C0: "\u0647",  # HEH WITH YEH ABOVE -> HEH
    0x06D5: "\u0647",  # AE -> HEH
    0x0623: "\u0627",  # ALEF WITH HAMZA ABOVE -> ALEF
    0x0625: "\u0627",  # ALEF WITH HAMZA BELOW -> ALEF
    0x0622: "\u0627",  # ALEF WITH MADDA -> ALEF
    0x0671: "\u0627",  # ALEF WASLA -> ALEF
}

_TATWEEL = "\u0640"
_ws = re.compile(r"\s+")


def _is_format_mark(ch: str) -> bool:
    # Cf covers LRM/RLM/ALM, the embedding/isolate controls, ZWJ/ZWNJ and BOM. ZWNJ matters
    # for Persian spelling but carries no meaning for identification or matching.
    return unicodedata.category(ch) == "Cf"


def clean(text: str) -> str:
    """NFKC, invisible format marks removed, whitespace collapsed. Letters untouched."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(
        " " if ch == "\u200c" else ch
        for ch in text
        if ch == "\u200c" or not _is_format_mark(ch)
    )
    return _ws.sub(" ", text).strip()


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits to ASCII (for menus, keywords, numbers)."""
    return text.translate(_DIGITS)


def fold(text: str) -> str:
    """Matching form: clean + letter variants unified + no diacritics + ASCII digits + casefold."""
    text = clean(text).translate(_DIGITS).translate(_LETTERS).replace(_TATWEEL, "")
    decomposed = unicodedata.normalize("NFD", text)
    # Drop combining marks: Arabic harakat and Latin accents alike ("Hérat" == "Herat").
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).casefold()


def normalized_copy(text: str) -> str:
    """The normalised copy stored beside the raw text (DESIGN: NFKC, marks, letters, digits)."""
    return clean(text).translate(_DIGITS).translate(_LETTERS).replace(_TATWEEL, "")
