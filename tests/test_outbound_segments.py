"""Segment counts decide what a bulletin costs and how a handset shows it (issue 5)."""

from __future__ import annotations

import pytest

from gateway.outbound.segments import count, graphemes, split


@pytest.mark.parametrize(("text", "encoding", "segments"), [
    ("", "GSM-7", 0),
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),
    ("a" * 306, "GSM-7", 2),
    ("a" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # extension characters cost two septets: 160
    ("€" * 81, "GSM-7", 2),
    ("[x]" + "a" * 155, "GSM-7", 1),  # 2 + 1 + 2 + 155 = 160
    ("[x]" + "a" * 156, "GSM-7", 2),
    ("سلام" * 17 + "سل", "UCS-2", 1),  # 70 code units
    ("سلام" * 17 + "سلا", "UCS-2", 2),  # 71
    ("ب" * 134, "UCS-2", 2),
    ("ب" * 135, "UCS-2", 3),
    ("a" * 69 + "😀", "UCS-2", 2),  # the emoji is two UTF-16 units: 71
    ("Hérat ça", "UCS-2", 1),  # ç is not GSM-7 (only Ç is)
])
def test_encoding_and_segments(text: str, encoding: str, segments: int) -> None:
    info = count(text)
    assert (info.encoding, info.segments) == (encoding, segments)
    assert len(split(text)) == segments
    assert "".join(split(text)) == text


def test_gsm_extension_pair_is_never_split() -> None:
    parts = split("a" * 152 + "€" + "b" * 10)
    assert parts[0] == "a" * 152  # 152 + 2 would exceed 153 septets
    assert parts[1].startswith("€")


def test_ucs2_never_splits_a_surrogate_pair() -> None:
    text = "ب" * 66 + "😀" + "ب" * 10  # the emoji would straddle units 67/68
    parts = split(text)
    assert parts[0] == "ب" * 66
    assert parts[1].startswith("😀")
    assert all(not ("\ud800" <= p[-1] <= "\udbff") for p in parts)


@pytest.mark.parametrize("cluster", [
    "👍🏽",  # skin-tone modifier
    "👨‍👩‍👧",  # ZWJ family
    "🇦🇫",  # a flag: two regional indicators
    "بِّ",  # a letter with two harakat
    "❤️",  # variation selector
])
def test_ucs2_never_splits_a_grapheme(cluster: str) -> None:
    for pad in range(60, 68):
        text = "ب" * pad + cluster + "ب" * 20
        parts = split(text)
        assert "".join(parts) == text
        assert any(cluster in p for p in parts), (pad, parts)
        assert all(sum(2 if ord(c) > 0xFFFF else 1 for c in p) <= 67 for p in parts)


def test_graphemes() -> None:
    assert graphemes("a👍🏽🇦🇫b") == ["a", "👍🏽", "🇦🇫", "b"]
