"""How many SMS segments a text costs, and where a long text is cut.

GSM-7 (3GPP TS 23.038 default alphabet): 160 septets in one message, 153 per part of a
concatenated one (the user-data header takes 7); characters of the extension table
(``^{}\\[~]|€`` and form feed) cost two septets (escape + character) and the pair is never
split. Anything outside GSM-7 makes the whole message UCS-2: 70 UTF-16 code units, 67 per
part. A part never ends inside a surrogate pair (an emoji is two code units) or inside a
grapheme (a letter and its combining marks, an emoji ZWJ sequence, a flag).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

_ZWJ = "\u200d"


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" | "UCS-2"
    characters: int  # code points, as a person counts them
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _septets(ch: str) -> int:
    return 2 if ch in GSM7_EXTENSION else 1


def _utf16_units(s: str) -> int:
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in s)


def _extends(prev: str, ch: str) -> bool:
    """True if ``ch`` continues the grapheme that ``prev`` belongs to."""
    cp = ord(ch)
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Mc", "Me"):
        return True
    if ch == _ZWJ or prev == _ZWJ:
        return True
    # variation selectors, skin-tone modifiers, emoji tag sequences
    return 0xFE00 <= cp <= 0xFE0F or 0x1F3FB <= cp <= 0x1F3FF or 0xE0020 <= cp <= 0xE007F


def graphemes(text: str) -> list[str]:
    """User-perceived characters (an approximation of UAX #29 good enough for SMS)."""
    out: list[str] = []
    regional = 0  # regional-indicator letters pair into one flag
    for ch in text:
        is_ri = 0x1F1E6 <= ord(ch) <= 0x1F1FF
        if out and (_extends(out[-1][-1], ch) or (is_ri and regional % 2 == 1)):
            out[-1] += ch
        else:
            out.append(ch)
        regional = regional + 1 if is_ri else 0
    return out


def count(text: str) -> SegmentInfo:
    """Encoding, characters, units and segments of one outbound text."""
    if is_gsm7(text):
        units = sum(_septets(ch) for ch in text)
        single, part, encoding = GSM7_SINGLE, GSM7_PART, "GSM-7"
    else:
        units = _utf16_units(text)
        single, part, encoding = UCS2_SINGLE, UCS2_PART, "UCS-2"
    segments = 0 if not text else 1 if units <= single else len(_cut(text, part, encoding))
    return SegmentInfo(encoding, len(text), units, segments)


def split(text: str) -> list[str]:
    """The parts a handset receives, each within its segment's budget."""
    info = count(text)
    if info.segments <= 1:
        return [text] if text else []
    return _cut(text, GSM7_PART if info.encoding == "GSM-7" else UCS2_PART, info.encoding)


def _cut(text: str, budget: int, encoding: str) -> list[str]:
    cost = ((lambda g: sum(_septets(c) for c in g)) if encoding == "GSM-7"
            else _utf16_units)
    parts: list[str] = []
    current, used = "", 0
    for cluster in graphemes(text):
        size = cost(cluster)
        if size > budget:  # a pathological cluster longer than a part: cut by code point
            for ch in cluster:
                if used + cost(ch) > budget:
                    parts.append(current)
                    current, used = "", 0
                current, used = current + ch, used + cost(ch)
            continue
        if used + size > budget:
            parts.append(current)
            current, used = "", 0
        current, used = current + cluster, used + size
    if current:
        parts.append(current)
    return parts
