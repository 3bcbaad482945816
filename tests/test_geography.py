"""Province reference data, place-name matching and routing (DESIGN "Geography and routing")."""

from __future__ import annotations

import dataclasses
import re

import pytest

from gateway.geography import reference
from gateway.geography.matching import Mention, find_province_mentions, pick_province
from gateway.geography.reference import (
    ReferenceDataError,
    load_aliases,
    load_hubs,
    load_provinces,
)
from gateway.geography.routing import RouteDecision, landline_area_code, route
from gateway.language.normalize import fold

PROVINCES = load_provinces()


def _spellings() -> list[tuple[str, str]]:
    """(pcode, spelling) for every name, capital, reference variant and alias."""
    out = []
    for p in PROVINCES:
        names = (p.name_en, p.name_fa, p.name_ps, p.capital_en, p.capital_fa, *p.aliases)
        out += [(p.pcode, name) for name in dict.fromkeys(names)]
    return out


def _picked(text: str) -> str | None:
    mention = pick_province(find_province_mentions(text))
    return mention.pcode if mention else None


# --- reference tables -------------------------------------------------------------------


def test_reference_has_34_provinces_in_7_hubs() -> None:
    assert [p.pcode for p in PROVINCES] == [f"AF{i:02d}" for i in range(1, 35)]
    hubs = load_hubs()
    assert len(hubs) == 7
    listed = [pcode for hub in hubs for pcode in hub.provinces]
    assert sorted(listed) == [p.pcode for p in PROVINCES]
    hub_of = {pcode: hub.code for hub in hubs for pcode in hub.provinces}
    assert all(hub_of[p.pcode] == p.hub for p in PROVINCES)
    assert len({p.area_code for p in PROVINCES}) == 34


def test_reference_rows_read_correctly() -> None:
    balkh = PROVINCES[20]
    assert (balkh.pcode, balkh.name_en, balkh.capital_en, balkh.area_code, balkh.hub) == (
        "AF21",
        "Balkh",
        "Mazar-i-Sharif",
        "50",
        "north",
    )
    assert "Mazar" in balkh.aliases


def test_capital_named_like_its_province_is_one_province_alias() -> None:
    kabul = [a for a in load_aliases() if a.pcode == "AF01" and a.text == "Kabul"]
    assert [a.kind for a in kabul] == ["province"]
    mazar = [a for a in load_aliases() if a.text == "Mazar"]
    assert [(a.pcode, a.kind) for a in mazar] == [("AF21", "capital")]


def _rows(name: str) -> list[dict[str, str]]:
    columns = reference._PROVINCE_COLUMNS if name == "provinces.csv" else reference._HUB_COLUMNS
    return reference._read_csv(name, columns)


def test_validation_rejects_missing_province_and_duplicate_area_code() -> None:
    rows = _rows("provinces.csv")
    with pytest.raises(ReferenceDataError, match="missing"):
        reference._check_provinces(rows[:-1])
    twice = [dict(row) for row in rows]
    twice[1]["landline_area_code"] = twice[0]["landline_area_code"]
    with pytest.raises(ReferenceDataError, match="used twice"):
        reference._check_provinces(twice)


def test_validation_rejects_province_in_two_hubs() -> None:
    hubs = list(load_hubs())
    hubs[1] = dataclasses.replace(hubs[1], provinces=(*hubs[1].provinces, "AF01"))
    with pytest.raises(ReferenceDataError, match="AF01 is in both"):
        reference._check_hubs(tuple(hubs), _rows("provinces.csv"))


# --- matching ---------------------------------------------------------------------------


@pytest.mark.parametrize(("pcode", "spelling"), _spellings())
def test_every_spelling_is_found_in_a_sentence(pcode: str, spelling: str) -> None:
    if fold(spelling).isascii():
        sentences = [f"Salam, I am from {spelling}, please help.", f"{spelling.upper()}!!!"]
    else:
        sentences = [f"سلام من از {spelling} هستم", f"زه د {spelling} یم"]
    for sentence in sentences:
        mentions = find_province_mentions(sentence)
        assert [m.pcode for m in mentions] == [pcode], sentence


@pytest.mark.parametrize(
    ("text", "pcode"),
    [
        ("salam az mazar sharif", "AF21"),
        ("salam az mazar-i-sharif", "AF21"),
        ("mazar i sharif", "AF21"),
        ("mazar e sharif", "AF21"),
        ("mazare sharif mushkil", "AF21"),
        ("Mazar-e-Sharif", "AF21"),
        ("mazarsharif", "AF21"),
        ("mazar\u2013i\u2013sharif", "AF21"),  # en dashes from a phone keyboard
        ("من در مزارشریف هستم", "AF21"),
        ("زه د کندهار یم", "AF27"),
        ("زه د كندهار یم", "AF27"),  # Arabic kaf
        ("Qandahar", "AF27"),
        ("Kandhar city", "AF27"),
        ("من از هرات هستم", "AF32"),
        ("من از هرات هستيم", "AF32"),  # Arabic yeh in the verb
        ("Herāt", "AF32"),
        ("Hirat", "AF32"),
        ("مشكل در كابل", "AF01"),
        ("من در غزني هستم", "AF11"),
        ("ميدان شهر", "AF04"),
        ("KABUL!!!", "AF01"),
        ("from kabul, help", "AF01"),
        ("Jalal-abad", "AF06"),
        ("jalal abad", "AF06"),
        ("Jalalabad", "AF06"),
        ("جلال آباد", "AF06"),
        ("جلالآباد", "AF06"),
        ("جلال\u200cآباد", "AF06"),
        ("جلال اباد", "AF06"),
        ("pul-e-khumri", "AF09"),
        ("puli khumri", "AF09"),
        ("pol-e khomri", "AF09"),
        ("lashkar gah", "AF30"),
        ("لښکرګاه", "AF30"),
        ("لشکرگاه", "AF30"),
        ("لشکر گاه", "AF30"),
        ("وردگ", "AF04"),  # Pashto spelling typed with the Persian gaf
        ("کنړ", "AF15"),
        ("sar-e-pul", "AF22"),
        ("sari pul", "AF22"),
        ("فیروزکوه", "AF23"),
        ("qala-e-now", "AF31"),
        ("ازکابل آمدم", "AF01"),  # preposition glued to the name
        ("زه دکندهار یم", "AF27"),
        ("درهرات", "AF32"),
        ("Paktika", "AF12"),
        ("Paktia", "AF13"),
        ("Khost", "AF14"),
        ("Faryob viloyatida suv yo'q", "AF29"),  # Uzbek
    ],
)
def test_sms_spellings(text: str, pcode: str) -> None:
    assert _picked(text) == pcode


@pytest.mark.parametrize(
    "text",
    [
        "I live in Ghorband",  # a district of Parwan; districts are not matched
        "Ghorbandi",
        "Khost wa Firing district",  # a district of Baghlan, not Khost
        "khost-o-fereng",
        "خوست و فرنگ",
        "Kabuli palaw",  # demonyms are not places
        "هراتی",
        "Balkhab",
        "Heratis",
        "لطفا به مشکل ما غور کنید",  # غور = "consideration"
        "موضوع مورد غور است",
        "غور وکړئ",
        "درخوست کمک دارم",  # misspelt درخواست ("request")
        "دستش نیلی شده",  # نیلی = "bruised"
        "nothing here at all",
        "",
    ],
)
def test_non_matches(text: str) -> None:
    assert find_province_mentions(text) == []


def test_common_word_next_to_a_province_still_matches() -> None:
    # Blockers must not swallow a real mention: "Ghor, Kunar" written without a comma.
    assert [m.pcode for m in find_province_mentions("غور کنر")] == ["AF23", "AF15"]


def test_capital_with_province_name_is_one_mention() -> None:
    mentions = find_province_mentions("Kandahar")
    assert mentions == [Mention("AF27", "Kandahar", 0, 8, "province")]


def test_longest_alias_wins() -> None:
    [mention] = find_province_mentions("going to Mazar-i-Sharif")
    assert (mention.alias, mention.kind) == ("Mazar-i-Sharif", "capital")


def test_offsets_point_into_folded_text() -> None:
    text = "Salam! Man az HERĀT hastam, family dar کابل"
    folded = fold(text)
    spans = [folded[m.start : m.end] for m in find_province_mentions(text)]
    assert spans == ["herat", "کابل"]


def test_two_provinces_first_province_wins() -> None:
    text = "from Herat, now in Kabul"
    assert [m.pcode for m in find_province_mentions(text)] == ["AF32", "AF01"]
    assert _picked(text) == "AF32"


def test_and_glued_to_the_second_name() -> None:
    assert [m.pcode for m in find_province_mentions("کابل وهرات")] == ["AF01", "AF32"]


def test_province_name_beats_earlier_capital() -> None:
    assert _picked("I am in Mazar, my family is in Herat") == "AF32"


def test_only_capitals_first_capital_wins() -> None:
    assert _picked("from Jalalabad to Lashkar Gah") == "AF06"


def test_pick_province_of_nothing_is_none() -> None:
    assert pick_province([]) is None


# --- routing ----------------------------------------------------------------------------

KABUL_LANDLINE = "+93202101234"
HERAT_LANDLINE = "+93402123456"
MOBILE = "+93701234567"


def test_ivr_choice_beats_everything() -> None:
    decision = route(
        ivr_province="AF33", text="I am in Kabul", last_province="AF01", e164=HERAT_LANDLINE
    )
    assert decision == RouteDecision("AF33", "ivr", "AF33")


def test_text_mention_beats_history_and_area_code() -> None:
    decision = route(
        ivr_province=None, text="salam az mazar sharif", last_province="AF01", e164=HERAT_LANDLINE
    )
    assert decision == RouteDecision("AF21", "text_mention", "Mazar-i-Sharif")


def test_contact_history_beats_area_code() -> None:
    decision = route(ivr_province=None, text="help", last_province="AF27", e164=HERAT_LANDLINE)
    assert decision == RouteDecision("AF27", "contact_history", "AF27")


def test_unknown_ivr_and_history_codes_fall_through() -> None:
    decision = route(ivr_province="AF99", text="", last_province="nowhere", e164=HERAT_LANDLINE)
    assert decision == RouteDecision("AF32", "area_code", "40")


@pytest.mark.parametrize(
    ("e164", "expected"),
    [
        (KABUL_LANDLINE, RouteDecision("AF01", "area_code", "20")),
        ("+93 20 210 1234", RouteDecision("AF01", "area_code", "20")),
        (HERAT_LANDLINE, RouteDecision("AF32", "area_code", "40")),
        ("+93442123456", RouteDecision("AF34", "area_code", "44")),
        # The library calls this UNKNOWN; the digits still say "Jalalabad landline".
        ("+93601234567", RouteDecision("AF06", "area_code", "60")),
        (MOBILE, RouteDecision(None, "unrouted", "sender number is not a landline")),
        ("+93791234567", RouteDecision(None, "unrouted", "sender number is not a landline")),
        ("+93201234567", RouteDecision("AF01", "area_code", "20")),
        (
            "+93292123456",
            RouteDecision(None, "unrouted", "landline area code 29 is not in the province table"),
        ),
        ("+14155550100", RouteDecision(None, "unrouted", "sender number is not Afghan")),
        ("not a number", RouteDecision(None, "unrouted", "sender number not parseable")),
        (None, RouteDecision(None, "unrouted", "no landline area code")),
    ],
)
def test_area_code_routing(e164: str | None, expected: RouteDecision) -> None:
    assert route(ivr_province=None, text="", last_province=None, e164=e164) == expected


def test_mobile_prefix_never_routes_even_if_it_looks_like_an_area_code() -> None:
    # +93 70.../+93 72... would read as "area codes" 70/72 if mobiles were treated as landlines.
    for e164 in ("+93701234567", "+93721234567", "+93781234567"):
        assert route(ivr_province=None, text="", last_province=None, e164=e164).pcode is None


@pytest.mark.parametrize(
    "e164", [KABUL_LANDLINE, HERAT_LANDLINE, MOBILE, "+93601234567", "+93292123456", "+14155550100"]
)
def test_decision_never_contains_the_phone_number(e164: str) -> None:
    text = f"call me back on {e164[3:]} please"
    for decision in (
        route(ivr_province=None, text=text, last_province=None, e164=e164),
        route(ivr_province=None, text=text + " in Kabul", last_province=None, e164=e164),
    ):
        shown = f"{decision.pcode} {decision.reason} {decision.detail}"
        assert re.search(r"\d{3,}", shown) is None, shown


def test_landline_area_code_for_contacts() -> None:
    assert landline_area_code("+93202101234") == "20"
    assert landline_area_code("+93601234567") == "60"
    for e164 in ("+93701234567", "+14155550100", "garbage", "", None):
        assert landline_area_code(e164) is None


@pytest.mark.parametrize(
    ("area_code", "expected"),
    [
        ("40", RouteDecision("AF32", "area_code", "40")),
        (" 30 ", RouteDecision("AF27", "area_code", "30")),
        (
            "29",
            RouteDecision(None, "unrouted", "landline area code 29 is not in the province table"),
        ),
        ("+93202101234", RouteDecision(None, "unrouted", "landline area code malformed")),
        (None, RouteDecision(None, "unrouted", "no landline area code")),
    ],
)
def test_routing_by_stored_area_code(area_code: str | None, expected: RouteDecision) -> None:
    decision = route(ivr_province=None, text="", last_province=None, area_code=area_code)
    assert decision == expected


def test_stored_area_code_still_ranks_below_text_and_history() -> None:
    common = {"ivr_province": None, "area_code": "40"}
    assert route(**common, text="kabul", last_province="AF27").reason == "text_mention"
    assert route(**common, text="", last_province="AF27").reason == "contact_history"
