"""Bulletin pages in the console: who may do what, four eyes, counts, and Dari/Pashto text."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.consolekit import HERAT, audit_rows, csrf_of, login, make_user

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures

# Zero-width non-joiner (U+200C) in «می‌شود», Arabic kaf/yeh next to Persian ones, a line break:
# none of it may be normalised away between the form and the database.
DARI = "مذاکرات صلح امروز ادامه می\u200cیابد.\nكابل و کابل، علي و علی ۱۲۳"
PASHTO = "د سولې خبرې نن دوام لري. ښځې او نارینه ټول ګډون کوي."
ENGLISH = "Peace talks continue today."

ROLES = [("ada", "admin"), ("sami", "secretariat"), ("wali", "hub_lead"),
         ("hamid", "coordinator"), ("ana", "analyst"), ("cora", "comms"), ("cato", "comms")]
ALLOWED = {"admin", "comms"}


def _client(name: str) -> TestClient:
    from gateway.app import create_app

    http = TestClient(create_app(background=False), base_url="https://testserver")
    assert login(http, name).status_code == 303
    return http


@pytest.fixture()
def staff(base_env: dict[str, str]) -> Iterator[dict[str, TestClient]]:
    clients = {}
    for name, role in ROLES:
        make_user(name, role, provinces=[HERAT] if role == "coordinator" else [],
                  hub="west" if role == "hub_lead" else None)
        clients[name] = _client(name)
    yield clients
    for http in clients.values():
        http.close()


def _csrf(http: TestClient) -> str:
    return csrf_of(http.get("/console/queue").text)


def _create(http: TestClient, **extra: str | list[str]) -> int:
    form: dict[str, str | list[str]] = {"csrf": _csrf(http), "title": "Doha round 3",
                                        "text_fa": DARI, "text_ps": PASHTO,
                                        "text_en": ENGLISH, "fallback": "fa", **extra}
    response = http.post("/console/bulletins", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.match(r"/console/bulletins/(\d+)\?", response.headers["location"])
    assert found
    return int(found.group(1))


def _post(http: TestClient, path: str, **form: str) -> int:
    return http.post(path, data={"csrf": _csrf(http), **form},
                     follow_redirects=False).status_code


def _subscribers(n: int, language: str = "fa", province: str = HERAT) -> None:
    from gateway.contacts.crypto import get_vault
    from gateway.contacts.service import get_or_create_contact
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        for i in range(n):
            c = get_or_create_contact(session, vault=get_vault(), region="AF",
                                      raw_number=f"+93701{language == 'fa':d}{i:05d}")
            c.subscription, c.language, c.home_province = "active", language, province


def test_permission_matrix_roles_by_routes(staff: dict[str, TestClient]) -> None:
    bid = _create(staff["cora"])
    for name, role in ROLES:
        http = staff[name]
        want = 200 if role in ALLOWED else 403
        for path in ("/console/bulletins", "/console/bulletins/new",
                     f"/console/bulletins/{bid}", f"/console/bulletins/{bid}/status"):
            assert http.get(path).status_code == want, (role, path)
        nav = http.get("/console/queue")
        assert ('href="/console/bulletins"' in nav.text) == (role in ALLOWED), role
        if role not in ALLOWED:
            form = {"title": "x", "text_en": "x"}
            assert _post(http, "/console/bulletins", **form) == 403, role
            for action in ("approve", "send", "cancel"):
                assert _post(http, f"/console/bulletins/{bid}/{action}") == 403, (role, action)
    # Nothing the refused roles tried changed the bulletin or reached the audit log.
    assert [e.user_name for e in audit_rows("bulletin_create")] == ["cora"]
    assert audit_rows("bulletin_approve") == audit_rows("bulletin_cancel") == []
    # The allowed roles can do it all: admin approves, comms sends and cancels.
    assert _post(staff["ada"], f"/console/bulletins/{bid}/approve") == 303
    assert _post(staff["cato"], f"/console/bulletins/{bid}/send",
                 at="2099-01-01T06:00") == 303
    assert "2099-01-01 06:00 UTC" in staff["cato"].get(f"/console/bulletins/{bid}").text
    assert _post(staff["cora"], f"/console/bulletins/{bid}/cancel") == 303
    trail = [(e.action, e.user_name, e.via) for e in audit_rows() if e.action.startswith("bull")]
    assert trail == [("bulletin_create", "cora", "console"), ("bulletin_approve", "ada", "console"),
                     ("bulletin_schedule", "cato", "console"),
                     ("bulletin_cancel", "cora", "console")]


def test_without_csrf_nothing_happens(staff: dict[str, TestClient]) -> None:
    response = staff["cora"].post("/console/bulletins", data={"title": "t", "text_en": "x"},
                                  follow_redirects=False)
    assert response.status_code == 403 and audit_rows("bulletin_create") == []


def test_the_author_cannot_approve_even_by_posting_directly(
        staff: dict[str, TestClient]) -> None:
    bid = _create(staff["cora"])
    page = staff["cora"].get(f"/console/bulletins/{bid}").text
    assert f"/console/bulletins/{bid}/approve" not in page  # no button for the author…
    refused = staff["cora"].post(f"/console/bulletins/{bid}/approve",
                                 data={"csrf": _csrf(staff["cora"])})
    assert refused.status_code == 403  # …and the service refuses a forged post
    assert "Someone other than the author must approve" in refused.text
    assert _post(staff["cora"], f"/console/bulletins/{bid}/send") == 409  # still a draft
    assert f"/console/bulletins/{bid}/approve" in staff["cato"].get(
        f"/console/bulletins/{bid}").text
    assert _post(staff["cato"], f"/console/bulletins/{bid}/approve") == 303
    assert "cato" in staff["cora"].get(f"/console/bulletins/{bid}").text


def test_preview_and_status_show_the_counts(staff: dict[str, TestClient],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.db import unit_of_work
    from gateway.outbound.models import Delivery

    _subscribers(3, "fa")
    _subscribers(2, "ps")
    bid = _create(staff["cora"])
    page = staff["cato"].get(f"/console/bulletins/{bid}").text
    assert re.search(r'id="recipients">5<', page)
    assert re.search(r'id="total-segments">\d+<', page)
    dari = re.search(r'<tr id="lang-fa">(.*?)</tr>', page, re.S)
    assert dari and "UCS-2" in dari.group(1) and f"<td>{len(DARI)}</td>" in dari.group(1)
    english = re.search(r'<tr id="lang-en">(.*?)</tr>', page, re.S)
    assert english and "GSM-7" in english.group(1)
    assert _post(staff["cato"], f"/console/bulletins/{bid}/approve") == 303
    # Deliveries as the send jobs and Twilio's callbacks leave them.
    from gateway.outbound import bulletins

    with unit_of_work() as session:
        b = bulletins.get(session, bid)
        b.status = "sending"
        bulletins.fan_out(session, b)
        rows = list(session.execute(select(Delivery).order_by(Delivery.id)).scalars())
        for row, (state, code) in zip(rows, [("delivered", None), ("delivered", None),
                                             ("sent", None), ("failed", "30003"),
                                             ("undelivered", "30005")], strict=True):
            row.status, row.error_code = state, code
    status = staff["cora"].get(f"/console/bulletins/{bid}/status").text
    for key, n in (("recipients", 5), ("delivered", 2), ("sent", 1), ("failed", 2),
                   ("queued", 0)):
        assert re.search(rf'id="count-{key}">{n}<', status), key
    assert 'id="error-30003"' in status and 'id="error-30005"' in status
    listing = staff["cora"].get("/console/bulletins").text
    assert re.search(rf'<tr id="bulletin-{bid}">.*?<td>5</td><td>1</td><td>2</td><td>2', listing)
    # Cancel while sending: the page offers it and it stops what has not gone out.
    assert _post(staff["cora"], f"/console/bulletins/{bid}/cancel") == 303
    assert 'id="bulletin-status">Cancelled<' in staff["cora"].get(f"/console/bulletins/{bid}").text
    assert [e.after["status"] for e in audit_rows("bulletin_cancel")] == ["cancelled"]


def test_dari_and_pashto_text_round_trip_byte_exact(staff: dict[str, TestClient]) -> None:
    from gateway.db import unit_of_work
    from gateway.outbound.models import Bulletin

    make_user("farid", "comms", language="fa")
    http = _client("farid")
    bid = _create(http, title="دور سوم دوحه")
    with unit_of_work() as session:
        stored = session.get(Bulletin, bid)
        assert stored is not None
        assert stored.texts["fa"].encode("utf-8") == DARI.encode("utf-8")
        assert stored.texts["ps"].encode("utf-8") == PASHTO.encode("utf-8")
        assert stored.title == "دور سوم دوحه"
    page = http.get(f"/console/bulletins/{bid}").text
    assert '<html lang="fa" dir="rtl">' in page
    assert f'<div class="text" lang="fa" dir="rtl">{DARI}</div>' in page
    assert f'<div class="text" lang="ps" dir="rtl">{PASHTO}</div>' in page
    assert f'<div class="text" lang="en" dir="ltr">{ENGLISH}</div>' in page
    assert "پیش‌نمایش" in page  # the Dari UI string for "Preview"
    http.close()


def test_a_browser_line_break_is_stored_as_in_an_sms(staff: dict[str, TestClient]) -> None:
    from gateway.db import unit_of_work
    from gateway.outbound.models import Bulletin

    bid = _create(staff["cora"], text_fa="سطر اول\r\nسطر دوم", text_ps="", text_en="")
    with unit_of_work() as session:
        stored = session.get(Bulletin, bid)
        assert stored is not None and stored.texts == {"fa": "سطر اول\nسطر دوم"}


def test_bad_forms_are_refused_with_a_reason(staff: dict[str, TestClient]) -> None:
    http = staff["cora"]
    assert _post(http, "/console/bulletins", title="t", text_xx="x") == 400
    assert _post(http, "/console/bulletins", title="t", text_en="") == 400
    assert _post(http, "/console/bulletins", title="t", text_en="x", fallback="fa") == 400
    assert _post(http, "/console/bulletins", title="t", text_en="x" * 1601) == 400
    assert _post(http, "/console/bulletins", title="t", text_en="x", province="ZZ99") == 400
    bid = _create(http)
    assert _post(staff["cato"], f"/console/bulletins/{bid}/approve") == 303
    assert _post(http, f"/console/bulletins/{bid}/send", at="tomorrow") == 400
    assert http.get("/console/bulletins/999999").status_code == 404
    assert audit_rows("bulletin_create")[-1].after["bulletin"] == bid
