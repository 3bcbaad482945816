"""The JSON API: OpenAPI, listing with filters and paging, one record, audio, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.consolekit import HERAT, KANDAHAR, audit_rows, bearer, make_item, make_token, make_user

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures


@pytest.fixture()
def herat_token(base_env: dict[str, str]) -> dict[str, str]:
    make_user("hamid", "coordinator", provinces=[HERAT])
    return bearer(make_token("hamid"))


def test_openapi_describes_the_api(api: TestClient) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/items", "/api/items/{item_id}", "/api/items/{item_id}/audio",
                 "/api/items/{item_id}/reroute", "/api/items/{item_id}/text",
                 "/api/items/{item_id}/{action}", "/api/counts"):
        assert path in paths, path
    assert not any(p.startswith("/console") for p in paths)
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_listing_is_oldest_first_paged_and_counted(api: TestClient,
                                                    herat_token: dict[str, str]) -> None:
    ids = [make_item(HERAT, f"message {n}", age=timedelta(minutes=200 - n)) for n in range(60)]
    make_item(HERAT, "done", status="triaged")
    make_item(KANDAHAR, "elsewhere")
    first = api.get(f"/api/items?province={HERAT}&status=queued", headers=herat_token).json()
    assert [i["id"] for i in first["items"]] == ids[:50]
    assert first["has_next"] and first["total"] == 60
    assert first["counts"]["queued"] == 60 and first["counts"]["triaged"] == 1
    second = api.get(f"/api/items?province={HERAT}&status=queued&page=2",
                     headers=herat_token).json()
    assert [i["id"] for i in second["items"]] == ids[50:] and not second["has_next"]
    everything = api.get("/api/items?status=all&page=2", headers=herat_token).json()
    assert everything["total"] == 61  # Kandahar's item is not counted for Herat
    assert api.get("/api/items?status=bogus", headers=herat_token).status_code == 400


def test_filters_by_language_channel_and_date(api: TestClient,
                                              herat_token: dict[str, str]) -> None:
    dari = make_item(HERAT, "سلام", language="fa")
    pashto = make_item(HERAT, "ستړي مه شې", language="ps", channel="voice")
    old = make_item(HERAT, "old", language="fa", age=timedelta(days=10))

    def ids(query: str) -> list[int]:
        return [i["id"] for i in api.get(f"/api/items?{query}", headers=herat_token)
                .json()["items"]]

    assert ids("language=ps") == [pashto]
    assert ids("channel=voice") == [pashto]
    assert set(ids("language=fa")) == {dari, old}
    from datetime import UTC, datetime

    today = datetime.now(UTC).date().isoformat()
    assert old not in ids(f"since={today}") and dari in ids(f"since={today}")
    assert ids(f"until={(datetime.now(UTC) - timedelta(days=5)).date().isoformat()}") == [old]


def test_item_record_has_text_history_and_a_pseudonym_never_the_number(
        api: TestClient, herat_token: dict[str, str]) -> None:
    item = make_item(HERAT, "آب نداریم", sender="+93701234567")
    make_item(HERAT, "second", sender="+93701234567")
    api.put(f"/api/items/{item}/text", headers=herat_token, json={"text": "آب آشامیدنی نداریم"})
    record = api.get(f"/api/items/{item}", headers=herat_token)
    body = record.json()
    assert body["text"] == "آب آشامیدنی نداریم" and body["raw_text"] == "آب نداریم"
    assert [v["text"] for v in body["versions"]] == ["آب نداریم", "آب آشامیدنی نداریم"]
    assert body["sender"].startswith("P-") and len(body["sender_items"]) == 1
    assert "701234567" not in record.text
    assert [e.user_name for e in audit_rows("view_text") if e.item_id == item] == ["hamid"]


def test_sms_items_have_no_audio(api: TestClient, herat_token: dict[str, str]) -> None:
    item = make_item(HERAT)
    response = api.get(f"/api/items/{item}/audio", headers=herat_token)
    assert response.status_code == 404
    assert response.json() == {"error": "no audio for this item"}


def test_actions_answer_with_the_new_state(api: TestClient,
                                           herat_token: dict[str, str]) -> None:
    item = make_item(HERAT)
    claimed = api.post(f"/api/items/{item}/claim", headers=herat_token).json()
    assert claimed["status"] == "claimed"
    assert api.post(f"/api/items/{item}/release", headers=herat_token).json()["status"] == "queued"
    assert api.put(f"/api/items/{item}/tags", headers=herat_token,
                   json={"tags": ["security", "justice"]}).json() == {
        "tags": ["justice", "security"]}
    assert api.put(f"/api/items/{item}/language", headers=herat_token,
                   json={"language": "uz"}).status_code == 200
    assert api.post(f"/api/items/{item}/notes", headers=herat_token,
                    json={"body": "follow up"}).status_code == 200
    assert api.post(f"/api/items/{item}/triage", headers=herat_token).json()["status"] == "triaged"
    assert api.post(f"/api/items/{item}/explode", headers=herat_token).status_code == 404
    record = api.get(f"/api/items/{item}", headers=herat_token).json()
    assert (record["language"], record["tags"], record["notes"][0]["body"]) == (
        "uz", ["justice", "security"], "follow up")


def test_the_audit_log_cannot_be_rewritten(api: TestClient,
                                           herat_token: dict[str, str]) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from gateway.db import unit_of_work

    item = make_item(HERAT)
    api.post(f"/api/items/{item}/claim", headers=herat_token)
    with pytest.raises(DBAPIError), unit_of_work() as session:
        session.execute(text("UPDATE audit_log SET user_name = 'someone else'"))
    assert [e.user_name for e in audit_rows("claim")] == ["hamid"]
    # And nothing in the API or console writes to it other than by appending.
    for method in ("put", "patch", "delete"):
        assert getattr(api, method)("/console/audit").status_code in (404, 405)
