"""Decide which province an intake item belongs to, and record why (DESIGN "Geography").

Order of strength: the caller's IVR choice, an explicit mention in the text, the contact's
last known province, the landline area code of the sender's number, else unrouted.
``detail`` is stored and shown to coordinators, so it never contains the phone number or the
message text: only a p-code, the canonical alias that matched, or a two-digit area code.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Final

import phonenumbers
from phonenumbers import PhoneNumberType

from gateway.geography.matching import find_province_mentions, pick_province
from gateway.geography.reference import load_provinces, provinces_by_pcode

AFGHANISTAN_COUNTRY_CODE: Final = 93

IVR: Final = "ivr"
TEXT_MENTION: Final = "text_mention"
CONTACT_HISTORY: Final = "contact_history"
AREA_CODE: Final = "area_code"
UNROUTED: Final = "unrouted"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    pcode: str | None
    reason: str
    detail: str


@cache
def _province_by_area_code() -> dict[str, str]:
    return {province.area_code: province.pcode for province in load_provinces()}


def _known_pcode(value: str | None) -> str | None:
    # A value outside the reference table (a stale IVR menu, a typo in an import) is treated
    # as absent so the next, weaker signal still gets a chance.
    if not value:
        return None
    pcode = value.strip().upper()
    return pcode if pcode in provinces_by_pcode() else None


def _unrouted(detail: str) -> RouteDecision:
    return RouteDecision(None, UNROUTED, detail)


def _fixed_line_prefix(number: phonenumbers.PhoneNumber) -> str | None:
    nsn = phonenumbers.national_significant_number(number)
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.FIXED_LINE:
        return nsn[:2]
    # The library's metadata may lag new number blocks; fall back on the shape of the national
    # plan: 9 digits, mobiles start with 7, landlines with a 2-digit area code.
    unsure = kind in (PhoneNumberType.UNKNOWN, PhoneNumberType.FIXED_LINE_OR_MOBILE)
    if unsure and len(nsn) == 9 and nsn.isdigit() and not nsn.startswith("7"):
        return nsn[:2]
    return None


def _area_code_from_number(e164: str) -> tuple[str | None, str]:
    """(area code, "") for an Afghan landline, else (None, why not); "why" holds no digits."""
    try:
        number = phonenumbers.parse(e164, "AF")
    except phonenumbers.NumberParseException:
        return None, "sender number not parseable"
    if number.country_code != AFGHANISTAN_COUNTRY_CODE:
        return None, "sender number is not Afghan"
    area = _fixed_line_prefix(number)
    if area is None:
        # Mobile numbers (+93 7x) are national: their prefix says nothing about place.
        return None, "sender number is not a landline"
    return area, ""


def landline_area_code(e164: str | None) -> str | None:
    """The two-digit area code of an Afghan landline; None for mobiles and anything else.

    Contacts store this at creation so routing never needs the decrypted number.
    """
    return _area_code_from_number(e164)[0] if e164 else None


def _route_by_area_code(area: str | None, why_not: str) -> RouteDecision:
    if area is None:
        return _unrouted(why_not)
    if not (len(area) == 2 and area.isascii() and area.isdigit()):
        # Never echo it: a caller passing a whole number here must not leak it into detail.
        return _unrouted("landline area code malformed")
    pcode = _province_by_area_code().get(area)
    if pcode is None:
        return _unrouted(f"landline area code {area} is not in the province table")
    return RouteDecision(pcode, AREA_CODE, area)


def route(
    *,
    ivr_province: str | None,
    text: str,
    last_province: str | None,
    e164: str | None = None,
    area_code: str | None = None,
) -> RouteDecision:
    """Route one item by the strongest available signal (IVR > text > history > area code).

    The last level takes either the sender's ``e164`` number or the ``area_code`` already
    stored on the contact (see ``landline_area_code``); a given ``area_code`` wins.
    """
    ivr = _known_pcode(ivr_province)
    if ivr is not None:
        return RouteDecision(ivr, IVR, ivr)
    mention = pick_province(find_province_mentions(text or ""))
    if mention is not None:
        return RouteDecision(mention.pcode, TEXT_MENTION, mention.alias)
    last = _known_pcode(last_province)
    if last is not None:
        return RouteDecision(last, CONTACT_HISTORY, last)
    if area_code:
        return _route_by_area_code(area_code.strip(), "")
    if e164:
        return _route_by_area_code(*_area_code_from_number(e164))
    return _unrouted("no landline area code")
