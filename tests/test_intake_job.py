"""The intake job: language, routing, idempotency, enqueue-after-commit (issue 2)."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from gateway.db import unit_of_work
from gateway.intake.models import Item
from gateway.queue import get_queue
from tests import support
from tests.support import SignedClient, sms_form


def post_and_process(client: SignedClient, *bodies_and_senders: tuple[str, str]) -> list[dict]:
    for body, sender in bodies_and_senders:
        assert client.post("/twilio/sms", sms_form(body, sender=sender)).status_code == 200
    support.run_jobs()
    return support.items()


@pytest.mark.parametrize("body, language, province, reason", [
    ("سلام، من از هرات هستم و ما آب آشامیدنی نداریم", "fa", "AF32", "text_mention"),
    ("زه د کندهار یم، زموږ ښوونځي وتړل شول", "ps", "AF27", "text_mention"),
    ("Please tell the negotiators that Bamyan needs roads", "en", "AF10", "text_mention"),
    ("Assalomu alaykum, Faryob viloyatida suv yo'q, yordam bering", "uz", None, None),
    ("salam man az mazar sharif hastam, jang bas ast", "fa", "AF21", "text_mention"),
    ("🙏🙏", "und", None, "unrouted"),
    ("", "und", None, "unrouted"),
])
def test_sms_is_identified_and_routed(client: SignedClient, body: str, language: str,
                                      province: str | None, reason: str | None) -> None:
    [item] = post_and_process(client, (body, "+93701111111"))
    assert item["status"] == "queued"
    assert item["language"] == language
    if reason:
        assert item["routing_reason"] == reason
        assert item["province"] == province
    assert item["text"] == body


def test_contact_history_routes_a_later_message(client: SignedClient) -> None:
    first, second = post_and_process(
        client, ("ما در کندز به کلینیک ضرورت داریم", "+93702222222"),
        ("هنوز هیچ جوابی نگرفته‌ایم", "+93702222222"))
    assert first["province"] == second["province"] == "AF19"
    assert second["routing_reason"] == "contact_history"


def test_landline_area_code_routes_when_text_says_nothing(client: SignedClient) -> None:
    [item] = post_and_process(client, ("we want peace", "+93402123456"))  # 40 = Herat
    assert item["province"] == "AF32"
    assert item["routing_reason"] == "area_code"


def test_mobile_number_without_mention_is_unrouted(client: SignedClient) -> None:
    [item] = post_and_process(client, ("we want peace", "+93703333333"))
    assert item["province"] is None and item["routing_reason"] == "unrouted"
    assert item["hub"] is None


def test_job_is_enqueued_only_after_commit_and_carries_only_an_id(client: SignedClient) -> None:
    from gateway.queue import background_sender

    client.post("/twilio/sms", sms_form("hello from Kabul"))
    assert background_sender.flush(10)  # PostgreSQL: sent by a thread just after the answer
    jobs = get_queue("intake").get_jobs()
    assert len(jobs) == 1
    assert jobs[0].args == [support.items()[0]["id"]] or jobs[0].args == (support.items()[0]["id"],)


def test_rolled_back_transaction_enqueues_nothing(base_env: dict[str, str]) -> None:
    from gateway.queue import enqueue_after_commit

    with pytest.raises(RuntimeError), unit_of_work() as session:
        enqueue_after_commit(session, "intake", "workers.intake.process_item", 1, job_id="x")
        raise RuntimeError("boom")
    assert get_queue("intake").count == 0


def test_job_twice_processes_once(client: SignedClient) -> None:
    client.post("/twilio/sms", sms_form("hello from Kabul"))
    from workers.intake import process_item

    item_id = support.items()[0]["id"]
    assert process_item(item_id) == "queued"
    assert process_item(item_id) == "skipped"
    support.run_jobs()  # the queued job finds it handled
    assert support.items()[0]["status"] == "queued"


def test_sweeper_reenqueues_items_whose_job_was_lost(client: SignedClient) -> None:
    from gateway.queue import background_sender

    client.post("/twilio/sms", sms_form("hello from Kabul"))
    assert background_sender.flush(10)  # PostgreSQL: sent by a thread just after the answer
    get_queue("intake").empty()  # Redis lost the job (restart without persistence)
    from gateway import maintenance
    from gateway.settings import get_settings

    moved, requeued = maintenance.run_once(get_settings())
    assert requeued == 1
    # A second pass does not pile the same job up again while it still waits.
    assert maintenance.run_once(get_settings())[1] == 0
    support.run_jobs()
    assert support.items()[0]["status"] == "queued"


def test_a_failing_spool_replay_does_not_stop_the_rest_of_the_pass(
        client: SignedClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # Any fault in one step (here the replay) used to end the whole pass, every pass:
    # stuck items were never re-sent and scheduled bulletins never went out.
    from gateway import maintenance
    from gateway.intake import service
    from gateway.queue import background_sender
    from gateway.settings import get_settings

    client.post("/twilio/sms", sms_form("hello from Kabul"))
    assert background_sender.flush(10)
    get_queue("intake").empty()  # its job lost: only the stuck-item step can save it

    def broken_replay(*_: object) -> int:
        raise ValueError("a spool file the replay cannot handle")

    monkeypatch.setattr(service, "replay_spool", broken_replay)
    with pytest.raises(maintenance.PassIncomplete) as failed:
        maintenance.run_once(get_settings())
    assert [name for name, _ in failed.value.errors] == ["spool replay"]
    support.run_jobs()  # the stuck-item step ran anyway
    assert support.items()[0]["status"] == "queued"


def test_redis_down_still_commits_and_answers_200(client: SignedClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.settings import reset_settings_cache

    # A real refused connection: nothing listens on the discard port.
    monkeypatch.setenv("AMIP_REDIS_URL", "redis://127.0.0.1:9/0")
    reset_settings_cache()
    r = client.post("/twilio/sms", sms_form("hello from Kabul"))
    assert r.status_code == 200
    assert support.items()[0]["status"] == "received"
    monkeypatch.undo()
    reset_settings_cache()
    from gateway import maintenance
    from gateway.settings import get_settings

    assert maintenance.run_once(get_settings())[1] == 1
    support.run_jobs()
    assert support.items()[0]["status"] == "queued"


def test_status_only_moves_forward(client: SignedClient) -> None:
    from gateway.intake.states import IllegalTransition, ItemStatus, check_transition

    with pytest.raises(IllegalTransition):
        check_transition("queued", ItemStatus.RECEIVED)
    client.post("/twilio/sms", sms_form("hello"))
    support.run_jobs()
    with unit_of_work() as session:
        session.execute(update(Item).values(status="triaged"))
    from workers.intake import process_item

    assert process_item(support.items()[0]["id"]) == "skipped"
    with unit_of_work() as session:
        assert session.execute(select(Item.status)).scalar_one() == "triaged"
