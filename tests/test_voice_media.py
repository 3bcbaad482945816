"""Fetching recordings: retries, redirects, allowed hosts, limits, store, delete at Twilio."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import get_settings
from gateway.simulator.call import MediaServer
from gateway.voice.audio import file_sha256
from gateway.voice.models import Recording
from tests import support
from tests.voice import AUDIO, media_server, rows, run_voice_jobs, simulate, voice_env

WAV = (AUDIO / "ko_sentence_ulaw.wav").read_bytes()


def _call(client: support.SignedClient, media: MediaServer, audio: bytes = WAV) -> str:
    log = simulate(client, media, ["1", "1", "1"], audio)
    assert log.recording_sid
    return log.recording_sid


def test_404_twice_then_200_is_stored_once_and_deleted_at_twilio(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media):
        sid = _call(client, media)
        media.not_found_first[sid] = 2  # Twilio answers 404 until the media is ready
        run_voice_jobs()
        gets = [h for h in media.hits if h.method == "GET"]
        assert len(gets) == 3 and all(h.authorized for h in gets)
        assert sid in media.deleted  # DELETE through the twilio library, authenticated
    [rec] = rows(Recording)
    assert rec.status == "stored" and rec.deleted_at_provider is not None
    stored = get_settings().audio_dir / (rec.audio_key or "")
    assert stored.read_bytes() == WAV and file_sha256(stored) == rec.sha256
    [item] = support.items()
    assert item["audio"] == rec.audio_key and "+93" not in str(item)


def test_a_redirect_to_another_host_gets_no_credentials(client: support.SignedClient) -> None:
    other = MediaServer(support.ACCOUNT_SID, support.AUTH_TOKEN, host="127.0.0.2")
    with other, media_server() as media, voice_env(media):
        sid = _call(client, media)
        other.recordings[sid] = WAV  # the CDN holds the same file, without auth
        media.redirect_to = other.base_url
        run_voice_jobs()
        first = [h for h in media.hits if h.method == "GET"]
        assert first and all(h.had_credentials for h in first)
        assert other.hits and not any(h.had_credentials for h in other.hits)


def test_a_media_host_outside_the_allowed_list_is_never_contacted(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media, AMIP_MEDIA_HOSTS="api.twilio.com"):
        _call(client, media)
        run_voice_jobs()
        assert [h for h in media.hits if h.method == "GET"] == []
    [rec] = rows(Recording)
    assert (rec.status, rec.error) == ("failed", "host_not_allowed")
    [item] = support.items()  # kept and routed all the same
    assert item["status"] == "queued" and item["transcript_status"] == "audio_unavailable"


def test_a_recording_larger_than_the_limit_is_refused(client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media, AMIP_MEDIA_MAX_BYTES="2048"):
        _call(client, media)
        run_voice_jobs()
    [rec] = rows(Recording)
    assert (rec.status, rec.error) == ("failed", "too_large")
    assert rec.audio_key is None
    assert not list((Path(get_settings().audio_dir) / ".incoming").glob("*"))  # no partial


def test_a_recording_that_never_appears_fails_after_the_retry_window(
        client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media, AMIP_MEDIA_RETRY_SECONDS="0.2"):
        sid = _call(client, media)
        media.not_found_first[sid] = 10_000
        run_voice_jobs()
    [rec] = rows(Recording)
    assert (rec.status, rec.error) == ("failed", "not_found")


def test_deleting_at_twilio_can_be_switched_off(client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media, AMIP_DELETE_RECORDINGS_AT_PROVIDER="false"):
        sid = _call(client, media)
        run_voice_jobs()
        assert sid not in media.deleted
    [rec] = rows(Recording)
    assert rec.status == "stored" and rec.deleted_at_provider is None


def test_a_recording_longer_than_the_limit_is_refused(client: support.SignedClient) -> None:
    with media_server() as media, voice_env(media, AMIP_MEDIA_MAX_SECONDS="2"):
        _call(client, media)  # Twilio reports 5 s; the file itself is 2.5 s
        run_voice_jobs()
        assert [h for h in media.hits if h.method == "GET"] == []  # refused before download
    [rec] = rows(Recording)
    assert (rec.status, rec.error) == ("failed", "too_long")
    [item] = support.items()
    assert item["status"] == "queued" and item["transcript_status"] == "audio_unavailable"
