"""POST /twilio/sms: signatures, durability, idempotency, bad input (issue 2)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from gateway.db import unit_of_work
from gateway.intake.models import Item
from tests import support
from tests.support import PUBLIC_BASE, SignedClient, sms_form


def count_items() -> int:
    with unit_of_work() as session:
        return session.execute(select(func.count(Item.id))).scalar_one()


def test_signed_sms_is_stored_and_acknowledged_in_its_language(client: SignedClient) -> None:
    r = client.post("/twilio/sms", sms_form("سلام، ما در هرات به مکتب نیاز داریم"))
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/xml")
    assert "<Message>تشکر." in r.text  # Dari acknowledgement
    assert count_items() == 1


def test_pashto_sender_gets_pashto_ack(client: SignedClient) -> None:
    r = client.post("/twilio/sms", sms_form("زه د کندهار یم، موږ سوله غواړو"))
    assert "<Message>مننه." in r.text


def test_ack_can_be_switched_off(client: SignedClient, monkeypatch: pytest.MonkeyPatch) -> None:
    client.http.app.state.settings.sms_ack = False
    try:
        r = client.post("/twilio/sms", sms_form("hello"))
    finally:
        client.http.app.state.settings.sms_ack = True
    assert r.status_code == 200
    assert "<Message>" not in r.text and "<Response" in r.text


def test_same_message_sid_five_times_is_one_message(client: SignedClient) -> None:
    form = sms_form("we want peace in Kunduz")
    responses = [client.post("/twilio/sms", form) for _ in range(5)]
    assert [r.status_code for r in responses] == [200] * 5
    assert len({r.text for r in responses}) == 1
    assert count_items() == 1


def test_two_concurrent_identical_posts_store_one_message(client: SignedClient) -> None:
    form = sms_form("two at once")
    barrier = threading.Barrier(2)
    codes: list[int] = []

    def post() -> None:
        barrier.wait()
        codes.append(client.post("/twilio/sms", form).status_code)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200, 200]
    assert count_items() == 1


@pytest.mark.parametrize("body", [
    "Привет, мы из Кабула",  # Cyrillic
    "سلام\u200f دنیا",  # RTL mark inside
    "🙏🙏 peace 🕊️",
    "د سولې لپاره ✌ ۱۲۳",
])
def test_any_script_is_stored_byte_exact(client: SignedClient, body: str) -> None:
    r = client.post("/twilio/sms", sms_form(body))
    assert r.status_code == 200
    with unit_of_work() as session:
        stored = session.execute(select(Item.raw_text)).scalar_one()
    assert stored.encode("utf-8") == body.encode("utf-8")


def test_local_and_international_forms_are_one_contact(client: SignedClient) -> None:
    for number in ("0701234567", "+93701234567", "93701234567", "+93 70 123 4567"):
        assert client.post("/twilio/sms", sms_form("salam", sender=number)).status_code == 200
    with unit_of_work() as session:
        contacts = session.execute(select(func.count(func.distinct(Item.contact_id)))).scalar_one()
    assert contacts == 1


def test_no_phone_number_in_clear_in_the_database(client: SignedClient) -> None:
    client.post("/twilio/sms", sms_form("salam", sender="+93701234567"))
    from gateway.contacts.models import Contact

    with unit_of_work() as session:
        contact = session.execute(select(Contact)).scalar_one()
        item = session.execute(select(Item)).scalar_one()
    row_text = repr(vars(contact)) + repr(vars(item))
    assert "701234567" not in row_text
    assert b"701234567" not in contact.phone_encrypted


# --- signatures -------------------------------------------------------------------------

def _post_raw(client: SignedClient, path: str, form: list[tuple[str, str]], signature: str,
              headers: dict[str, str] | None = None) -> int:
    h = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    h.update(headers or {})
    return int(client.http.post(path, content=urlencode(form), headers=h).status_code)


@pytest.mark.parametrize("public_base, path", [
    ("https://amip.example.org:443", "/twilio/sms"),
    ("https://amip.example.org", "/twilio/sms?a=1+2&b=%27x%27&z=9&c=3"),
])
def test_signature_variants_are_accepted(client: SignedClient, public_base: str,
                                         path: str) -> None:
    form = sms_form("hello")
    sig = support.signature(public_base + path, form)
    assert _post_raw(client, path, form, sig) == 200


def test_non_default_port_in_public_url(base_env: dict[str, str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import Settings

    settings = Settings(public_base_url="https://amip.example.org:8443")
    app = create_app(settings, background=False)
    with TestClient(app) as http:
        form = sms_form("hello")
        sig = support.signature("https://amip.example.org:8443/twilio/sms", form)
        r = http.post("/twilio/sms", content=urlencode(form), headers={
            "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": sig})
        assert r.status_code == 200
        bad = support.signature("https://amip.example.org/twilio/sms", form)
        r = http.post("/twilio/sms", content=urlencode(form), headers={
            "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": bad})
        assert r.status_code == 403


def test_behind_tls_terminating_proxy_forwarded_headers_are_ignored(client: SignedClient) -> None:
    # The app sees http://127.0.0.1; Twilio signed the public https URL.
    form = sms_form("hello")
    sig = support.signature(PUBLIC_BASE + "/twilio/sms", form)
    assert _post_raw(client, "/twilio/sms", form, sig, headers={
        "x-forwarded-proto": "http", "x-forwarded-host": "evil.example", "host": "127.0.0.1",
    }) == 200
    # Signed for the forwarded (attacker-chosen) URL instead: refused.
    evil = support.signature("http://evil.example/twilio/sms", form)
    assert _post_raw(client, "/twilio/sms", form, evil, headers={
        "x-forwarded-proto": "http", "x-forwarded-host": "evil.example"}) == 403


def test_repeated_keys_are_signed(client: SignedClient) -> None:
    form = [*sms_form("hello"), ("MediaUrl0", "https://a.example/1"),
            ("MediaUrl0", "https://a.example/2")]
    assert client.post("/twilio/sms", form).status_code == 200
    # Dropping one of the repeated values breaks the signature.
    sig = support.signature(PUBLIC_BASE + "/twilio/sms", form)
    assert _post_raw(client, "/twilio/sms", form[:-1], sig) == 403


@pytest.fixture()
def forwarded(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SignedClient]:
    """A gateway told to trust X-Forwarded-Proto/Host (AMIP_TRUST_FORWARDED_HEADERS)."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    monkeypatch.setenv("AMIP_TRUST_FORWARDED_HEADERS", "true")
    support.reset_caches()
    with TestClient(create_app(background=False), raise_server_exceptions=False) as http:
        yield SignedClient(http)


@pytest.mark.parametrize("host", ["amip.example.org", "amip.example.org:443"])
def test_trusted_forwarded_headers_rebuild_the_signed_url(forwarded: SignedClient,
                                                          host: str) -> None:
    r = forwarded.post("/twilio/sms", sms_form("via the proxy"), headers={
        "x-forwarded-proto": "https", "x-forwarded-host": host, "host": "127.0.0.1:8000"})
    assert r.status_code == 200
    assert [i["text"] for i in support.items()] == ["via the proxy"]


@pytest.mark.parametrize("host", ["amip.example.org:abc", "amip.example.org:99999",
                                  "amip.example.org:-1", "[::1", "[::1]:x"])
def test_a_forwarded_host_no_url_can_have_is_403_not_500(forwarded: SignedClient,
                                                          host: str) -> None:
    # Anyone can send these headers; a port that is not a port used to crash the route.
    for headers in ({"x-forwarded-proto": "https", "x-forwarded-host": host},
                    {"x-forwarded-proto": "https", "host": host}):
        r = forwarded.post("/twilio/sms", sms_form("odd host"), headers=headers)
        assert r.status_code == 403, r.text
    assert support.items() == []


@pytest.mark.parametrize("tamper", ["url", "param", "added_param", "token", "missing"])
def test_any_change_is_refused(client: SignedClient, tamper: str) -> None:
    form = sms_form("hello")
    url = PUBLIC_BASE + "/twilio/sms"
    sig = support.signature(url, form)
    path = "/twilio/sms"
    if tamper == "url":
        path = "/twilio/sms?x=1"
    elif tamper == "param":
        form = [(k, "goodbye" if k == "Body" else v) for k, v in form]
    elif tamper == "added_param":
        form = [*form, ("Extra", "1")]
    elif tamper == "token":
        sig = support.signature(url, form, token="0" * 32)
    elif tamper == "missing":
        sig = ""
    assert _post_raw(client, path, form, sig) == 403
    assert count_items() == 0


def test_no_auth_token_refuses_to_start(base_env: dict[str, str]) -> None:
    from gateway.app import create_app
    from gateway.settings import ConfigError, Settings

    with pytest.raises(ConfigError, match="AMIP_TWILIO_AUTH_TOKEN"):
        create_app(Settings(twilio_auth_token=None), background=False)
    with pytest.raises(ConfigError, match="AMIP_TWILIO_AUTH_TOKEN"):
        create_app(Settings(twilio_auth_token="changeme"), background=False)
    Settings(twilio_auth_token=None, demo=True).check_secrets()  # the embedded demo only


# --- bad input --------------------------------------------------------------------------

@pytest.mark.parametrize("drop, reason", [
    ("MessageSid", "MessageSid"), ("From", "From"), ("AccountSid", "AccountSid"), ("To", "To"),
])
def test_missing_required_field_is_400_with_reason(client: SignedClient, drop: str,
                                                   reason: str) -> None:
    form = [(k, v) for k, v in sms_form("hello") if k != drop]
    r = client.post("/twilio/sms", form)
    assert r.status_code == 400
    assert reason in r.json()["error"]
    assert count_items() == 0


@pytest.mark.parametrize("field, value", [
    ("MessageSid", "SM123"), ("NumSegments", "two"), ("AccountSid", "ACnothex"),
])
def test_malformed_field_is_400(client: SignedClient, field: str, value: str) -> None:
    form = [(k, value if k == field else v) for k, v in sms_form("hello")]
    r = client.post("/twilio/sms", form)
    assert r.status_code == 400
    assert field in r.json()["error"]
    assert count_items() == 0


def test_nul_in_body_is_400_not_500(client: SignedClient) -> None:
    r = client.post("/twilio/sms", sms_form("a\u0000b"))
    assert r.status_code == 400 and "NUL" in r.json()["error"]


def test_database_errors_do_not_carry_message_text(base_env: dict[str, str]) -> None:
    from sqlalchemy import text as sql

    from gateway.db import unit_of_work

    with pytest.raises(Exception) as info, unit_of_work() as session:
        session.execute(sql("SELECT * FROM no_such_table WHERE x = :secret"),
                        {"secret": "my private words"})
    assert "my private words" not in str(info.value)


def test_oversized_body_is_413(client: SignedClient) -> None:
    form = sms_form("x" * 70_000)
    r = client.post("/twilio/sms", form)
    assert r.status_code == 413
    assert count_items() == 0


def test_wrong_content_type_is_415(client: SignedClient) -> None:
    r = client.http.post("/twilio/sms", json={"Body": "x"})
    assert r.status_code == 415


def test_errors_never_echo_the_number_or_text(client: SignedClient) -> None:
    form = [(k, "SMbad" if k == "MessageSid" else v)
            for k, v in sms_form("secret words", sender="+93701234567")]
    r = client.post("/twilio/sms", form)
    assert "701234567" not in r.text and "secret" not in r.text
