"""The permission matrix: every role × console and API route × own / foreign province."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.consolekit import (
    HERAT,
    KANDAHAR,
    bearer,
    csrf_of,
    login,
    make_item,
    make_token,
    make_user,
)

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures

HERAT_TEXT = "HERAT-WORDS سلام از هرات"
KANDAHAR_TEXT = "KANDAHAR-WORDS سلام له کندهار"

# (name, role, provinces, hub) — Herat is in the west hub, Kandahar in the south.
ROLES = [
    ("ada", "admin", [], None),
    ("sami", "secretariat", [], None),
    ("wali", "hub_lead", [], "west"),
    ("hamid", "coordinator", [HERAT], None),
    ("ana", "analyst", [], None),
]
SEES_KANDAHAR = {"admin", "secretariat"}
READS = {"admin", "secretariat", "hub_lead", "coordinator"}


@pytest.fixture()
def world(base_env: dict[str, str]) -> Iterator[dict[str, object]]:
    from gateway.app import create_app

    app = create_app(background=False)
    items = {"own": make_item(HERAT, HERAT_TEXT, channel="voice"),
             "foreign": make_item(KANDAHAR, KANDAHAR_TEXT, channel="voice")}
    clients: dict[str, TestClient] = {}
    tokens: dict[str, str] = {}
    for name, role, provinces, hub in ROLES:
        make_user(name, role, provinces=provinces, hub=hub)
        http = TestClient(app, base_url="https://testserver")
        assert login(http, name).status_code == 303
        clients[role] = http
        tokens[role] = make_token(name)
    yield {"items": items, "clients": clients, "tokens": tokens}
    for http in clients.values():
        http.close()


def _expected(role: str, which: str) -> int:
    if role not in READS:
        return 403
    if which == "foreign" and role not in SEES_KANDAHAR:
        return 404
    return 200


CASES = [(role, which) for _, role, _, _ in ROLES for which in ("own", "foreign")]


def test_item_page_and_api_record(world: dict) -> None:
    for role, which in CASES:
        item = world["items"][which]
        page = world["clients"][role].get(f"/console/items/{item}")
        record = world["clients"][role].get(f"/api/items/{item}",
                                            headers=bearer(world["tokens"][role]))
        want = _expected(role, which)
        assert (page.status_code, record.status_code) == (want, want), (role, which)
        text = HERAT_TEXT if which == "own" else KANDAHAR_TEXT
        for response in (page, record):
            assert (text in response.text) == (want == 200), (role, which)


def test_audio_goes_through_the_same_check(world: dict) -> None:
    for role, which in CASES:
        item = world["items"][which]
        for response in (world["clients"][role].get(f"/console/items/{item}/audio"),
                         world["clients"][role].get(f"/api/items/{item}/audio",
                                                    headers=bearer(world["tokens"][role]))):
            want = _expected(role, which)
            if want == 200:
                # Allowed: the recording, or "no audio" — never "no such item".
                assert response.status_code in (200, 404), (role, which)
                assert "no such item" not in response.text.lower(), (role, which)
            else:
                assert response.status_code == want, (role, which)
                assert not response.headers.get("content-type", "").startswith("audio/")


def test_actions_through_console_and_api(world: dict) -> None:
    for role, which in CASES:
        # Fresh items per case: the actions change them.
        item = make_item(HERAT if which == "own" else KANDAHAR, "act on me")
        http, token = world["clients"][role], world["tokens"][role]
        want = _expected(role, which)
        assert http.post(f"/api/items/{item}/claim",
                         headers=bearer(token)).status_code == want, (role, which)
        csrf = csrf_of(http.get("/console/queue").text)
        console = http.post(f"/console/items/{item}/release", data={"csrf": csrf},
                            follow_redirects=False)
        # The console answers a success with a redirect back to the item.
        assert console.status_code == (303 if want == 200 else want), (role, which)
        for path, body in ((f"/api/items/{item}/tags", {"tags": ["education"]}),
                           (f"/api/items/{item}/text", {"text": "corrected"})):
            assert http.put(path, headers=bearer(token), json=body).status_code == want
        reroute = http.post(f"/api/items/{item}/reroute", headers=bearer(token),
                            json={"province": "AF01", "reason": "mentions Kabul"})
        assert reroute.status_code == want, (role, which)


def test_queue_filters_cannot_widen_the_scope(world: dict) -> None:
    for _, role, _, _ in ROLES:
        http, token = world["clients"][role], world["tokens"][role]
        page = http.get(f"/console/queue?province={KANDAHAR}&status=all")
        listing = http.get(f"/api/items?province={KANDAHAR}&status=all", headers=bearer(token))
        if role in SEES_KANDAHAR:
            assert page.status_code == listing.status_code == 200
            assert [i["id"] for i in listing.json()["items"]] == [world["items"]["foreign"]]
        elif role == "analyst":
            assert listing.status_code == 403
            assert page.status_code == 200 and KANDAHAR_TEXT not in page.text
        else:
            assert page.status_code == listing.status_code == 403, role
        own = http.get("/api/items?status=all", headers=bearer(token))
        if role in READS:
            ids = {i["id"] for i in own.json()["items"]}
            assert world["items"]["own"] in ids
            assert (world["items"]["foreign"] in ids) == (role in SEES_KANDAHAR), role


def test_analyst_never_receives_message_text(world: dict) -> None:
    http, token = world["clients"]["analyst"], world["tokens"]["analyst"]
    responses = [http.get(path) for path in (
        "/console/queue", "/console/queue?status=all", f"/console/queue?province={HERAT}",
        *(f"/console/items/{i}" for i in world["items"].values()),
        *(f"/console/items/{i}/audio" for i in world["items"].values()))]
    responses += [http.get(path, headers=bearer(token)) for path in (
        "/api/me", "/api/counts", "/api/items", "/api/items?status=all",
        *(f"/api/items/{i}" for i in world["items"].values()),
        *(f"/api/items/{i}/audio" for i in world["items"].values()))]
    for response in responses:
        assert "WORDS" not in response.text
        assert "سلام" not in response.text
    counts = http.get("/api/counts", headers=bearer(token)).json()
    assert counts["by_status"]["queued"] == 2  # numbers, yes


def test_audit_log_is_admins_only(world: dict) -> None:
    for role, http in world["clients"].items():
        assert http.get("/console/audit").status_code == (200 if role == "admin" else 403)


def test_no_session_or_token_means_no_access(api: TestClient) -> None:
    item = make_item(HERAT, HERAT_TEXT)
    assert api.get(f"/api/items/{item}").status_code == 401
    assert api.get(f"/api/items/{item}", headers=bearer("amip_forged")).status_code == 401
    page = api.get(f"/console/items/{item}", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/console/login"
