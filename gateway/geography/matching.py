"""Find mentions of provinces and their capitals in free text, in any script.

Matching runs on ``fold(text)`` (letter variants unified, no diacritics, casefolded) with one
more, matching-only step: Pashto letters are mapped to the Persian letters that Pashto writers
use on a Dari keyboard (ګ→گ, ښ→ش, ړ→ر, ټ→ت ...). ``fold`` keeps them on purpose because they
are evidence for language identification; for place names they are only spelling variants.
The mapping is one character for one, so offsets are offsets into ``fold(text)``.

No Aho-Corasick library is installed, so this is one compiled regex alternation, longest
alias first, with word boundaries on both sides. Decisions on ambiguous names:

* A capital named like its own province (Kabul, Herat, Kandahar, Khost...) is one mention, of
  kind "province" (see ``reference.load_aliases``).
* Names that are also common words are still matched, because for this hotline the place is
  by far the likelier reading and every routing decision records the alias that caused it:
  "Farah" (also a given name, but the name is written فرح in Dari, so only Latin text is
  ambiguous), "Mazar"/"مزار" (also "shrine"), "Nimroz"/"نیمروز" (literary "noon"), "Nili"/
  "نیلی" (also "indigo"), "Sar e Pul" (also "at the bridge"). The few fixed phrases where the
  word is clearly not the place are listed in ``_BLOCKERS`` and never produce a mention.
  The spaced Dari "سر پل" ("at the bridge") is deliberately not an alias; only "سرپل" is.
* Districts are out of scope (no district gazetteer yet): "Ghorband" (a district of Parwan)
  matches neither Ghor, thanks to the word boundary, nor Parwan. "Khost wa Fereng" (a district
  of Baghlan) is blocked rather than read as Khost.
* Demonyms are not matched ("Kabuli", "هراتی"): "Kabuli palaw" is a dish, not an address.
* In Arabic script, the prepositions از ("from"), در ("in"), د (Pashto "of") and و ("and")
  may be glued to the name: they end in a non-joining letter, so the missing space is
  invisible on screen and common in typed SMS ("ازکابل", "دکندهار"). No other prefix or
  suffix is stripped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from gateway.geography.reference import AliasKind, ReferenceDataError, load_aliases
from gateway.language.normalize import fold

_PASHTO_TO_PERSIAN = str.maketrans(
    {
        "\u06ab": "\u06af",  # ګ -> گ
        "\u069a": "\u0634",  # ښ -> ش
        "\u0693": "\u0631",  # ړ -> ر
        "\u067c": "\u062a",  # ټ -> ت
        "\u0689": "\u062f",  # ډ -> د
        "\u0696": "\u0698",  # ږ -> ژ
        "\u06d0": "\u06cc",  # ې -> ی
        "\u06cd": "\u06cc",  # ۍ -> ی
        "\u06c1": "\u0647",  # Urdu-keyboard heh goal -> ه
    }
)

# Separators people put (or leave out) between the parts of a Latin name: "Mazar-i-Sharif",
# "mazar i sharif", "mazarisharif". Several dash code points survive NFKC.
_LATIN_SEP = r"[\s\-\u2010-\u2015]*"
_LATIN_SPLIT = re.compile(r"[\s\-\u2010-\u2015]+")
# A Latin ezafe ("-i-", "-e-") is optional and may be glued to either neighbour.
_EZAFE = frozenset({"i", "e"})
# "-abad" ("town") is written glued, spaced or hyphenated in both scripts: Jalal-abad, جلال آباد.
_ABAD = {"latin": "abad", "arabic": "اباد"}

# A province name glued to one of these prepositions still counts (see module docstring).
_ARABIC_LEAD = "(?:(?<!\\w)|" + "|".join(f"(?<=(?<!\\w){p})" for p in ("از", "در", "د", "و")) + ")"

# Phrases that contain a province name but do not name the province. They are tried before
# any alias at the same position and consume the phrase; no capturing groups allowed.
_BLOCKERS_LATIN = (
    # Khost wa Fereng is a district of Baghlan, not Khost province.
    r"khost[\s\-]*(?:wa|o|u)[\s\-]*f(?:ereng|iring|ering|irang|arang)",
)
_BLOCKERS_ARABIC = (
    r"خوست\s*و\s*فرنگ",
    # غور also means "consideration": "غور کنید" (please consider), "مورد غور" (under review),
    # Pashto "غور وکړئ" (ړ folded to ر here).
    r"غور\s*(?:کن(?:ید|یم|ند|د|م|ی)?|کرد\w*|نمود\w*|نمای\w*|شود|شده|صورت|وکر\w*)",
    r"غور\s*(?:کول|کوی|کوئ)",
    r"(?:مورد|قابل)\s*غور",
    # نیلی is also "bruised": "نیلی شده", "نیلی و کبود".
    r"نیلی\s*(?:شد\w*|و\s*کبود)",
    # A common misspelling of درخواست ("request") that would otherwise read as "in Khost".
    r"درخوست\w*",
)


@dataclass(frozen=True, slots=True)
class Mention:
    """A province or capital found in text; start/end index into ``fold(text)``."""

    pcode: str
    alias: str
    start: int
    end: int
    kind: AliasKind


@dataclass(frozen=True, slots=True)
class _Branch:
    pcode: str
    alias: str
    kind: AliasKind


def _match_form(text: str) -> str:
    return fold(text).translate(_PASHTO_TO_PERSIAN)


def _split_abad(tokens: list[str], suffix: str) -> list[str]:
    out: list[str] = []
    for token in tokens:
        if token.endswith(suffix) and len(token) > len(suffix):
            out += [token[: -len(suffix)], suffix]
        else:
            out.append(token)
    return out


def _latin_pattern(folded: str) -> str:
    tokens = _split_abad(_LATIN_SPLIT.split(folded), _ABAD["latin"])
    pattern = re.escape(tokens[0])
    for token in tokens[1:]:
        if token in _EZAFE:
            pattern += f"(?:{_LATIN_SEP}[ie])?"
        else:
            pattern += _LATIN_SEP + re.escape(token)
    return pattern


def _arabic_pattern(folded: str) -> str:
    # fold() has already turned ZWNJ into a space, so "جلال‌آباد" arrives as "جلال اباد".
    tokens = _split_abad(folded.split(), _ABAD["arabic"])
    return r"\s*".join(re.escape(token) for token in tokens)


def _alias_branches() -> tuple[dict[str, _Branch], dict[str, _Branch]]:
    """Pattern -> branch, per script; raises if one spelling would name two provinces."""
    latin: dict[str, _Branch] = {}
    arabic: dict[str, _Branch] = {}
    for alias in load_aliases():
        folded = _match_form(alias.text)
        is_latin = folded.isascii()
        pattern = _latin_pattern(folded) if is_latin else _arabic_pattern(folded)
        table = latin if is_latin else arabic
        branch = _Branch(alias.pcode, alias.text, alias.kind)
        seen = table.get(pattern)
        if seen is None or (seen.kind == "capital" and branch.kind == "province"):
            if seen is not None and seen.pcode != branch.pcode:
                raise ReferenceDataError(f"{alias.text!r} names {seen.pcode} and {alias.pcode}")
            table[pattern] = branch
        elif seen.pcode != branch.pcode:
            raise ReferenceDataError(f"{alias.text!r} names {seen.pcode} and {alias.pcode}")
    return latin, arabic


def _alternation(
    blockers: tuple[str, ...], aliases: dict[str, _Branch], into: list[_Branch]
) -> str:
    """Blockers, then aliases grouped under their first letter, longest alias first.

    Grouping under a literal first letter lets ``re`` skip a whole group with one character
    comparison (about 4x faster); longest first makes "Mazar-i-Sharif" win over "Mazar" at the
    same position, since ``re`` keeps the first alternative that matches. Blockers have no
    capturing group, so a blocker match is recognisable by ``lastindex`` being None.
    """
    by_letter: dict[str, list[tuple[str, _Branch]]] = {}
    for pattern, branch in sorted(aliases.items(), key=lambda kv: -len(kv[1].alias)):
        by_letter.setdefault(pattern[0], []).append((pattern, branch))
    groups = []
    for letter, items in by_letter.items():
        if not letter.isalnum():  # re.escape would have changed it; keep the prefix literal
            raise ReferenceDataError(f"alias {items[0][1].alias!r} does not start with a letter")
        into.extend(branch for _, branch in items)
        groups.append(letter + "(?:" + "|".join(f"({pattern[1:]})" for pattern, _ in items) + ")")
    return "|".join((*blockers, *groups))


@cache
def _automaton() -> tuple[re.Pattern[str], tuple[_Branch, ...]]:
    latin, arabic = _alias_branches()
    branches: list[_Branch] = []  # capture group n -> branches[n - 1]
    latin_alt = _alternation(_BLOCKERS_LATIN, latin, branches)
    arabic_alt = _alternation(_BLOCKERS_ARABIC, arabic, branches)
    # The leads are zero-width, so the whole match is exactly the alias (or blocked phrase).
    regex = re.compile(rf"(?<!\w)(?:{latin_alt})(?!\w)|{_ARABIC_LEAD}(?:{arabic_alt})(?!\w)")
    if regex.groups != len(branches):
        raise ReferenceDataError("an alias or blocker pattern contains a capturing group")
    return regex, tuple(branches)


def find_province_mentions(text: str) -> list[Mention]:
    """All province and capital mentions in ``text``, in order of appearance."""
    regex, branches = _automaton()
    mentions = []
    for match in regex.finditer(_match_form(text)):
        if match.lastindex is None:  # a blocker: the name is used as an ordinary word here
            continue
        branch = branches[match.lastindex - 1]
        mentions.append(Mention(branch.pcode, branch.alias, *match.span(), branch.kind))
    return mentions


def pick_province(mentions: Sequence[Mention]) -> Mention | None:
    """The first province-kind mention, else the first capital, else None.

    A province name is the sender stating where they are; a capital is more often a place
    they travelled to or a city-wide event, so it only decides when no province is named.
    """
    for mention in mentions:
        if mention.kind == "province":
            return mention
    return mentions[0] if mentions else None
