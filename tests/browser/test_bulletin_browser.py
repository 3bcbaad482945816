"""A Dari bulletin written and previewed in a real headless Chromium (issue 5)."""

from __future__ import annotations

from typing import Any

from tests.browser import test_console_browser as shared  # skips the module without chromium
from tests.consolekit import make_user

# The same server, browser and page fixtures as the console's browser tests.
server, browser, page = shared.server, shared.browser, shared.page
_login_by_keyboard = shared._login_by_keyboard

DARI = "مذاکرات صلح امروز در دوحه ادامه می\u200cیابد. موضوع بعدی: آب و زمین."


def test_write_and_preview_a_dari_bulletin_right_to_left(page: Any, server: str) -> None:
    from gateway.db import unit_of_work
    from gateway.outbound.models import Bulletin

    make_user("farid", "comms", language="fa")
    _login_by_keyboard(page, server, "farid")
    page.click('a[href="/console/bulletins"]')
    page.click('a[href="/console/bulletins/new"]')
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('#text_fa')).direction") \
        == "rtl"
    page.fill("input[name=title]", "دور سوم دوحه")
    page.fill("#text_fa", DARI)
    page.click("form[action='/console/bulletins'] button[type=submit]")
    page.wait_for_url("**/console/bulletins/*?done=created")
    assert page.evaluate("getComputedStyle(document.documentElement).direction") == "rtl"
    shown = page.locator("#lang-fa .text")
    assert shown.inner_text() == DARI
    assert shown.evaluate("e => getComputedStyle(e).direction") == "rtl"
    assert "UCS-2" in page.locator("#lang-fa").inner_text()
    assert page.locator("#recipients").inner_text() == "0"
    # The text sits at the right edge of its cell, as Dari is read.
    cell = page.locator("#lang-fa td").last.bounding_box()
    text = shown.bounding_box()
    assert abs((cell["x"] + cell["width"]) - (text["x"] + text["width"])) < 12
    with unit_of_work() as session:
        [stored] = session.query(Bulletin).all()
        assert stored.texts == {"fa": DARI} and stored.created_by == "farid"
