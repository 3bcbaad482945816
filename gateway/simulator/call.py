"""Plays a whole voice call against a gateway as Twilio would, and serves the recording.

``CallSimulator`` posts the signed webhooks Twilio posts (incoming call, each ``<Gather>``
answer, ``<Redirect>``, ``<Record>`` action, the recording status callback), following the
TwiML the gateway answers. ``MediaServer`` is a loopback stand-in for Twilio's media and
REST endpoints: it serves each recording behind HTTP basic auth at a Twilio-shaped URL and
accepts the REST ``DELETE`` of a recording, and it can answer 404 a few times first or
redirect to another host (the cases a download must survive).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

SHORTCODE = "+93799000111"
MAX_STEPS = 60


@dataclass
class Hit:
    method: str
    path: str
    authorized: bool  # carried valid credentials
    had_credentials: bool  # carried any Authorization header at all


@dataclass
class MediaServer:
    """Serves recordings at /2010-04-01/Accounts/{AC}/Recordings/{RE}.wav (basic auth)."""

    account_sid: str
    auth_token: str
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    recordings: dict[str, bytes] = field(default_factory=dict)
    not_found_first: dict[str, int] = field(default_factory=dict)  # RE → 404s before 200
    redirect_to: str | None = None  # another server's base URL: answer 302 there
    hits: list[Hit] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._server = ThreadingHTTPServer((self.host, self.port), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self._server.server_address[1]}"

    def start(self) -> MediaServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> MediaServer:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def add(self, audio: bytes, sid: str | None = None) -> tuple[str, str]:
        """Host a recording; returns (RecordingSid, RecordingUrl without extension)."""
        sid = sid or "RE" + secrets.token_hex(16)
        self.recordings[sid] = audio
        return sid, f"{self.base_url}/2010-04-01/Accounts/{self.account_sid}/Recordings/{sid}"

    def fetched(self, sid: str) -> int:
        return sum(1 for h in self.hits if h.method == "GET" and sid in h.path and h.authorized)

    def _authorized(self, header: str) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        return hmac.compare_digest(header, f"Basic {expected}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        media = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", ctype: str = "text/plain",
                       headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _sid(self) -> str:
                name = self.path.split("?")[0].rsplit("/", 1)[-1]
                return name.split(".")[0]

            def _hit(self) -> bool:
                header = self.headers.get("authorization", "")
                ok = media._authorized(header)
                media.hits.append(Hit(self.command, self.path, ok, bool(header)))
                return ok

            def do_GET(self) -> None:  # noqa: N802
                authorized = self._hit()
                sid = self._sid()
                if media.redirect_to and "/Recordings/" in self.path:
                    self._reply(302, headers={"location": media.redirect_to + self.path})
                    return
                if not authorized and "/Recordings/" in self.path and not self.path.startswith(
                        "/public/"):
                    self._reply(401, b'{"code": 20003, "message": "Authenticate"}',
                                "application/json")
                    return
                if media.not_found_first.get(sid, 0) > 0:
                    media.not_found_first[sid] -= 1
                    self._reply(404, b'{"code": 20404, "status": 404}', "application/json")
                    return
                data = media.recordings.get(sid)
                if data is None or sid in media.deleted:
                    self._reply(404, b'{"code": 20404, "status": 404}', "application/json")
                    return
                self._reply(200, data, "audio/x-wav")

            def do_DELETE(self) -> None:  # noqa: N802
                if not self._hit():
                    self._reply(401, b'{"code": 20003}', "application/json")
                    return
                sid = self._sid()
                if sid not in media.recordings:
                    self._reply(404, b'{"code": 20404, "status": 404}', "application/json")
                    return
                media.deleted.add(sid)
                self._reply(204)

        return Handler


@dataclass
class CallLog:
    call_sid: str
    steps: list[str] = field(default_factory=list)  # "play fa/welcome", "gather language 1"
    recording_sid: str | None = None
    statuses: list[int] = field(default_factory=list)


class CallSimulator:
    """Drives one call through the gateway's TwiML, pressing the given keys in order."""

    def __init__(self, gateway_url: str, auth_token: str, account_sid: str, *,
                 media: MediaServer | None = None, client: httpx.Client | None = None) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.validator = RequestValidator(auth_token)
        self.account_sid = account_sid
        self.media = media
        self.client = client or httpx.Client(timeout=15)

    def post(self, url: str, form: list[tuple[str, str]]) -> httpx.Response:
        signature = self.validator.compute_signature(url, ImmutableMultiDict(form))
        return self.client.post(url, content=urlencode(form), headers={
            "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature})

    def call(self, *, caller: str, keys: list[str], audio: bytes | None,
             recording_seconds: int = 5, hang_up_before_record: bool = False,
             repeat_recording_callback: int = 1,
             hang_up_while_recording: bool = False) -> CallLog:
        """One call: each Gather takes the next key (``""`` = silence); Record plays ``audio``."""
        log = CallLog(call_sid="CA" + secrets.token_hex(16))
        base = [("CallSid", log.call_sid), ("AccountSid", self.account_sid), ("From", caller),
                ("To", SHORTCODE), ("Direction", "inbound"), ("ApiVersion", "2010-04-01")]
        pending = list(keys)
        url: str | None = self.gateway_url + "/twilio/voice"
        form = [*base, ("CallStatus", "ringing")]
        for _ in range(MAX_STEPS):
            if url is None:
                break
            response = self.post(url, form)
            log.statuses.append(response.status_code)
            if response.status_code != 200:
                log.steps.append(f"http {response.status_code}")
                break
            url, form = self._follow(response.text, base, pending, log, audio,
                                     recording_seconds, hang_up_before_record,
                                     repeat_recording_callback)
            if hang_up_while_recording and log.recording_sid:
                log.steps.append("hang up")  # the <Record> action never comes
                break
        self.post(self.gateway_url + "/twilio/voice/status",
                  [*base, ("CallStatus", "completed")])
        return log

    def _follow(self, twiml: str, base: list[tuple[str, str]], pending: list[str], log: CallLog,
                audio: bytes | None, seconds: int, hang_up: bool,
                repeats: int) -> tuple[str | None, list[tuple[str, str]]]:
        """Walk one TwiML document; returns the next request (None: the call ended)."""
        for verb in ET.fromstring(twiml):  # noqa: S314 - the gateway under test wrote it
            if verb.tag == "Play":
                log.steps.append("play " + _prompt_name(verb.text or ""))
            elif verb.tag == "Gather":
                log.steps.extend("play " + _prompt_name(p.text or "") for p in verb)
                if pending:
                    key = pending.pop(0)
                    log.steps.append(f"press {key or '(nothing)'}")
                    if key:
                        return verb.attrib["action"], [*base, ("CallStatus", "in-progress"),
                                                       ("Digits", key)]
            elif verb.tag == "Redirect":
                return (verb.text or "").strip(), [*base, ("CallStatus", "in-progress")]
            elif verb.tag == "Record":
                if hang_up or audio is None or self.media is None:
                    log.steps.append("hang up")
                    return None, []
                sid, rec_url = self.media.add(audio)
                log.recording_sid = sid
                log.steps.append(f"record {seconds}s")
                rec = [("RecordingSid", sid), ("RecordingUrl", rec_url),
                       ("RecordingDuration", str(seconds))]
                callback = verb.attrib.get("recordingStatusCallback")
                if callback:
                    for _ in range(repeats):  # Twilio may deliver a callback more than once
                        log.statuses.append(self.post(callback, [
                            *base, *rec, ("RecordingStatus", "completed"),
                            ("RecordingChannels", "1"), ("RecordingSource", "RecordVerb"),
                            ("RecordingStartTime", "Thu, 03 Dec 2026 12:00:00 +0000")]
                        ).status_code)
                return verb.attrib["action"], [*base, ("CallStatus", "in-progress"), *rec,
                                               ("Digits", "#")]
            elif verb.tag == "Hangup":
                log.steps.append("hangup")
                return None, []
        return None, []


def _prompt_name(url: str) -> str:
    parts = url.strip().rsplit("/", 2)
    return f"{parts[-2]}/{parts[-1].removesuffix('.wav')}" if len(parts) == 3 else url


def run_cli(gateway: str, audio_file: Path, keys: str, caller: str, wait: float,
            auth_token: str, account_sid: str, media_port: int = 0) -> int:
    """`amip simulate call`: play one call, then serve the recording until it is fetched."""
    import time

    with MediaServer(account_sid, auth_token, port=media_port) as media:
        sim = CallSimulator(gateway, auth_token, account_sid, media=media)
        from gateway.voice.audio import probe_seconds

        seconds = max(1, round(probe_seconds(audio_file) or 5))
        log = sim.call(caller=caller, keys=keys.split(","), audio=audio_file.read_bytes(),
                       recording_seconds=seconds)
        for step in log.steps:
            print(step)
        print(f"media server: {media.base_url} (set AMIP_MEDIA_HOSTS=127.0.0.1 and "
              f"AMIP_TWILIO_API_BASE={media.base_url} on the gateway's workers)")
        deadline = time.monotonic() + wait
        while log.recording_sid and time.monotonic() < deadline:
            if log.recording_sid in media.deleted or (
                    media.fetched(log.recording_sid) and wait <= 0):
                break
            time.sleep(0.2)
        fetched = media.fetched(log.recording_sid) if log.recording_sid else 0
        print(f"recording {log.recording_sid or '-'}: fetched {fetched}x, "
              f"deleted at 'Twilio': {log.recording_sid in media.deleted}")
    return 0 if log.statuses and all(s < 300 for s in log.statuses) else 1
