"""Province and hub reference tables, loaded once from the CSV files shipped in the package.

The files live in ``gateway/geography/data`` and are read through ``importlib.resources`` so
an installed wheel works the same as a checkout. They are validated at load: a broken table
must stop the process at start-up rather than misroute items later.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

AliasKind = Literal["province", "capital"]

PROVINCE_COUNT = 34
HUB_COUNT = 7
EXPECTED_PCODES = frozenset(f"AF{i:02d}" for i in range(1, PROVINCE_COUNT + 1))

_PROVINCE_COLUMNS = [
    "pcode",
    "name_en",
    "name_fa",
    "name_ps",
    "capital_en",
    "capital_fa",
    "landline_area_code",
    "default_hub",
    "latin_variants",
]
_HUB_COLUMNS = ["hub", "name_en", "name_fa", "name_ps", "seat_en", "provinces"]
_ALIAS_COLUMNS = ["pcode", "alias", "kind", "script", "source"]
_SCRIPTS = frozenset({"latin", "fa", "ps"})


class ReferenceDataError(ValueError):
    """The shipped province/hub tables are inconsistent."""


@dataclass(frozen=True, slots=True)
class Province:
    pcode: str
    name_en: str
    name_fa: str
    name_ps: str
    capital_en: str
    capital_fa: str
    area_code: str
    hub: str
    # Extra spellings beyond the names and capitals above (reference latin variants first,
    # then aliases.csv), in file order.
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Hub:
    code: str
    name_en: str
    name_fa: str
    name_ps: str
    seat_en: str
    provinces: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Alias:
    """One spelling that names a province or its capital, and where that spelling comes from."""

    pcode: str
    text: str
    kind: AliasKind
    source: str


def _read_csv(name: str, columns: list[str]) -> list[dict[str, str]]:
    raw = resources.files(__package__).joinpath("data", name).read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(raw))
    if reader.fieldnames is None or list(reader.fieldnames)[: len(columns)] != columns:
        raise ReferenceDataError(f"{name}: expected columns {columns}, got {reader.fieldnames}")
    rows = []
    for line, row in enumerate(reader, start=2):
        cleaned = {key: (value or "").strip() for key, value in row.items() if key}
        missing = [col for col in columns if not cleaned.get(col) and col != "latin_variants"]
        if missing:
            raise ReferenceDataError(f"{name} line {line}: empty {', '.join(missing)}")
        rows.append(cleaned)
    return rows


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in cell.split("|") if part.strip())


def _unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _check_provinces(rows: list[dict[str, str]]) -> None:
    pcodes = [row["pcode"] for row in rows]
    if len(rows) != PROVINCE_COUNT or set(pcodes) != EXPECTED_PCODES:
        extra = sorted(set(pcodes) - EXPECTED_PCODES)
        absent = sorted(EXPECTED_PCODES - set(pcodes))
        raise ReferenceDataError(
            f"provinces.csv: need {PROVINCE_COUNT} rows AF01-AF34 once each; got {len(rows)} "
            f"rows, unexpected {extra}, missing {absent}"
        )
    codes = [row["landline_area_code"] for row in rows]
    bad = [code for code in codes if not (len(code) == 2 and code.isascii() and code.isdigit())]
    if bad:
        raise ReferenceDataError(f"provinces.csv: area codes must be two digits: {bad}")
    duplicates = sorted({code for code in codes if codes.count(code) > 1})
    if duplicates:
        raise ReferenceDataError(f"provinces.csv: area codes used twice: {duplicates}")


def _check_hubs(hubs: tuple[Hub, ...], provinces: list[dict[str, str]]) -> None:
    if len(hubs) != HUB_COUNT or len({hub.code for hub in hubs}) != HUB_COUNT:
        raise ReferenceDataError(f"hubs.csv: need {HUB_COUNT} distinct hubs, got {len(hubs)}")
    owner: dict[str, str] = {}
    for hub in hubs:
        for pcode in hub.provinces:
            if pcode not in EXPECTED_PCODES:
                raise ReferenceDataError(f"hubs.csv: hub {hub.code} lists unknown {pcode}")
            if pcode in owner:
                raise ReferenceDataError(
                    f"hubs.csv: {pcode} is in both {owner[pcode]} and {hub.code}"
                )
            owner[pcode] = hub.code
    unassigned = sorted(EXPECTED_PCODES - owner.keys())
    if unassigned:
        raise ReferenceDataError(f"hubs.csv: provinces in no hub: {unassigned}")
    # The two files must agree, otherwise "which hub handles AF21" has two answers.
    for row in provinces:
        if owner[row["pcode"]] != row["default_hub"]:
            raise ReferenceDataError(
                f"provinces.csv says {row['pcode']} is in {row['default_hub']}, "
                f"hubs.csv says {owner[row['pcode']]}"
            )


def _kind(value: str) -> AliasKind:
    if value == "province":
        return "province"
    if value == "capital":
        return "capital"
    raise ReferenceDataError(f"aliases.csv: kind must be province or capital, got {value!r}")


@cache
def _extra_aliases() -> tuple[Alias, ...]:
    aliases = []
    for row in _read_csv("aliases.csv", _ALIAS_COLUMNS):
        if row["pcode"] not in EXPECTED_PCODES:
            raise ReferenceDataError(f"aliases.csv: unknown pcode {row['pcode']}")
        if row["script"] not in _SCRIPTS:
            raise ReferenceDataError(f"aliases.csv: script must be one of {sorted(_SCRIPTS)}")
        aliases.append(Alias(row["pcode"], row["alias"], _kind(row["kind"]), row["source"]))
    return tuple(aliases)


@cache
def load_hubs() -> tuple[Hub, ...]:
    """The hubs in file order, validated against the province table."""
    hubs = tuple(
        Hub(
            code=row["hub"],
            name_en=row["name_en"],
            name_fa=row["name_fa"],
            name_ps=row["name_ps"],
            seat_en=row["seat_en"],
            provinces=_split(row["provinces"]),
        )
        for row in _read_csv("hubs.csv", _HUB_COLUMNS)
    )
    provinces = _read_csv("provinces.csv", _PROVINCE_COLUMNS)
    _check_provinces(provinces)
    _check_hubs(hubs, provinces)
    return hubs


@cache
def load_provinces() -> tuple[Province, ...]:
    """The 34 provinces in p-code order, validated (p-codes, hubs, unique area codes)."""
    rows = _read_csv("provinces.csv", _PROVINCE_COLUMNS)
    _check_provinces(rows)
    load_hubs()  # validates hub membership against these rows
    extra: dict[str, list[str]] = {}
    for alias in _extra_aliases():
        extra.setdefault(alias.pcode, []).append(alias.text)
    provinces = (
        Province(
            pcode=row["pcode"],
            name_en=row["name_en"],
            name_fa=row["name_fa"],
            name_ps=row["name_ps"],
            capital_en=row["capital_en"],
            capital_fa=row["capital_fa"],
            area_code=row["landline_area_code"],
            hub=row["default_hub"],
            aliases=_unique([*_split(row["latin_variants"]), *extra.get(row["pcode"], [])]),
        )
        for row in rows
    )
    return tuple(sorted(provinces, key=lambda p: p.pcode))


@cache
def provinces_by_pcode() -> Mapping[str, Province]:
    """p-code -> Province."""
    return {province.pcode: province for province in load_provinces()}


@cache
def load_aliases() -> tuple[Alias, ...]:
    """Every spelling of every province and capital, each with its kind and source.

    A spelling that names both a province and its own capital (Kabul, Herat, Kandahar...) is
    listed once, as the province: the text names one place either way. Reference latin
    variants count as province spellings unless aliases.csv classifies them as a capital
    spelling ("Mazar", "Lashkargah").
    """
    ref = "reference/provinces.csv"
    capitals: list[Alias] = []
    names: list[Alias] = []
    variants: list[Alias] = []
    for p in load_provinces():
        names += [Alias(p.pcode, t, "province", ref) for t in (p.name_en, p.name_fa, p.name_ps)]
        capitals += [Alias(p.pcode, t, "capital", ref) for t in (p.capital_en, p.capital_fa)]
    for row in _read_csv("provinces.csv", _PROVINCE_COLUMNS):
        variants += [
            Alias(row["pcode"], t, "province", f"{ref} latin_variants")
            for t in _split(row["latin_variants"])
        ]
    chosen: dict[tuple[str, str], Alias] = {}
    # First classification wins, so aliases.csv can reclassify a reference variant...
    for alias in (*capitals, *_extra_aliases(), *variants):
        chosen.setdefault((alias.pcode, alias.text), alias)
    # ...but an official province name is always the province.
    for alias in names:
        chosen[(alias.pcode, alias.text)] = alias
    return tuple(sorted(chosen.values(), key=lambda a: a.pcode))
