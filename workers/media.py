"""Media queue jobs: fetch a voicemail recording into the audio store, delete it at Twilio."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from sqlalchemy import update

from gateway.db import unit_of_work
from gateway.queue import STT, enqueue_after_commit
from gateway.settings import Settings, get_settings
from gateway.voice import audio
from gateway.voice.models import Recording
from gateway.voice.service import PENDING, TRANSCRIBE_JOB, set_item_meta, stt_job_id

log = logging.getLogger(__name__)
MAX_REDIRECTS = 5
MAX_BACKOFF_SECONDS = 30.0


class MediaFailed(Exception):
    """Final: this recording cannot be fetched (reason is a short code, no numbers)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class MediaTemporary(Exception):
    """Twilio kept failing (5xx, network) for the whole retry window: RQ retries the job."""


class _Retry(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Download:
    path: Path
    sha256: str
    size: int


def fetch_recording(recording_id: int) -> str:
    """Download one recording into the audio store, then delete it at Twilio (idempotent)."""
    settings = get_settings()
    with unit_of_work() as session:
        rec = session.get(Recording, recording_id)
        if rec is None or rec.status != PENDING:
            return "skipped"
        url, duration, sid, item_id = rec.media_url, rec.duration_seconds, rec.recording_sid, \
            rec.item_id
    try:
        if duration is not None and duration > settings.media_max_seconds:
            raise MediaFailed("too_long")
        stored = _fetch_and_store(url, settings)
    except MediaFailed as exc:
        _mark_failed(recording_id, item_id, exc.reason)
        return exc.reason
    with unit_of_work() as session:
        done = session.execute(update(Recording).where(
            Recording.id == recording_id, Recording.status == PENDING).values(
            status="stored", audio_key=stored.key, sha256=stored.sha256,
            size_bytes=stored.size, stored_at=datetime.now(UTC), error=None))
        if done.rowcount != 1:  # type: ignore[attr-defined]
            return "skipped"
        set_item_meta(session, item_id, audio=stored.key)
        enqueue_after_commit(session, STT, TRANSCRIBE_JOB, recording_id,
                             job_id=stt_job_id(recording_id))
    if settings.delete_recordings_at_provider:
        delete_at_provider(recording_id, sid, settings)
    return "stored"


def _fetch_and_store(url: str, settings: Settings) -> audio.Stored:
    download = fetch_with_retries(_media_url(url), settings)
    try:
        seconds = audio.probe_seconds(download.path)
        if seconds is not None and seconds > settings.media_max_seconds:
            raise MediaFailed("too_long")
        return audio.store_file(settings.audio_dir, download.path, download.sha256)
    finally:
        download.path.unlink(missing_ok=True)


def _media_url(url: str) -> str:
    # Twilio's RecordingUrl has no extension; ".wav" asks for the uncompressed original.
    path = urlsplit(url).path
    return url if path.endswith((".wav", ".mp3")) else url + ".wav"


def _mark_failed(recording_id: int, item_id: int | None, reason: str) -> None:
    with unit_of_work() as session:
        session.execute(update(Recording).where(
            Recording.id == recording_id, Recording.status == PENDING).values(
            status="failed", error=reason[:32]))
        set_item_meta(session, item_id, transcript_status="audio_unavailable")
    log.warning("recording not fetched", extra={"recording_id": recording_id, "reason": reason})


def media_credentials(settings: Settings) -> tuple[str, str]:
    """HTTP basic auth for Twilio media: an API key if configured, else the account."""
    if settings.twilio_api_key_sid and settings.twilio_api_key_secret:
        return settings.twilio_api_key_sid, settings.twilio_api_key_secret.get_secret_value()
    token = settings.twilio_auth_token
    return settings.twilio_account_sid or "", token.get_secret_value() if token else ""


def fetch_with_retries(url: str, settings: Settings) -> Download:
    """GET with 404/5xx retried (exponential backoff) for at most media_retry_seconds."""
    deadline = time.monotonic() + settings.media_retry_seconds
    attempt = 0
    with httpx.Client(timeout=httpx.Timeout(30.0, connect=5.0), follow_redirects=False,
                      trust_env=False) as client:
        while True:
            try:
                return _get(client, url, settings)
            except _Retry as exc:
                delay = min(settings.media_retry_base_seconds * 2 ** attempt, MAX_BACKOFF_SECONDS)
                attempt += 1
                if time.monotonic() + delay > deadline:
                    if exc.reason == "not_found":
                        raise MediaFailed("not_found") from None
                    raise MediaTemporary(exc.reason) from None
                time.sleep(delay)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


def _check_host(url: str, settings: Settings) -> None:
    scheme, host, _ = _origin(url)
    allowed = {h.strip().lower() for h in settings.media_hosts.split(",") if h.strip()}
    if host not in allowed:
        raise MediaFailed("host_not_allowed")
    if scheme == "https" or (scheme == "http" and _is_loopback(host)):
        return  # plain http only to this machine (the simulator and tests)
    raise MediaFailed("insecure_url")


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _get(client: httpx.Client, url: str, settings: Settings) -> Download:
    """One attempt, following redirects by hand: credentials go to the first origin only."""
    first = _origin(url)
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        _check_host(current, settings)
        auth = media_credentials(settings) if _origin(current) == first else None
        try:
            with client.stream("GET", current, auth=auth) as response:
                if response.is_redirect:
                    current = urljoin(current, response.headers.get("location", ""))
                    continue
                if response.status_code == 404:
                    raise _Retry("not_found")  # Twilio: media not ready yet, moments after
                if response.status_code >= 500 or response.status_code == 429:
                    raise _Retry("provider_error")
                if response.status_code != 200:
                    raise MediaFailed("refused")
                return _save(response, settings)
        except httpx.TransportError:
            raise _Retry("network") from None
    raise MediaFailed("too_many_redirects")


def _save(response: httpx.Response, settings: Settings) -> Download:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.media_max_bytes:
        raise MediaFailed("too_large")
    tmp_dir = settings.audio_dir / ".incoming"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / uuid.uuid4().hex
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("wb") as fh:
            for block in response.iter_bytes(audio.CHUNK):
                size += len(block)
                if size > settings.media_max_bytes:
                    raise MediaFailed("too_large")
                digest.update(block)
                fh.write(block)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Download(path, digest.hexdigest(), size)


def delete_at_provider(recording_id: int, recording_sid: str, settings: Settings) -> bool:
    """DELETE the recording at Twilio through the twilio library (AMIP_TWILIO_API_BASE)."""
    from twilio.base.exceptions import TwilioException
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    username, password = media_credentials(settings)
    client = Client(username, password, settings.twilio_account_sid,
                    http_client=TwilioHttpClient(timeout=10))
    client.api.base_url = settings.twilio_api_base
    try:
        client.recordings(recording_sid).delete()
    except (TwilioException, OSError) as exc:
        # Kept at Twilio for now: the audio is safe here; an operator can retry the delete.
        log.warning("recording not deleted at provider", extra={
            "recording_id": recording_id, "error": type(exc).__name__})
        return False
    with unit_of_work() as session:
        session.execute(update(Recording).where(Recording.id == recording_id).values(
            deleted_at_provider=datetime.now(UTC)))
    return True
