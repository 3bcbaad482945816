"""A loopback Twilio REST server speaking Twilio's own protocol (for tests, demo, benchmarks).

The real ``twilio`` library talks to it unchanged (``AMIP_TWILIO_API_BASE``): Messages
create, fetch and list under ``/2010-04-01/Accounts/{AccountSid}/``, HTTP basic auth,
Twilio's JSON error bodies, and status callbacks to each message's ``StatusCallback`` URL,
signed with ``X-Twilio-Signature`` like Twilio's. Latency and errors are configurable:
429 (too many requests), 21610 (unsubscribed recipient), 21211 (invalid To), 30003
(accepted, then undelivered: unreachable handset) and ``timeout`` (accepted and stored,
but the response comes only after the client has given up).

``GET /_received`` lists what was accepted (to, body, segments, time); ``POST /_control``
changes latency and error rules of a running server (``amip fake-twilio``).
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import random
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

from gateway.outbound.segments import count

CallbackSink = Callable[[str, list[tuple[str, str]], str], None]
TIMEOUT = "timeout"
_ERRORS: dict[int, tuple[int, str]] = {
    429: (429, "Too Many Requests"),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21211: (400, "The 'To' number is not a valid phone number."),
}


@dataclass
class ErrorRule:
    code: int | str  # 429, 21610, 21211, 30003 or "timeout"
    to: str | None = None  # only for this recipient
    times: int | None = None  # this many times, then no more (None: always)
    probability: float = 1.0

    def matches(self, to: str, rng: random.Random) -> bool:
        if (self.to and self.to != to) or self.times == 0:
            return False
        if self.probability < 1.0 and rng.random() >= self.probability:
            return False
        if self.times is not None:
            self.times -= 1
        return True


class FakeTwilio:
    """The server; ``start()`` runs it on a loopback port in background threads."""

    def __init__(self, account_sid: str, auth_token: str, *, host: str = "127.0.0.1",
                 port: int = 0, latency: float = 0.0, callbacks: bool = True,
                 callback_delay: float = 0.05, callback_sink: CallbackSink | None = None,
                 callback_rewrite: tuple[str, str] | None = None,
                 hang_seconds: float = 30.0, seed: int = 0) -> None:
        self.account_sid, self.auth_token = account_sid, auth_token
        self.latency, self.callbacks, self.callback_delay = latency, callbacks, callback_delay
        self.callback_sink, self.callback_rewrite = callback_sink, callback_rewrite
        self.hang_seconds = hang_seconds
        self.rules: list[ErrorRule] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.requests = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._validator = RequestValidator(auth_token)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="fake-twilio-cb")
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeTwilio:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="fake-twilio")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def add_error(self, code: int | str, *, to: str | None = None, times: int | None = None,
                  probability: float = 1.0) -> None:
        with self._lock:
            self.rules.append(ErrorRule(code, to, times, probability))

    def received_by(self) -> dict[str, int]:
        """How many messages each recipient was sent."""
        counts: dict[str, int] = {}
        with self._lock:
            for r in self.received:
                counts[r["to"]] = counts.get(r["to"], 0) + 1
        return counts

    # --- protocol ---------------------------------------------------------------------

    def authorised(self, header: str | None) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(header or "", f"Basic {expected}")

    def create(self, form: dict[str, str]) -> tuple[int, dict[str, Any], float]:
        """(HTTP status, JSON body, seconds to hold the response back)."""
        if self.latency:
            time.sleep(self.latency)
        to, body = form.get("To", ""), form.get("Body", "")
        sender = form.get("From") or form.get("MessagingServiceSid", "")
        if not to or not sender or not body:
            return 400, _error(21604 if not to else 21602, "A required parameter is missing"), 0
        with self._lock:
            self.requests += 1
            rule = next((r for r in self.rules if r.matches(to, self._rng)), None)
        if rule is not None and rule.code in _ERRORS:
            status, message = _ERRORS[int(rule.code)]
            return status, _error(int(rule.code), message), 0
        accepted = self._accept(to, sender, body, form.get("StatusCallback"),
                               undelivered=30003 if rule and rule.code == 30003 else None)
        hold = self.hang_seconds if rule is not None and rule.code == TIMEOUT else 0.0
        return 201, accepted, hold

    def _accept(self, to: str, sender: str, body: str, callback: str | None,
                undelivered: int | None) -> dict[str, Any]:
        now = datetime.now(UTC)
        sid = "SM" + secrets.token_hex(16)
        segments = count(body).segments
        message = {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender,
            "body": body, "status": "queued", "num_segments": str(segments),
            "num_media": "0", "direction": "outbound-api", "api_version": "2010-04-01",
            "date_created": format_datetime(now), "date_updated": format_datetime(now),
            "date_sent": None, "error_code": None, "error_message": None, "price": None,
            "price_unit": "USD", "messaging_service_sid": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{self.account_sid}"
                                          f"/Messages/{sid}/Media.json"},
        }
        with self._lock:
            self.messages[sid] = message
            self.received.append({"sid": sid, "to": to, "body": body, "segments": segments,
                                  "time": now.isoformat()})
        if callback and self.callbacks:
            self._pool.submit(self._lifecycle, sid, callback, undelivered)
        return dict(message)

    def _lifecycle(self, sid: str, url: str, undelivered: int | None) -> None:
        final = ("undelivered", undelivered) if undelivered else ("delivered", None)
        for status, error in (("sent", None), final):
            time.sleep(self.callback_delay)
            with self._lock:
                message = self.messages[sid]
                message["status"], message["error_code"] = status, error
                message["date_updated"] = format_datetime(datetime.now(UTC))
                if status == "sent":
                    message["date_sent"] = message["date_updated"]
                snapshot = dict(message)
            self.send_callback(url, snapshot)

    def send_callback(self, url: str, message: dict[str, Any]) -> None:
        """POST one status callback, signed for ``url`` as Twilio signs them."""
        form = [("SmsSid", message["sid"]), ("SmsStatus", message["status"]),
                ("MessageStatus", message["status"]), ("To", message["to"]),
                ("MessageSid", message["sid"]), ("AccountSid", self.account_sid),
                ("From", message["from"]), ("ApiVersion", "2010-04-01")]
        if message.get("error_code"):
            form.append(("ErrorCode", str(message["error_code"])))
        signature = self._validator.compute_signature(url, ImmutableMultiDict(form))
        if self.callback_sink is not None:
            self.callback_sink(url, form, signature)
            return
        target = url
        if self.callback_rewrite and url.startswith(self.callback_rewrite[0]):
            target = self.callback_rewrite[1] + url[len(self.callback_rewrite[0]):]
        # Twilio does not retry a failed status callback either.
        with contextlib.suppress(httpx.HTTPError):
            httpx.post(target, data=dict(form), timeout=5,
                       headers={"x-twilio-signature": signature})

    def fetch(self, sid: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            message = self.messages.get(sid)
        if message is None:
            return 404, _error(20404, "The requested resource was not found")
        return 200, dict(message)

    def list(self, path: str, query: list[tuple[str, str]]) -> dict[str, Any]:
        params = dict(query)
        after = params.get("DateSent>") or params.get("DateSent>=")
        with self._lock:
            rows = [dict(m) for m in self.messages.values()]
        rows = [m for m in rows if (not params.get("To") or m["to"] == params["To"])
                and (not params.get("From") or m["from"] == params["From"])]
        if after:
            since = _parse_date(after)
            rows = [m for m in rows if _created(m) >= since]
        rows.sort(key=_created, reverse=True)
        size = int(params.get("PageSize", "50"))
        return {"messages": rows[:size], "page": 0, "page_size": size, "start": 0,
                "end": max(0, min(size, len(rows)) - 1), "uri": path,
                "first_page_uri": path, "next_page_uri": None, "previous_page_uri": None}

    def control(self, payload: dict[str, Any]) -> None:
        with self._lock:
            if "latency" in payload:
                self.latency = float(payload["latency"])
            if "errors" in payload:
                self.rules = [ErrorRule(**r) for r in payload["errors"]]
            if payload.get("reset"):
                self.messages.clear()
                self.received.clear()


def _error(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "status": _ERRORS.get(code, (400, ""))[0],
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}


def _created(message: dict[str, Any]) -> datetime:
    from email.utils import parsedate_to_datetime

    return parsedate_to_datetime(message["date_created"])


def _parse_date(value: str) -> datetime:
    value = value.replace("Z", "+00:00")
    parsed = datetime.fromisoformat(value) if "T" in value else datetime.fromisoformat(
        value + "T00:00:00+00:00")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _handler(fake: FakeTwilio) -> type[BaseHTTPRequestHandler]:
    prefix = f"/2010-04-01/Accounts/{fake.account_sid}/Messages"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # recipients' numbers must not reach a terminal

        def _send(self, status: int, payload: Any, hold: float = 0.0) -> None:
            data = json.dumps(payload).encode()
            if hold:
                time.sleep(hold)  # accepted, but the client has timed out by now
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                self.close_connection = True

        def _body(self) -> str:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length).decode() if length else ""

        def do_GET(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            if parts.path == "/_received":
                with fake._lock:
                    self._send(200, list(fake.received))
                return
            if not fake.authorised(self.headers.get("Authorization")):
                self._send(401, _error(20003, "Authenticate"))
                return
            if parts.path == prefix + ".json":
                self._send(200, fake.list(parts.path, parse_qsl(parts.query)))
            elif parts.path.startswith(prefix + "/") and parts.path.endswith(".json"):
                self._send(*fake.fetch(parts.path[len(prefix) + 1:-len(".json")]))
            else:
                self._send(404, _error(20404, "The requested resource was not found"))

        def do_POST(self) -> None:  # noqa: N802
            parts = urlsplit(self.path)
            body = self._body()
            if parts.path == "/_control":
                fake.control(json.loads(body or "{}"))
                self._send(200, {"ok": True})
                return
            if not fake.authorised(self.headers.get("Authorization")):
                self._send(401, _error(20003, "Authenticate"))
                return
            if parts.path != prefix + ".json":
                self._send(404, _error(20404, "The requested resource was not found"))
                return
            self._send(*fake.create(dict(parse_qsl(body, keep_blank_values=True))))

    return Handler


def serve(port: int, *, account_sid: str, auth_token: str, latency: float,
          errors: list[ErrorRule], callbacks: bool) -> None:
    """Run in the foreground until interrupted (``amip fake-twilio``)."""
    fake = FakeTwilio(account_sid, auth_token, port=port, latency=latency,
                      callbacks=callbacks)
    fake.rules = errors
    print(f"fake Twilio REST API on {fake.base_url} (account {account_sid})", flush=True)
    try:
        fake._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
