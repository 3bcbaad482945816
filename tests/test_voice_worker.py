"""A killed or stuck speech-to-text worker loses nothing and transcribes exactly once."""

from __future__ import annotations

import subprocess
import time
from contextlib import AbstractContextManager
from datetime import timedelta

import pytest
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry
from rq.serializers import JSONSerializer

from gateway.queue import get_queue, get_redis
from gateway.settings import get_settings
from gateway.voice.models import Recording, Transcript
from gateway.voice.service import requeue_stuck_recordings, stt_job_id
from tests import support
from tests.voice import AUDIO, media_server, rows, simulate, voice_env

KO = {"AMIP_IVR_LANGUAGES": "fa,ps,en,uz,tk,ko"}


@pytest.fixture()
def korean_client(client: support.SignedClient) -> support.SignedClient:
    app = client.http.app
    app.state.settings = app.state.settings.model_copy(update={
        "ivr_languages": KO["AMIP_IVR_LANGUAGES"]})
    return client


def _long_voicemail(copies: int) -> bytes:
    """The Korean voicemail repeated: long enough to be mid-recognition when we strike."""
    import wave
    from io import BytesIO

    with wave.open(str(AUDIO / "ko_voicemail_8k.wav")) as src:
        params, frames = src.getparams(), src.readframes(src.getnframes())
    out = BytesIO()
    with wave.open(out, "wb") as dst:
        dst.setparams(params)
        dst.writeframes(frames * copies)
    return out.getvalue()


def _queue_transcription(client: support.SignedClient, copies: int) -> int:
    with media_server() as media, voice_env(media, **KO):
        simulate(client, media, ["6", "1", "1"], _long_voicemail(copies))
        support.run_jobs(("intake", "media"))
    [rec] = rows(Recording)
    assert rec.status == "stored"
    return rec.id


def stt_worker(**env: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A real `amip worker --queues stt` (forking, like production) in its own group."""
    return support.worker_process("stt", **KO, **env)


def _job(recording_id: int) -> Job:
    return Job.fetch(stt_job_id(recording_id), connection=get_redis(), serializer=JSONSerializer)


def _wait_for(predicate: object, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def test_a_worker_killed_mid_transcription_completes_exactly_once_later(
        korean_client: support.SignedClient) -> None:
    # ~3 min of audio: a warmed recognizer reads it in several seconds, well past the strike.
    recording_id = _queue_transcription(korean_client, copies=12)
    with stt_worker() as worker:
        _wait_for(lambda: _job(recording_id).get_status() == JobStatus.STARTED)
        time.sleep(1.0)  # inside the recognizer now
        support.kill_tree(worker.pid)
    assert rows(Transcript) == []
    assert _job(recording_id).get_status() == JobStatus.STARTED  # orphaned, as after a crash
    [item] = support.items()
    assert item["status"] == "queued" and item["transcript_status"] == "pending"

    sent = requeue_stuck_recordings(get_settings(), older_than=timedelta(0),
                                    abandoned_after=timedelta(0))
    assert sent == 1
    support.run_jobs(("stt",))
    [transcript] = rows(Transcript)
    assert transcript.status == "done" and transcript.text
    # A second sweep finds nothing to do: the transcript is stored exactly once.
    assert requeue_stuck_recordings(get_settings(), older_than=timedelta(0),
                                    abandoned_after=timedelta(0)) == 0
    support.run_jobs(("stt",))
    assert len(rows(Transcript)) == 1
    [item] = support.items()
    assert item["text"] == transcript.text and item["transcript_status"] == "done"


def test_a_recognizer_past_its_timeout_fails_visibly_and_the_worker_survives(
        korean_client: support.SignedClient) -> None:
    with voice_env(AMIP_STT_JOB_TIMEOUT_SECONDS="5", AMIP_JOB_RETRIES="0"):
        # ~10 min of audio: a warmed recognizer needs well over the 5 s allowed (RTF ≥ 0.03).
        recording_id = _queue_transcription(korean_client, copies=40)
        with stt_worker(AMIP_STT_JOB_TIMEOUT_SECONDS="5") as worker:
            _wait_for(lambda: _job(recording_id).get_status() == JobStatus.FAILED)
            assert worker.poll() is None  # the worker lives on for the next job
            job = _job(recording_id)
            assert "JobTimeoutException" in (job.latest_result().exc_string or "")  # type: ignore[union-attr]
    registry = FailedJobRegistry(queue=get_queue("stt"))
    assert stt_job_id(recording_id) in registry.get_job_ids()
    assert rows(Transcript) == []
    [item] = support.items()  # still routed and playable while the transcript is missing
    assert item["status"] == "queued" and item["audio"]
    registry.requeue(stt_job_id(recording_id))  # what `rq requeue` / an operator does
    assert _job(recording_id).get_status() == JobStatus.QUEUED
