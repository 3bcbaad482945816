"""What coordinators see: languages, right-to-left, small pages, analysts' numbers, metrics."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from fastapi.testclient import TestClient

from tests.consolekit import HERAT, KANDAHAR, csrf_of, login, make_item, make_user

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures

STRINGS = Path(__file__).resolve().parent.parent / "gateway" / "console" / "strings"


def _keys(lang: str) -> set[tuple[str, str]]:
    data = tomllib.loads((STRINGS / f"{lang}.toml").read_text("utf-8"))
    return {(section, key) for section, table in data.items() for key in table}


def test_every_ui_language_has_every_string() -> None:
    english = _keys("en")
    assert len(english) > 80
    for lang in ("fa", "ps"):
        assert _keys(lang) == english, lang


def test_dari_and_pashto_users_get_right_to_left_pages(web: TestClient) -> None:
    make_item(HERAT, "سلام")
    for name, lang, direction in (("dari", "fa", "rtl"), ("pashto", "ps", "rtl"),
                                  ("english", "en", "ltr")):
        make_user(name, "coordinator", provinces=[HERAT], language=lang)
        web.cookies.clear()
        login(web, name)
        page = web.get("/console/queue").text
        assert f'<html lang="{lang}" dir="{direction}">' in page
    web.cookies.clear()
    login(web, "dari")
    assert "ولایت" in web.get("/console/queue").text and "خروج" in web.get("/console/queue").text


def test_users_choose_their_interface_language(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    login(web, "hamid")
    page = web.get("/console/queue")
    assert 'dir="ltr"' in page.text
    switched = web.post("/console/language", data={"csrf": csrf_of(page.text),
                                                   "language": "ps", "back": "/console/queue"})
    assert '<html lang="ps" dir="rtl">' in switched.text and "کتار" in switched.text
    web.cookies.clear()
    login(web, "hamid")
    assert 'lang="ps"' in web.get("/console/queue").text  # remembered per user
    fresh = csrf_of(web.get("/console/queue").text)
    evil = web.post("/console/language", data={"csrf": fresh, "language": "en",
                                               "back": "https://evil.example/"},
                    follow_redirects=False)
    assert evil.headers["location"] == "/console/queue"


def test_a_full_queue_page_is_small_and_phone_ready(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    long_text = "ما در هرات آب آشامیدنی نداریم و مکتب دختران بسته است " * 20
    for _ in range(60):
        make_item(HERAT, long_text)
    login(web, "hamid")
    page = web.get("/console/queue")
    assert page.status_code == 200
    assert len(page.content) < 100_000, len(page.content)
    assert page.text.count('href="/console/items/') == 50
    assert 'name="viewport"' in page.text and "@media (max-width" in page.text
    assert 'rel="next"' in page.text
    assert page.headers["cache-control"] == "no-store"


def test_pages_are_usable_by_keyboard(web: TestClient) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    item = make_item(HERAT)
    login(web, "hamid")
    for path in ("/console/queue", f"/console/items/{item}"):
        html = web.get(path).text
        assert 'class="skip" href="#main"' in html
        assert "tabindex=\"" not in html.replace('tabindex="-1"', "")  # no custom tab order
        # Every control is a native button/input/select/textarea with a label.
        assert "onclick" not in html and "<div role=\"button\"" not in html
        for control in re.findall(r'<(?:select|textarea)[^>]*id="([^"]+)"', html):
            assert f'for="{control}"' in html, control


def test_analysts_see_numbers_per_province_only(web: TestClient) -> None:
    make_user("ana", "analyst")
    make_item(HERAT, "HERAT-WORDS")
    make_item(HERAT, "HERAT-WORDS", status="escalated")
    make_item(KANDAHAR, "KANDAHAR-WORDS")
    login(web, "ana")
    page = web.get("/console/queue").text
    assert "WORDS" not in page and "/console/items/" not in page
    row = re.search(r"<tr><td>AF32</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", page)
    assert row and row.groups() == ("1", "0", "1")


def test_metrics_show_backlog_per_province_and_queue_depth(web: TestClient) -> None:
    make_item(HERAT, age=__import__("datetime").timedelta(hours=2))
    make_item(HERAT)
    make_item(None)
    text = web.get("/metrics").text
    assert 'amip_items_waiting{province="AF32"} 2.0' in text
    assert 'amip_items_waiting{province="unrouted"} 1.0' in text
    assert 'amip_items_waiting{province="AF27"} 0.0' in text
    oldest = float(re.search(r'amip_oldest_waiting_seconds\{province="AF32"\} (\S+)', text)[1])
    assert 7000 < oldest < 7400
    assert 'amip_queue_depth{queue="intake"}' in text
    ready = web.get("/readyz").json()
    assert ready["audio_store"] == "ok"


def test_admins_browse_the_audit_log_by_item(web: TestClient) -> None:
    make_user("ada", "admin")
    item = make_item(HERAT)
    other = make_item(KANDAHAR)
    login(web, "ada")
    csrf = csrf_of(web.get(f"/console/items/{item}").text)
    web.post(f"/console/items/{item}/reroute",
             data={"csrf": csrf, "province": KANDAHAR, "reason": "wrong province"})
    web.get(f"/console/items/{other}")
    page = web.get(f"/console/audit?item={item}").text
    assert "reroute" in page and "wrong province" in page and "AF32" in page
    assert f'href="/console/items/{other}"' not in page
    # Read-only: no form on the audit page posts anywhere.
    assert 'method="post" action="/console/audit' not in page
