"""Triage actions: claims under contention, reroute, text versions, tags, notes, CSRF."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_DB
from tests.consolekit import (
    HERAT,
    KANDAHAR,
    audit_rows,
    bearer,
    csrf_of,
    login,
    make_item,
    make_token,
    make_user,
)

pytest_plugins = ["tests.consolekit"]  # the web / api client fixtures


def _principal(name: str):  # noqa: ANN202 - test helper
    from gateway.auth.service import get_user, principal_for
    from gateway.db import unit_of_work

    with unit_of_work() as session:
        user = get_user(session, name)
        assert user is not None
        return principal_for(session, user, "api")


def _claim(name: str, item_id: int) -> str:
    from gateway.console import service
    from gateway.db import unit_of_work
    from gateway.errors import AppError

    principal = _principal(name)
    try:
        with unit_of_work() as session:
            service.claim(session, principal, item_id)
    except AppError as exc:
        return f"{exc.status}"
    return "won"


def test_two_sessions_claiming_at_once_exactly_one_wins(base_env: dict[str, str]) -> None:
    make_user("hamid", "coordinator", provinces=[HERAT])
    make_user("zahra", "coordinator", provinces=[HERAT])
    for _ in range(8):
        item = make_item(HERAT)
        barrier = threading.Barrier(2)
        results: dict[str, str] = {}

        def run(name: str, item: int = item, barrier: threading.Barrier = barrier,
                results: dict[str, str] = results) -> None:
            barrier.wait()
            results[name] = _claim(name, item)

        threads = [threading.Thread(target=run, args=(n,)) for n in ("hamid", "zahra")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results.values()) == ["409", "won"], results
        winner = next(n for n, r in results.items() if r == "won")
        assert [e.user_name for e in audit_rows("claim") if e.item_id == item] == [winner]


@pytest.mark.skipif(not TEST_DB, reason="SKIP LOCKED is PostgreSQL's; SQLite serialises writers")
def test_a_claim_in_progress_is_skipped_not_waited_for(base_env: dict[str, str]) -> None:
    from gateway.console import service
    from gateway.db import unit_of_work
    from gateway.errors import AppError

    make_user("hamid", "coordinator", provinces=[HERAT])
    make_user("zahra", "coordinator", provinces=[HERAT])
    item = make_item(HERAT)
    hamid, zahra = _principal("hamid"), _principal("zahra")
    with unit_of_work() as first:
        service.claim(first, hamid, item)  # row locked, not yet committed
        with pytest.raises(AppError) as lost, unit_of_work() as second:
            service.claim(second, zahra, item)
        assert lost.value.status == 409
    assert _claim("zahra", item) == "409"  # after the commit: already claimed


@pytest.fixture()
def herat(web: TestClient) -> Iterator[TestClient]:
    make_user("hamid", "coordinator", provinces=[HERAT])
    assert login(web, "hamid").status_code == 303
    yield web


def test_reroute_moves_the_item_and_leaves_an_audit_entry(herat: TestClient,
                                                          api: TestClient) -> None:
    make_user("karim", "coordinator", provinces=[KANDAHAR])
    kandahar = make_token("karim")
    item = make_item(HERAT, "the road to Kandahar is closed")
    csrf = csrf_of(herat.get(f"/console/items/{item}").text)
    herat.post(f"/console/items/{item}/claim", data={"csrf": csrf})
    done = herat.post(f"/console/items/{item}/reroute",
                      data={"csrf": csrf, "province": KANDAHAR, "reason": "about Kandahar"})
    assert done.url.path == "/console/queue"  # it left Herat's queue
    assert herat.get(f"/console/items/{item}").status_code == 404
    theirs = api.get(f"/api/items?province={KANDAHAR}", headers=bearer(kandahar)).json()
    assert [(i["id"], i["status"], i["routing_reason"]) for i in theirs["items"]] == [
        (item, "queued", "rerouted")]
    [entry] = audit_rows("reroute")
    assert (entry.user_name, entry.item_id) == ("hamid", item)
    assert entry.before["province"] == HERAT
    assert entry.after == {"province": KANDAHAR, "status": "queued", "reason": "about Kandahar"}


def test_edited_transcript_keeps_the_previous_version(herat: TestClient) -> None:
    item = make_item(HERAT, "salam, rah band ast")
    csrf = csrf_of(herat.get(f"/console/items/{item}").text)
    herat.post(f"/console/items/{item}/text", data={"csrf": csrf, "text": "سلام، راه بند است"})
    page = herat.post(f"/console/items/{item}/text",
                      data={"csrf": csrf, "text": "سلام، راه هرات بند است"})
    assert "سلام، راه هرات بند است</textarea>" in page.text
    from gateway.console.models import ItemVersion
    from gateway.db import unit_of_work
    from gateway.intake.models import Item

    with unit_of_work() as session:
        versions = session.query(ItemVersion).filter_by(item_id=item).order_by("version").all()
        raw = session.get(Item, item).raw_text  # type: ignore[union-attr]
    assert [v.text for v in versions] == ["salam, rah band ast", "سلام، راه بند است",
                                          "سلام، راه هرات بند است"]
    assert raw == "salam, rah band ast"  # what arrived is never overwritten
    assert "salam, rah band ast" in page.text  # the history is on the page
    assert [(e.before, e.after) for e in audit_rows("edit_text")] == [
        ({"version": 1}, {"version": 2}), ({"version": 2}, {"version": 3})]


def test_someone_elses_claim_is_respected_but_a_hub_lead_may_override(
        herat: TestClient, api: TestClient) -> None:
    make_user("zahra", "coordinator", provinces=[HERAT])
    make_user("wali", "hub_lead", hub="west")
    item = make_item(HERAT)
    csrf = csrf_of(herat.get(f"/console/items/{item}").text)
    herat.post(f"/console/items/{item}/claim", data={"csrf": csrf})
    zahra = bearer(make_token("zahra"))
    assert api.post(f"/api/items/{item}/triage", headers=zahra).status_code == 409
    assert api.post(f"/api/items/{item}/claim", headers=zahra).status_code == 409
    assert api.post(f"/api/items/{item}/escalate",
                    headers=bearer(make_token("wali"))).json()["status"] == "escalated"
    assert api.post(f"/api/items/{item}/claim",
                    headers=bearer(make_token("wali"))).status_code == 200


def test_closed_items_stay_closed(herat: TestClient, api: TestClient) -> None:
    item = make_item(HERAT)
    token = bearer(make_token("hamid"))
    assert api.post(f"/api/items/{item}/discard", headers=token).status_code == 200
    for action in ("claim", "triage", "escalate"):
        assert api.post(f"/api/items/{item}/{action}", headers=token).status_code == 409
    assert api.post(f"/api/items/{item}/reroute", headers=token,
                    json={"province": KANDAHAR, "reason": "x"}).status_code == 409


def test_language_tags_and_notes(herat: TestClient) -> None:
    item = make_item(HERAT, "salam", language="und")
    csrf = csrf_of(herat.get(f"/console/items/{item}").text)
    herat.post(f"/console/items/{item}/language", data={"csrf": csrf, "language": "ps"})
    herat.post(f"/console/items/{item}/tags",
               data={"csrf": csrf, "tag": ["ceasefire", "education"]})
    page = herat.post(f"/console/items/{item}/notes",
                      data={"csrf": csrf, "body": "call back after Friday"})
    assert "Pashto (manual" in page.text
    assert 'value="ceasefire" checked' in page.text and 'value="security" checked' not in page.text
    assert "call back after Friday" in page.text
    bad = herat.post(f"/console/items/{item}/tags", data={"csrf": csrf, "tag": ["football"]})
    assert bad.status_code == 400
    queue = herat.get("/console/queue?topic=ceasefire")
    assert f"#{item}<" in queue.text
    assert f"#{item}<" not in herat.get("/console/queue?topic=security").text
    actions = [e.action for e in audit_rows() if e.item_id == item]
    assert {"set_language", "set_tags", "add_note"} <= set(actions)


def test_posts_without_the_csrf_token_are_refused(herat: TestClient) -> None:
    item = make_item(HERAT)
    refused = herat.post(f"/console/items/{item}/claim", data={"csrf": "forged"})
    assert refused.status_code == 403
    assert audit_rows("claim") == []
    refused = herat.post(f"/console/items/{item}/claim")
    assert refused.status_code == 403


def test_sender_links_show_the_same_senders_visible_items(herat: TestClient) -> None:
    first = make_item(HERAT, "one", sender="+93701111111")
    second = make_item(HERAT, "two", sender="+93701111111")
    hidden = make_item(KANDAHAR, "three", sender="+93701111111")
    other = make_item(HERAT, "four", sender="+93702222222")
    page = herat.get(f"/console/items/{first}").text
    assert f'href="/console/items/{second}"' in page
    assert f'href="/console/items/{hidden}"' not in page  # not this coordinator's province
    assert f'href="/console/items/{other}"' not in page
    assert "+93701111111" not in page and "701111111" not in page
