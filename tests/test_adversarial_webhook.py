"""POST /twilio/sms under attack and under careless use: what a caller or operator sees.

Each test sends what an attacker, a broken proxy or Twilio itself could send and asserts
the answer (status, reason) and what ended up stored. Raw-socket tests run a real uvicorn
server in a thread, because Content-Length lies and chunked bodies never reach the app
through the test client.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from sqlalchemy import func, select
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from gateway.contacts.models import Contact
from gateway.db import unit_of_work
from gateway.intake.models import Item
from tests import support
from tests.support import PUBLIC_BASE, SignedClient, signature, sms_form

URL = PUBLIC_BASE + "/twilio/sms"
FORM_TYPE = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture()
def lenient(base_env: dict[str, str]) -> Iterator[SignedClient]:
    """A client that shows a 500 as a 500 (as Twilio would see it) instead of raising."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app

    with TestClient(create_app(background=False), raise_server_exceptions=False) as http:
        yield SignedClient(http)


def count(model: Any) -> int:
    with unit_of_work() as session:
        return session.execute(select(func.count(model.id))).scalar_one()


def post_raw(client: SignedClient, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post("/twilio/sms", content=body, headers={**FORM_TYPE, **headers})


def replace_field(form: list[tuple[str, str]], name: str, value: str) -> list[tuple[str, str]]:
    return [(k, value if k == name else v) for k, v in form]


# --- signatures --------------------------------------------------------------------------

@pytest.mark.parametrize("bad", ["ÿÿÿÿ", "é" + signature(URL, sms_form())[1:], "\x80"])
def test_non_ascii_signature_is_403_not_500(lenient: SignedClient, bad: str) -> None:
    # Header bytes arrive as latin-1; an unauthenticated caller must get the plain 403.
    form = sms_form("hello")
    r = post_raw(lenient, urlencode(form).encode(),
                 {"x-twilio-signature": bad.encode("latin-1")})  # type: ignore[dict-item]
    assert r.status_code == 403
    assert r.json() == {"error": "invalid provider signature"}
    assert count(Item) == 0


def test_missing_signature_header_is_403(client: SignedClient) -> None:
    r = client.post("/twilio/sms", sms_form("no signature"), sign=False)
    assert r.status_code == 403
    assert count(Item) == 0


SHARED_KEY_ID = "webhooks_sharedkey_01JAMIPTEST0000000000000000"
SHARED_SECRET = "c2hhcmVkLWtleS1zZWNyZXQtZm9yLXRlc3Rz=="  # base64, "=" padding included


@pytest.fixture()
def shared_key_client(base_env: dict[str, str], monkeypatch: pytest.MonkeyPatch,
                      ) -> Iterator[SignedClient]:
    """A gateway that knows two SharedKeys (one being rotated out) besides the Auth Token."""
    from fastapi.testclient import TestClient

    from gateway.app import create_app
    from gateway.settings import Settings

    monkeypatch.setenv("AMIP_TWILIO_SHARED_KEYS",
                       f"webhooks_sharedkey_OLD=old-secret, {SHARED_KEY_ID}={SHARED_SECRET}")
    with TestClient(create_app(Settings(), background=False)) as http:
        yield SignedClient(http)


def shared_key_post(client: SignedClient, form: list[tuple[str, str]], *, secret: str,
                    header: str, algorithm: str = "HMAC_SHA256") -> Any:
    sig = RequestValidator(secret).compute_signature(URL, ImmutableMultiDict(form), algorithm)
    return client.post("/twilio/sms", form, sign=False, headers={
        "x-twilio-signature": sig, "x-twilio-webhooks-signature-settings": header})


@pytest.mark.parametrize("settings_header", [
    "algorithm=HMAC_SHA256", "key=webhooks_sharedkey_x,algorithm=HMAC_SHA256",
    "algorithm=MD5", "algorithm=", "garbage",
])
def test_an_auth_token_signature_under_a_signature_settings_header_is_refused(
        client: SignedClient, settings_header: str) -> None:
    # The header says a SharedKey signed the request, so the Auth Token must not validate
    # it, whatever algorithm the header names (or fails to name).
    r = client.post("/twilio/sms", sms_form("sha"),
                    headers={"x-twilio-webhooks-signature-settings": settings_header})
    assert r.status_code == 403
    assert count(Item) == 0


@pytest.mark.parametrize("algorithm", ["HMAC_SHA256", "HMAC_SHA1"])
def test_a_shared_key_signature_is_accepted(shared_key_client: SignedClient,
                                            algorithm: str) -> None:
    form = sms_form("signed with a shared key")
    r = shared_key_post(shared_key_client, form, secret=SHARED_SECRET, algorithm=algorithm,
                        header=f"key={SHARED_KEY_ID},algorithm={algorithm}")
    assert r.status_code == 200
    assert count(Item) == 1


def test_both_keys_of_a_rotation_are_accepted_and_the_auth_token_still_is(
        shared_key_client: SignedClient) -> None:
    old = shared_key_post(shared_key_client, sms_form("old key"), secret="old-secret",
                          header="key=webhooks_sharedkey_OLD,algorithm=HMAC_SHA256")
    new = shared_key_post(shared_key_client, sms_form("new key"), secret=SHARED_SECRET,
                          header=f"algorithm=HMAC_SHA256, key={SHARED_KEY_ID}")
    token = shared_key_client.post("/twilio/sms", sms_form("no webhook rule"))
    assert (old.status_code, new.status_code, token.status_code) == (200, 200, 200)
    assert count(Item) == 3


@pytest.mark.parametrize("case", ["other key's secret", "unknown key", "no key named",
                                  "header stripped", "auth token", "MD5"])
def test_a_shared_key_signature_that_does_not_match_is_refused(
        shared_key_client: SignedClient, case: str) -> None:
    form = sms_form("tampered")
    secret, header = {
        "other key's secret": ("old-secret", f"key={SHARED_KEY_ID},algorithm=HMAC_SHA256"),
        "unknown key": (SHARED_SECRET, "key=webhooks_sharedkey_NEW,algorithm=HMAC_SHA256"),
        "no key named": (SHARED_SECRET, "algorithm=HMAC_SHA256"),
        "header stripped": (SHARED_SECRET, ""),
        "auth token": (support.AUTH_TOKEN, f"key={SHARED_KEY_ID},algorithm=HMAC_SHA256"),
        "MD5": (SHARED_SECRET, f"key={SHARED_KEY_ID},algorithm=MD5"),
    }[case]
    sig = RequestValidator(secret).compute_signature(URL, ImmutableMultiDict(form),
                                                     "HMAC_SHA256")
    r = shared_key_client.post("/twilio/sms", form, sign=False, headers={
        "x-twilio-signature": sig, "x-twilio-webhooks-signature-settings": header})
    assert r.status_code == 403
    assert count(Item) == 0


def test_a_key_the_gateway_lacks_is_logged_by_its_id(shared_key_client: SignedClient,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    # Every webhook under a Rule switched to a key not yet configured is refused: the
    # operator must be able to see which key to add, and nothing else.
    form = sms_form("rule switched too early")
    with caplog.at_level("WARNING", logger="gateway.channels.twilio"):
        r = shared_key_post(shared_key_client, form, secret="brand-new-secret",
                            header="key=webhooks_sharedkey_NEW,algorithm=HMAC_SHA256")
    assert r.status_code == 403
    [record] = [rec for rec in caplog.records if rec.name == "gateway.channels.twilio"]
    assert "AMIP_TWILIO_SHARED_KEYS" in record.getMessage()
    assert record.__dict__["shared_key_id"] == "webhooks_sharedkey_NEW"
    assert "brand-new-secret" not in caplog.text and "+93" not in caplog.text


@pytest.mark.parametrize("value", ["webhooks_sharedkey_A", "=hunter2", "key=changeme",
                                   "webhooks_sharedkey_A=s3cret,webhooks_sharedkey_B="])
def test_unusable_shared_keys_stop_the_gateway_without_echoing_them(
        base_env: dict[str, str], value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway.app import create_app
    from gateway.settings import ConfigError, Settings

    monkeypatch.setenv("AMIP_TWILIO_SHARED_KEYS", value)
    with pytest.raises(ConfigError) as refused:
        create_app(Settings(), background=False)
    message = str(refused.value)
    assert "AMIP_TWILIO_SHARED_KEYS" in message
    assert not any(word in message for word in ("hunter2", "changeme", "s3cret"))


# --- malformed bodies ---------------------------------------------------------------------

def test_malformed_percent_encoding_is_stored_as_sent(client: SignedClient) -> None:
    # "%ZZ" and a dangling "%4" are not escapes; Twilio's parser and ours keep them literally.
    body = urlencode(sms_form("x")).replace("Body=x", "Body=%ZZ+100%25+%4").encode()
    form = parse_qsl(body.decode(), keep_blank_values=True)
    r = post_raw(client, body, {"x-twilio-signature": signature(URL, form)})
    assert r.status_code == 200
    assert support.items()[0]["text"] == "%ZZ 100% %4"


@pytest.mark.parametrize("body_value", [b"%FF%FE", b"\xff\xfe", b"%ED%A0%80", b"%C0%AF"])
def test_invalid_utf8_is_400_with_reason(client: SignedClient, body_value: bytes) -> None:
    form = sms_form("x")
    body = urlencode(form).encode().replace(b"Body=x", b"Body=" + body_value)
    r = post_raw(client, body, {"x-twilio-signature": signature(URL, form)})
    assert r.status_code == 400
    assert r.json()["error"] == "unreadable form body (UnicodeDecodeError)"
    assert count(Item) == 0 and count(Contact) == 0


def test_a_flood_of_fields_is_400_and_a_real_mms_form_is_not(client: SignedClient) -> None:
    flood = sms_form("flood") + [(f"X{i}", "v") for i in range(400)]
    r = client.post("/twilio/sms", flood)
    assert r.status_code == 400 and "unreadable form body" in r.json()["error"]
    # An MMS with Twilio's maximum of 10 media carries ~40 fields: accepted.
    media = [(f"MediaUrl{i}", f"https://api.twilio.com/m/{i}") for i in range(10)]
    media += [(f"MediaContentType{i}", "image/jpeg") for i in range(10)]
    mms = replace_field(sms_form("photo"), "NumMedia", "10") + media
    assert client.post("/twilio/sms", mms).status_code == 200
    assert count(Item) == 1


@pytest.mark.parametrize("body", ["ب" * 1600, "🙏" * 1600, "a" * 1600])
def test_body_of_exactly_1600_characters_is_stored_byte_exact(client: SignedClient,
                                                               body: str) -> None:
    assert client.post("/twilio/sms", sms_form(body)).status_code == 200
    assert support.items()[0]["text"] == body


def test_body_of_1601_characters_is_400_and_nothing_is_written(client: SignedClient) -> None:
    r = client.post("/twilio/sms", sms_form("ب" * 1601))
    assert r.status_code == 400
    assert r.json() == {"error": "Body longer than 1600 characters"}
    assert count(Item) == 0 and count(Contact) == 0


def test_empty_body(client: SignedClient) -> None:
    assert post_raw(client, b"", {}).status_code == 403  # unsigned
    signed_empty = post_raw(client, b"", {"x-twilio-signature": signature(URL, [])})
    assert signed_empty.status_code == 400
    assert signed_empty.json() == {"error": "missing required field MessageSid"}


@pytest.mark.parametrize("value", ["²", "٣", "1²", "１０", "-1", "1.0", " 1", "1e3"])
def test_non_ascii_or_odd_digits_in_number_fields_are_400(lenient: SignedClient,
                                                          value: str) -> None:
    # str.isdigit() is true for "²" but int("²") raises: that must be a 400, not a 500.
    for field in ("NumSegments", "NumMedia"):
        r = lenient.post("/twilio/sms", replace_field(sms_form("count me"), field, value))
        assert r.status_code == 400, (field, value)
        assert r.json() == {"error": f"malformed {field}"}
    assert count(Item) == 0


# --- senders ------------------------------------------------------------------------------

@pytest.mark.parametrize("sender", ["", "   ", "\t"])
def test_sender_empty_after_strip_is_400(client: SignedClient, sender: str) -> None:
    r = client.post("/twilio/sms", sms_form("who am i", sender=sender))
    assert r.status_code == 400
    assert r.json() == {"error": "missing required field From"}
    assert count(Contact) == 0


@pytest.mark.parametrize("sender", ["12345", "AMIP-INFO", "+", "+1 415 555 0100",
                                    "+44 20 7946 0958", "00447911123456", "0" * 300])
def test_odd_senders_are_stored_once_and_never_in_clear(client: SignedClient,
                                                        sender: str) -> None:
    for _ in range(2):  # a second message from the same sender is the same contact
        assert client.post("/twilio/sms", sms_form("odd sender", sender=sender)).status_code == 200
    assert count(Item) == 2 and count(Contact) == 1
    with unit_of_work() as session:
        encrypted = session.execute(select(Contact.phone_encrypted)).scalar_one()
    digits = "".join(ch for ch in sender if ch.isdigit())
    if digits:
        assert digits.encode() not in encrypted


def test_repeated_message_sid_with_a_different_body_keeps_the_first(client: SignedClient) -> None:
    sid = support.message_sid()
    first = client.post("/twilio/sms", sms_form("the real message", sid=sid))
    forged = client.post("/twilio/sms", sms_form("a different text", sid=sid))
    assert first.status_code == forged.status_code == 200
    assert [i["text"] for i in support.items()] == ["the real message"]


# --- a real server ------------------------------------------------------------------------

@pytest.fixture()
def server(base_env: dict[str, str]) -> Iterator[int]:
    """The app under a real uvicorn on a loopback port, in a thread."""
    import uvicorn

    from gateway.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(background=False), log_config=None, access_log=False)
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    started = threading.Event()
    while not srv.started and thread.is_alive():
        started.wait(0.01)
    yield port
    srv.should_exit = True
    thread.join(10)


def exchange(port: int, request: bytes, *, half_close: bool = False) -> bytes:
    """Send raw bytes, read the whole answer (the server closes: Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        if half_close:
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass  # an early 413 may reset the rest of a large upload; the status came first
    return answer


def http_request(body: bytes, headers: dict[str, str]) -> bytes:
    lines = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    head = ("POST /twilio/sms HTTP/1.1\r\nHost: amip.example.org\r\nConnection: close\r\n"
            f"{lines}\r\n")
    return head.encode() + body


def signed_headers(form: list[tuple[str, str]]) -> dict[str, str]:
    return {**FORM_TYPE, "x-twilio-signature": signature(URL, form)}


def test_content_length_shorter_than_the_body_is_refused(server: int) -> None:
    # The server reads what was declared: a truncated form no longer matches its signature.
    form = sms_form("content length lie")
    body = urlencode(form).encode()
    answer = exchange(server, http_request(body, {**signed_headers(form),
                                                  "content-length": str(len(body) - 10)}))
    assert answer.startswith(b"HTTP/1.1 403")
    assert count(Item) == 0


@pytest.mark.parametrize("declared", ["-1", "²", "1e3", "0x10"])
def test_content_length_that_is_not_a_number_is_400(server: int, declared: str) -> None:
    form = sms_form("odd length")
    body = urlencode(form).encode()
    answer = exchange(server, http_request(body, {**signed_headers(form),
                                                  "content-length": declared}))
    assert answer.startswith(b"HTTP/1.1 400")
    assert count(Item) == 0


def test_content_length_over_the_limit_is_413_before_reading(server: int) -> None:
    form = sms_form("huge claim")
    answer = exchange(server, http_request(b"", {**signed_headers(form),
                                                 "content-length": "999999999"}))
    assert answer.startswith(b"HTTP/1.1 413")


def test_chunked_body_over_the_limit_is_413(server: int) -> None:
    big = b"Body=" + b"x" * 70_000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                      for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
    answer = exchange(server, http_request(chunks, {**FORM_TYPE,
                                                    "transfer-encoding": "chunked"}))
    assert answer.startswith(b"HTTP/1.1 413")
    assert count(Item) == 0


def test_chunked_body_within_the_limit_is_stored(server: int) -> None:
    form = sms_form("sent in chunks")
    body = urlencode(form).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 50]), body[i:i + 50])
                      for i in range(0, len(body), 50)) + b"0\r\n\r\n"
    answer = exchange(server, http_request(chunks, {**signed_headers(form),
                                                    "transfer-encoding": "chunked"}))
    assert answer.startswith(b"HTTP/1.1 200")
    assert [i["text"] for i in support.items()] == ["sent in chunks"]


def test_twenty_identical_concurrent_posts_store_one_message(server: int) -> None:
    form = sms_form("twenty at once from Herat")
    body, headers = urlencode(form), signed_headers(form)
    barrier = threading.Barrier(20)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post() -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            r = http.post(f"http://127.0.0.1:{server}/twilio/sms", content=body, headers=headers)
        with lock:
            answers.append((r.status_code, r.text))

    threads = [threading.Thread(target=post) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [code for code, _ in answers] == [200] * 20
    assert len({text for _, text in answers}) == 1  # the same TwiML every time
    assert count(Item) == 1 and count(Contact) == 1
    from gateway.queue import background_sender, get_queue

    assert background_sender.flush(10)  # PostgreSQL: jobs are sent just after the answer
    assert get_queue("intake").count == 1  # one job, not twenty
    support.run_jobs()
    assert support.items()[0]["status"] == "queued"


def test_first_messages_racing_from_one_new_number_make_one_contact(server: int) -> None:
    # Twenty different messages from a number never seen before, in its four written forms,
    # all at once: on PostgreSQL each is one statement that inserts the contact if missing,
    # so all but one lose that race and must still store their message under the winner.
    forms = [sms_form(f"first words {i}", sender=("0701239999", "+93701239999", "93701239999",
                                                   "+93 70 123 9999")[i % 4]) for i in range(20)]
    barrier = threading.Barrier(20)
    codes: list[int] = []
    lock = threading.Lock()

    def post(form: list[tuple[str, str]]) -> None:
        with httpx.Client(timeout=30) as http:
            barrier.wait()
            r = http.post(f"http://127.0.0.1:{server}/twilio/sms", content=urlencode(form),
                          headers=signed_headers(form))
        with lock:
            codes.append(r.status_code)

    threads = [threading.Thread(target=post, args=(form,)) for form in forms]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [200] * 20
    assert count(Item) == 20 and count(Contact) == 1
    from gateway.settings import get_settings

    assert not list(get_settings().spool_dir.glob("*.spool"))  # stored, not merely spooled


def test_caller_hanging_up_mid_body_is_not_logged_as_a_crash(
        server: int, caplog: pytest.LogCaptureFixture) -> None:
    # Content-Length promises more than arrives, then the caller gives up (Twilio's own
    # 15 s timeout does this): nothing stored, and no "Exception in ASGI application"
    # traceback sending an operator after a bug that is not there.
    form = sms_form("hung up halfway")
    body = urlencode(form).encode()
    partial = http_request(body[:40], {**signed_headers(form),
                                       "content-length": str(len(body))})
    with caplog.at_level("INFO"):
        exchange(server, partial, half_close=True)
        after = exchange(server, http_request(body, {**signed_headers(form),
                                                     "content-length": str(len(body))}))
    assert after.startswith(b"HTTP/1.1 200")
    assert [i["text"] for i in support.items()] == ["hung up halfway"]
    crashes = [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    assert crashes == []
