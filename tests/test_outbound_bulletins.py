"""Bulletins end to end against the loopback Twilio REST server (issue 5)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from gateway.contacts.crypto import get_vault
from gateway.contacts.models import Contact
from gateway.contacts.service import get_or_create_contact
from gateway.db import unit_of_work
from gateway.errors import AppError
from gateway.outbound import bulletins
from gateway.outbound.models import Bulletin, Delivery
from gateway.simulator.twilio_rest import FakeTwilio
from tests import support
from tests.support import SignedClient

DARI = "مذاکرات صلح امروز در دوحه ادامه یافت. موضوع بعدی: آب و زمین."
PASHTO = "د سولې خبرې نن په دوحه کې دوام وموند. راتلونکې موضوع: اوبه او ځمکه."
ENGLISH = "Peace talks continued today in Doha. Next item: water and land."


def number(n: int) -> str:
    return f"+9370{n:07d}"


def add_subscribers(count: int, *, start: int = 1, language: str | None = "fa",
                    province: str | None = "AF32", status: str = "active") -> list[int]:
    with unit_of_work() as session:
        ids = []
        for n in range(start, start + count):
            c = get_or_create_contact(session, vault=get_vault(), raw_number=number(n),
                                      region="AF")
            c.subscription, c.language, c.home_province = status, language, province
            ids.append(c.id)
        return ids


def fake_env(monkeypatch: pytest.MonkeyPatch, fake: FakeTwilio, **settings: str) -> None:
    monkeypatch.setenv("AMIP_TWILIO_API_BASE", fake.base_url)
    monkeypatch.setenv("AMIP_TWILIO_SENDER", support.SHORTCODE)
    monkeypatch.setenv("AMIP_OUTBOUND_SEGMENTS_PER_SECOND", "2000")
    monkeypatch.setenv("AMIP_OUTBOUND_CONCURRENCY", "4")
    monkeypatch.setenv("AMIP_TWILIO_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("AMIP_OUTBOUND_LEASE_SECONDS", "1")
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    support.reset_caches()


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeTwilio]:
    server = FakeTwilio(support.ACCOUNT_SID, support.AUTH_TOKEN, callbacks=False,
                        hang_seconds=4).start()
    fake_env(monkeypatch, server)
    yield server
    server.stop()


def approved(texts: dict[str, str] | None = None, **audience: list[str]) -> int:
    with unit_of_work() as session:
        b = bulletins.create(session, title="Doha round 3", author="ann",
                             texts=texts or {"fa": DARI, "ps": PASHTO, "en": ENGLISH},
                             fallback="fa", **audience)
        bulletins.approve(session, b.id, "bob")
        return b.id


def send_now(bulletin_id: int) -> dict:
    with unit_of_work() as session:
        bulletins.send(session, bulletin_id)
    support.run_jobs(("outbound",))
    with unit_of_work() as session:
        return bulletins.status(session, bulletin_id)


def test_every_subscriber_gets_it_once_in_their_language(fake: FakeTwilio) -> None:
    add_subscribers(6, language="fa")
    add_subscribers(3, start=10, language="ps")
    add_subscribers(2, start=20, language="uz")  # no Uzbek text: the fallback (Dari)
    add_subscribers(2, start=30, status="stopped")
    add_subscribers(2, start=40, status="none")
    result = send_now(approved())
    assert result["status"] == "sent"
    assert result["counts"]["queued"] == 11 and result["recipients"] == 11
    counts = fake.received_by()
    assert len(counts) == 11 and set(counts.values()) == {1}
    bodies = {r["to"]: r["body"] for r in fake.received}
    assert bodies[number(1)] == DARI and bodies[number(10)] == PASHTO
    assert bodies[number(20)] == DARI
    assert number(30) not in bodies and number(40) not in bodies


def test_audience_by_province_hub_and_language(fake: FakeTwilio) -> None:
    add_subscribers(2, language="fa", province="AF32")  # Herat (west)
    add_subscribers(2, start=10, language="ps", province="AF27")  # Kandahar (south)
    add_subscribers(2, start=20, language="ps", province="AF01")  # Kabul
    with unit_of_work() as session:
        hub = session.execute(select(Contact.home_province)).scalars().first()
        assert hub
    from gateway.geography.reference import provinces_by_pcode

    south = provinces_by_pcode()["AF27"].hub
    with unit_of_work() as session:
        assert bulletins.preview(session, approved(provinces=["AF32"]))["recipients"] == 2
        assert bulletins.preview(session, approved(hubs=[south]))["recipients"] >= 2
        both = approved(provinces=["AF32", "AF01"], languages=["ps"])
        assert bulletins.preview(session, both)["recipients"] == 2


def test_preview_counts_encoding_characters_and_segments(fake: FakeTwilio) -> None:
    add_subscribers(3, language="fa")
    add_subscribers(2, start=10, language="en")
    long_english = ENGLISH * 3  # 189 GSM-7 characters: 2 segments
    with unit_of_work() as session:
        p = bulletins.preview(session, approved({"fa": DARI, "en": long_english}))
    assert p["recipients"] == 5
    assert p["languages"]["fa"] == {"encoding": "UCS-2", "characters": len(DARI),
                                    "segments": 1, "recipients": 3}
    assert p["languages"]["en"]["encoding"] == "GSM-7"
    assert p["languages"]["en"]["segments"] == 2
    assert p["total_segments"] == 3 * 1 + 2 * 2


def test_author_cannot_approve_and_unapproved_cannot_be_sent(fake: FakeTwilio) -> None:
    with unit_of_work() as session:
        b = bulletins.create(session, title="t", texts={"en": "x"}, author="ann")
        with pytest.raises(AppError) as refused:
            bulletins.approve(session, b.id, "ann")
        assert refused.value.status == 403
        with pytest.raises(AppError):
            bulletins.send(session, b.id)


def test_opted_out_after_fan_out_is_skipped_at_send_time(fake: FakeTwilio) -> None:
    add_subscribers(4)
    bulletin_id = approved()
    with unit_of_work() as session:
        b = session.get(Bulletin, bulletin_id)
        assert b is not None
        b.status = "sending"
        bulletins.fan_out(session, b)
        session.execute(update(Contact).where(Contact.id == select(Contact.id).order_by(
            Contact.id).limit(1).scalar_subquery()).values(subscription="stopped"))
        bulletins.enqueue_pumps(session, bulletin_id, tag="test")
    support.run_jobs(("outbound",))
    with unit_of_work() as session:
        result = bulletins.status(session, bulletin_id)
    assert result["counts"]["skipped"] == 1
    assert len(fake.received) == 3


def test_21610_at_send_opts_out_and_21211_is_rejected(fake: FakeTwilio) -> None:
    add_subscribers(3)
    fake.add_error(21610, to=number(1))
    fake.add_error(21211, to=number(2))
    result = send_now(approved())
    assert result["failed_by_error"] == {"21610": 1, "21211": 1}
    with unit_of_work() as session:
        stopped = session.execute(select(Contact.id).where(
            Contact.subscription == "stopped")).scalars().all()
    assert len(stopped) == 1
    assert len(fake.received) == 1


def test_429_backs_off_and_still_sends_exactly_once(fake: FakeTwilio) -> None:
    add_subscribers(5)
    fake.add_error(429, times=4)
    result = send_now(approved())
    assert result["status"] == "sent"
    assert sorted(fake.received_by().values()) == [1] * 5
    assert fake.requests == 9


def test_accepted_then_timeout_is_looked_up_not_resent(fake: FakeTwilio) -> None:
    add_subscribers(3)
    fake.add_error("timeout", to=number(2), times=1)
    result = send_now(approved())
    assert fake.received_by() == {number(1): 1, number(2): 1, number(3): 1}
    assert result["counts"]["queued"] == 3  # all three have a MessageSid, none resent
    with unit_of_work() as session:
        sids = session.execute(select(Delivery.message_sid)).scalars().all()
    assert set(sids) == {r["sid"] for r in fake.received}


def test_cancel_before_the_workers_run_sends_nothing(fake: FakeTwilio) -> None:
    add_subscribers(3)
    bulletin_id = approved()
    with unit_of_work() as session:
        bulletins.send(session, bulletin_id)
        bulletins.cancel(session, bulletin_id, "bob")
    support.run_jobs(("outbound",))
    assert fake.received == []
    with unit_of_work() as session:
        assert bulletins.status(session, bulletin_id)["status"] == "cancelled"


def test_scheduled_bulletin_starts_when_due(fake: FakeTwilio) -> None:
    from gateway.outbound.sending import sweep
    from gateway.settings import get_settings

    add_subscribers(2)
    bulletin_id = approved()
    with unit_of_work() as session:
        b = bulletins.send(session, bulletin_id, at=datetime.now(UTC) + timedelta(hours=1))
        assert b.status == "scheduled"
    sweep(get_settings())
    support.run_jobs(("outbound",))
    assert fake.received == []
    with unit_of_work() as session:
        session.execute(update(Bulletin).values(
            scheduled_at=datetime.now(UTC) - timedelta(seconds=1)))
    sweep(get_settings())
    support.run_jobs(("outbound",))
    assert len(fake.received) == 2


def test_status_callbacks_from_the_loopback_server_reach_the_counts(
        client: SignedClient, monkeypatch: pytest.MonkeyPatch) -> None:
    posted: list[tuple[str, list[tuple[str, str]], str]] = []
    server = FakeTwilio(support.ACCOUNT_SID, support.AUTH_TOKEN, callback_delay=0,
                        callback_sink=lambda url, form, sig: posted.append((url, form, sig)))
    server.start()
    try:
        fake_env(monkeypatch, server)
        add_subscribers(3)
        server.add_error(30003, to=number(3))
        bulletin_id = approved()
        send_now(bulletin_id)
        deadline = datetime.now(UTC) + timedelta(seconds=5)
        while len(posted) < 6 and datetime.now(UTC) < deadline:
            pass
        for url, form, _signature in list(posted):
            assert url == support.PUBLIC_BASE + "/twilio/status"
            assert client.post("/twilio/status", form).status_code == 204
    finally:
        server.stop()
    with unit_of_work() as session:
        result = bulletins.status(session, bulletin_id)
    assert result["counts"]["delivered"] == 2
    assert result["failed_by_error"] == {"30003": 1}


def staff_user(name: str, role: str = "comms") -> None:
    """A console user (the --as of the CLI must be a real, enabled user)."""
    from gateway.auth.service import add_user

    with unit_of_work() as session:
        add_user(session, name=name, role=role, password="correct horse battery")


def test_cli_create_preview_approve_send_status(fake: FakeTwilio) -> None:
    from gateway.cli import app

    staff_user("ann")
    staff_user("bob", "admin")
    add_subscribers(2)
    runner = CliRunner()
    created = runner.invoke(app, ["bulletin", "create", "--title", "Round 3",
                                  "--text", f"fa={DARI}", "--text", f"en={ENGLISH}",
                                  "--fallback", "fa", "--province", "AF32", "--as", "ann"])
    assert created.exit_code == 0, created.output
    bid = created.output.strip()
    preview = runner.invoke(app, ["bulletin", "preview", bid, "--json"])
    assert json.loads(preview.output)["recipients"] == 2
    refused = runner.invoke(app, ["bulletin", "approve", bid, "--as", "ann"])
    assert refused.exit_code == 1 and "someone other" in refused.output
    assert runner.invoke(app, ["bulletin", "approve", bid, "--as", "bob"]).exit_code == 0
    assert runner.invoke(app, ["bulletin", "send", bid, "--as", "bob"]).exit_code == 0
    support.run_jobs(("outbound",))
    status = json.loads(runner.invoke(app, ["bulletin", "status", bid, "--json"]).output)
    assert status["status"] == "sent" and status["counts"]["queued"] == 2
    assert runner.invoke(app, ["bulletin", "cancel", bid, "--as", "bob"]).exit_code == 1
    from gateway.audit.models import AuditEntry

    with unit_of_work() as session:
        trail = session.execute(select(AuditEntry.action, AuditEntry.user_name, AuditEntry.via)
                                .order_by(AuditEntry.id)).all()
    assert [tuple(t) for t in trail] == [("bulletin_create", "ann", "cli"),
                                         ("bulletin_approve", "bob", "cli"),
                                         ("bulletin_send", "bob", "cli")]


def test_cli_as_must_be_an_enabled_user_allowed_to_send_bulletins(fake: FakeTwilio) -> None:
    from gateway.auth.service import disable_user
    from gateway.cli import app

    staff_user("ann")
    staff_user("bob")
    staff_user("dora")
    staff_user("ana", "analyst")
    staff_user("sami", "secretariat")
    with unit_of_work() as session:
        disable_user(session, "dora")
    runner = CliRunner()

    def create(user: str) -> object:
        return runner.invoke(app, ["bulletin", "create", "--title", "T", "--text", f"fa={DARI}",
                                   "--as", user])

    for user, reason in (("nobody", "no such user"), ("dora", "disabled"),
                         ("ana", "not allowed for this role"),
                         ("sami", "not allowed for this role")):
        refused = create(user)
        assert refused.exit_code == 1 and reason in refused.output, (user, refused.output)
    with unit_of_work() as session:
        assert session.execute(select(Bulletin)).first() is None
    created = create("ann")
    assert created.exit_code == 0, created.output
    bid = created.output.strip()
    for command in ("approve", "send", "cancel"):
        for user in ("nobody", "dora", "ana"):
            refused = runner.invoke(app, ["bulletin", command, bid, "--as", user])
            assert refused.exit_code == 1, (command, user)
    missing = runner.invoke(app, ["bulletin", "send", bid])
    assert missing.exit_code == 2 and "--as" in missing.output
    own = runner.invoke(app, ["bulletin", "approve", bid, "--as", "ann"])
    assert own.exit_code == 1 and "someone other than its author" in own.output
    assert runner.invoke(app, ["bulletin", "approve", bid, "--as", "bob"]).exit_code == 0
    assert runner.invoke(app, ["bulletin", "preview", bid, "--as", "ana"]).exit_code == 1
    assert runner.invoke(app, ["bulletin", "preview", bid, "--as", "ann"]).exit_code == 0
    assert runner.invoke(app, ["bulletin", "cancel", bid, "--as", "ann"]).exit_code == 0
    with unit_of_work() as session:
        b = session.get(Bulletin, int(bid))
        assert b is not None
        assert (b.created_by, b.approved_by, b.cancelled_by, b.status) == (
            "ann", "bob", "ann", "cancelled")


def test_a_bulletin_waiting_to_be_sent_never_delays_replies_or_intake(
        fake: FakeTwilio, client: SignedClient) -> None:
    from gateway.queue import get_queue

    add_subscribers(3)
    bulletin_id = approved()
    with unit_of_work() as session:
        bulletins.send(session, bulletin_id)
    response = client.post("/twilio/sms", support.sms_form("salam az herat", sender=number(99)))
    assert response.status_code == 200 and "<Message>" in response.text  # TwiML, no queue
    support.run_jobs(("intake",))  # intake workers never pick up bulk sends
    assert support.items()[0]["status"] == "queued"
    assert len(get_queue("outbound")) == 2 and fake.received == []


def test_loopback_server_reports_what_it_accepted_and_takes_control(fake: FakeTwilio) -> None:
    import httpx

    add_subscribers(1)
    send_now(approved({"fa": DARI}))
    [received] = httpx.get(fake.base_url + "/_received").json()
    assert (received["to"], received["body"], received["segments"]) == (number(1), DARI, 1)
    assert httpx.post(fake.base_url + "/_control", json={
        "latency": 0, "errors": [{"code": 21211}]}).status_code == 200
    assert fake.rules[0].code == 21211
    unauthenticated = httpx.post(fake.base_url + f"/2010-04-01/Accounts/{support.ACCOUNT_SID}"
                                 "/Messages.json", data={"To": number(1), "Body": "x"})
    assert unauthenticated.status_code == 401
