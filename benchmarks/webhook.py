"""Durable SMS webhooks per second vs. a signature-only ceiling, on PostgreSQL + Redis.

Run from the repository root (PostgreSQL and Redis on loopback, as in CI):

    python benchmarks/webhook.py            # or: python -m benchmarks.webhook

What it does, bounded in time and in requests, on loopback only:

1. Re-creates the database ``amip_bench`` and migrates it; flushes Redis db 14.
2. Starts ``uvicorn benchmarks.ceiling_app:app`` twice on one port (``Gateway``: one
   SO_REUSEPORT socket per process, so connections spread evenly): the product app, whose
   ``POST /twilio/sms`` is the durable route (contact by keyed hash, Fernet-encrypted number,
   one autocommit statement that inserts contact and item ON CONFLICT DO NOTHING, the RQ
   job handed to the sender thread, TwiML acknowledgement in the sender's language), plus
   ``POST /bench/ceiling``, which only reads the form, checks the signature and answers.
3. Pre-builds Twilio-shaped forms signed like Twilio (every durable request has its own
   MessageSid, senders drawn from 2,000 numbers, bodies from the demo's multilingual set).
4. Closed loop (``wrk`` if installed, else ``benchmarks/loadgen.py``) for the maximum
   throughput of each route, in ``--rounds`` alternating ceiling/durable phases (a shared
   VM's speed drifts; alternating puts the drift on both routes; the verdict sums the
   rounds); then an open-loop constant rate at half the durable maximum
   (``benchmarks/loadgen.py``) for p50/p99 latency, timed from each request's scheduled send.
5. Counts the CPU each side used (gateway, PostgreSQL, Redis, load generator), checks that
   every acknowledged message is in the database and its job in Redis, and prints a table.

No RQ worker runs: the benchmark measures intake up to the durable acknowledgement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from starlette.datastructures import ImmutableMultiDict
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
DURABLE_PATH = "/twilio/sms"
CEILING_PATH = "/bench/ceiling"  # benchmarks/ceiling_app.py (importing it builds the app)
PUBLIC_BASE = "https://sms.amip.example"
ACCOUNT_SID = "AC" + "b" * 32
SHORTCODE = "+93799000111"
LOADGEN = ROOT / "benchmarks" / "loadgen.py"
WRK_SCRIPT = ROOT / "benchmarks" / "wrk_replay.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- requests

def demo_bodies() -> list[str]:
    lines = (ROOT / "gateway" / "demo" / "sms.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["body"] for line in lines if line.strip()]


def twilio_form(sid: str, sender: str, body: str) -> list[tuple[str, str]]:
    return [
        ("ToCountry", "AF"), ("ToState", ""), ("SmsMessageSid", sid), ("NumMedia", "0"),
        ("ToCity", ""), ("FromZip", ""), ("SmsSid", sid), ("FromState", ""),
        ("SmsStatus", "received"), ("FromCity", ""), ("Body", body), ("FromCountry", "AF"),
        ("To", SHORTCODE), ("ToZip", ""), ("NumSegments", "1"), ("MessageSid", sid),
        ("AccountSid", ACCOUNT_SID), ("From", sender), ("ApiVersion", "2010-04-01"),
    ]


@dataclass
class RequestMaker:
    token: str
    port: int
    rng: random.Random = field(default_factory=lambda: random.Random(20261203))  # noqa: S311

    def __post_init__(self) -> None:
        self.validator = RequestValidator(self.token)
        self.bodies = demo_bodies()
        self.senders = [f"+9370{self.rng.randrange(10**7):07d}" for _ in range(2000)]

    def one(self, path: str) -> bytes:
        sid = "SM" + secrets.token_hex(16)
        form = twilio_form(sid, self.rng.choice(self.senders), self.rng.choice(self.bodies))
        sig = self.validator.compute_signature(PUBLIC_BASE + path, ImmutableMultiDict(form))
        body = urlencode(form).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {sig}\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body

    def write(self, path: str, count: int, out: Path) -> Path:
        """``count`` signed requests to ``path``, NUL-separated, each with its own sid."""
        with out.open("wb") as f:
            for _ in range(count):
                f.write(self.one(path) + b"\0")
        return out


# --------------------------------------------------------------------------- CPU accounting

def _proc_stat(pid: int) -> tuple[str, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ours_or_shared_postgres(pid: int, database: str) -> bool:
    """A backend of the benchmark database, or a server process that serves no database
    (WAL writer, checkpointer…); backends of other databases on a shared server are not ours."""
    title = _cmdline(pid)
    parts = title.split()
    if len(parts) < 4 or not title.startswith("postgres:"):
        return True  # postmaster, or an auxiliary process ("postgres: 15/main: walwriter")
    return f" {database} " in f" {title} "


def cpu_by_side(server_pids: tuple[int, ...], database: str, redis_port: int
                ) -> dict[str, float]:
    """CPU seconds so far of the gateway processes, PostgreSQL and Redis, and the machine."""
    procs = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _proc_stat(int(entry))):
            procs[int(entry)] = st
    tree = set(server_pids)
    for _ in range(3):  # uvicorn processes (→ anything they spawn)
        tree |= {pid for pid, (_, ppid, _) in procs.items() if ppid in tree}
    sides = {"gateway": 0.0, "postgres": 0.0, "redis": 0.0}
    for pid, (comm, _, cpu) in procs.items():
        if pid in tree:
            sides["gateway"] += cpu
        elif comm == "postgres" and _ours_or_shared_postgres(pid, database):
            sides["postgres"] += cpu
        elif comm.startswith("redis-server") and f":{redis_port}" in _cmdline(pid):
            sides["redis"] += cpu
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    sides["machine"] = (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK
    return sides


# --------------------------------------------------------------------------- phases

@dataclass
class Phase:
    name: str
    route: str
    generator: str
    result: dict[str, Any]
    cores: dict[str, float]


def run_generator(cmd: Sequence[str], opts: Options, server_pids: tuple[int, ...],
                  env: dict[str, str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Run one load-generator process; returns its JSON result and cores used per side."""
    sides = (server_pids, opts.database, make_url(opts.redis_url).port or 6379)
    before = cpu_by_side(*sides)
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    after = cpu_by_side(*sides)
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed ({proc.returncode}): {err[-2000:]}")
    json_lines = [line for line in out.splitlines() if line.startswith("{")]
    # max(0): a process that exits during the phase takes its CPU seconds with it.
    cores = {k: max(0.0, round((after[k] - before[k]) / wall, 2)) for k in after}
    cores["generator"] = round((usage.ru_utime + usage.ru_stime) / wall, 2)
    return json.loads(json_lines[-1]), cores


def wrk_cmd(url: str, connections: int, duration: float) -> list[str]:
    # --timeout: a slow answer is measured, not dropped as an error after wrk's default 2 s.
    return ["wrk", "-t1", f"-c{connections}", f"-d{int(duration)}s", "--timeout", "30s",
            "--latency", "-s", str(WRK_SCRIPT), url, "--", "1"]


def loadgen_cmd(mode: str, port: int, requests: Path, duration: float, **opts: float) -> list[
        str]:
    cmd = [sys.executable, str(LOADGEN), mode, "--port", str(port), "--requests", str(requests),
           "--duration", str(duration)]
    for key, value in opts.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    return cmd


# --------------------------------------------------------------------------- services

def fresh_database(admin_url: str, name: str) -> str:
    url = make_url(admin_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :d"), {"d": name})
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        settings = {k: conn.execute(text(f"SHOW {k}")).scalar_one()
                    for k in ("server_version", "synchronous_commit", "fsync")}
    admin.dispose()
    print("PostgreSQL " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    return url.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_healthy(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("gateway did not become healthy")


def server_env(db_url: str, redis_url: str, data_dir: Path, token: str) -> dict[str, str]:
    return dict(
        os.environ,
        AMIP_DATABASE_URL=db_url, AMIP_REDIS_URL=redis_url, AMIP_DATA_DIR=str(data_dir),
        AMIP_TWILIO_ACCOUNT_SID=ACCOUNT_SID, AMIP_TWILIO_AUTH_TOKEN=token,
        AMIP_PUBLIC_BASE_URL=PUBLIC_BASE, AMIP_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        AMIP_HASH_KEY=secrets.token_urlsafe(32), AMIP_LOG_JSON="true", AMIP_LOG_LEVEL="INFO",
        AMIP_DEMO="false", PYTHONPATH=str(ROOT),
        # No RQ worker runs, so every item stays "received"; without this the sweeper would
        # start re-checking thousands of them in the middle of a run.
        AMIP_STUCK_AFTER_SECONDS="3600",
    )


class Gateway:
    """``workers`` uvicorn processes serving one port, each on its own SO_REUSEPORT socket.

    Not ``uvicorn --workers N``: its workers share one listening socket, and whichever is
    awake first accepts every connection waiting, so wrk's 32 connections, opened at once
    and kept for the whole phase, often went mostly to one process, which then held the
    gateway to about one core whatever the route cost (in one run of four rounds, two
    ceiling phases at half speed). With a socket each, the kernel spreads connections over
    the processes by address hash. Each process is one uvicorn worker as ``amip serve``
    runs it, on a socket bound here and handed over (``benchmarks/uvicorn_fd.py``).
    """

    def __init__(self, env: dict[str, str], port: int, workers: int, log: Path) -> None:
        self.log = log.open("wb")
        self.procs: list[subprocess.Popen[bytes]] = []
        for _ in range(workers):
            with socket.socket() as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen(2048)
                # This process must not keep the socket: the kernel would hash connections
                # to it too, and nobody here accepts them.
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "benchmarks.uvicorn_fd", str(sock.fileno())],
                    cwd=ROOT, env=env, stdout=self.log, stderr=self.log, pass_fds=[sock.fileno()],
                    start_new_session=True))

    @property
    def pids(self) -> tuple[int, ...]:
        return tuple(proc.pid for proc in self.procs)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()


# --------------------------------------------------------------------------- the run

@dataclass
class Options:
    workers: int
    connections: int
    duration: float
    latency_duration: float
    admin_url: str
    database: str
    redis_url: str
    generator: str
    max_requests: int
    rounds: int


def parse_args(argv: Sequence[str] | None = None) -> Options:
    p = argparse.ArgumentParser(description="Durable SMS webhook throughput vs. its ceiling.")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--connections", type=int, default=32, help="closed-loop connections")
    p.add_argument("--duration", type=float, default=3.0,
                   help="seconds per closed-loop phase (short: the VM's speed drifts)")
    p.add_argument("--latency-duration", type=float, default=10.0,
                   help="seconds of each open-loop phase (p99 over a few thousand requests)")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                   help="a URL of the server; the benchmark database is re-created there")
    p.add_argument("--database", default="amip_bench")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/14",
                   help="a dedicated Redis db: it is flushed")
    p.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                   help="closed-loop generator (open loop is always benchmarks/loadgen.py)")
    p.add_argument("--max-requests", type=int, default=120_000,
                   help="bound on pre-built requests per phase")
    p.add_argument("--rounds", type=int, default=10,
                   help="closed-loop rounds, each a ceiling phase then a durable phase")
    a = p.parse_args(argv)
    generator = a.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "python"
    return Options(a.workers, a.connections, a.duration, a.latency_duration, a.postgres,
                   a.database, a.redis, generator, a.max_requests, a.rounds)


@dataclass
class Bench:
    opts: Options
    port: int
    token: str
    work: Path
    server_pids: tuple[int, ...]
    env: dict[str, str]
    maker: RequestMaker
    phases: list[Phase] = field(default_factory=list)

    def requests(self, path: str, count: int, name: str) -> Path:
        return self.maker.write(path, min(count, self.opts.max_requests), self.work / name)

    def closed(self, name: str, path: str, count: int) -> Phase:
        file = self.requests(path, count, f"{name}.req")
        url = f"http://127.0.0.1:{self.port}{path}"
        if self.opts.generator == "wrk":
            cmd = wrk_cmd(url, self.opts.connections, self.opts.duration)
            env = dict(self.env, AMIP_BENCH_REQUESTS=str(file))
            label = f"wrk, closed loop, {self.opts.connections} conn"
        else:
            cmd = loadgen_cmd("closed", self.port, file, self.opts.duration,
                              connections=self.opts.connections)
            env = self.env
            label = f"loadgen.py, closed loop, {self.opts.connections} conn"
        result, cores = run_generator(cmd, self.opts, self.server_pids, env)
        result.setdefault("rps", round(result["completed"] / result["elapsed_s"], 1))
        return self._add(Phase(name, path, label, result, cores))

    def open(self, name: str, path: str, rate: float) -> Phase:
        seconds = self.opts.latency_duration
        file = self.requests(path, int(rate * seconds) + 1, f"{name}.req")
        cmd = loadgen_cmd("open", self.port, file, seconds, rate=round(rate, 1))
        result, cores = run_generator(cmd, self.opts, self.server_pids, self.env)
        return self._add(Phase(name, path, f"loadgen.py, open loop, {rate:.0f} req/s",
                               result, cores))

    def _add(self, phase: Phase) -> Phase:
        self.phases.append(phase)
        r = phase.result
        print(f"  {phase.name:<16} {r['rps']:>8} req/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms"
              f"  non-200 {r['non200']}  errors {r['errors']}  cores {phase.cores}", flush=True)
        return phase


def durable_check(db_url: str, redis_url: str, acknowledged: int, spool: Path,
                  gateway_log: Path) -> str:
    import redis

    engine = create_engine(db_url)
    with engine.connect() as conn:
        items = conn.execute(text("SELECT count(*) FROM items")).scalar_one()
        contacts = conn.execute(text("SELECT count(*) FROM contacts")).scalar_one()
    engine.dispose()
    jobs = redis.Redis.from_url(redis_url).llen("rq:queue:intake")
    spooled = len(list(spool.glob("*.spool"))) if spool.is_dir() else 0
    # Redis unreachable at commit time: the row is durable and the sweeper enqueues it later.
    unsent = gateway_log.read_text(errors="replace").count("enqueue failed")
    ok = items + spooled >= acknowledged and jobs + unsent == items
    return (f"durability check: {acknowledged} durable 200s counted by the generators; "
            f"{items} items and {contacts} contacts in PostgreSQL, {spooled} spooled, "
            f"{jobs} intake jobs in Redis, {unsent} enqueues failed (left to the sweeper) -> "
            f"{'OK' if ok else 'MISMATCH'} (requests in flight when a closed-loop run stops "
            "are stored but not counted)")


def run(opts: Options) -> list[Phase]:
    db_url = fresh_database(opts.admin_url, opts.database)
    from gateway.migrate import migrate

    os.environ["AMIP_DATABASE_URL"] = db_url  # migrate() seeds via the settings' engine too
    migrate(db_url)
    import redis

    redis.Redis.from_url(opts.redis_url).flushdb()
    work = Path(tempfile.mkdtemp(prefix="amip-bench-"))
    port, token = free_port(), secrets.token_hex(16)
    env = server_env(db_url, opts.redis_url, work / "data", token)
    gateway = Gateway(env, port, opts.workers, work / "gateway.log")
    try:
        wait_healthy(port)
        bench = Bench(opts, port, token, work, gateway.pids, env, RequestMaker(token, port))
        print(f"gateway: {opts.workers} uvicorn workers on 127.0.0.1:{port}; "
              f"closed-loop generator: {opts.generator}; {opts.duration:.0f} s per phase",
              flush=True)
        warm = Options(**{**opts.__dict__, "duration": 3.0})
        Bench(warm, port, token, work, gateway.pids, env, bench.maker).closed(
            "warm-up", DURABLE_PATH, 10_000)
        # Ceiling and durable phases alternate, so that drift in the machine's speed (a
        # shared VM) falls on both routes alike; the verdict sums the rounds.
        durables = []
        for n in range(1, opts.rounds + 1):
            ceiling = bench.closed(f"ceiling max #{n}", CEILING_PATH, 25_000)
            durables.append(bench.closed(f"durable max #{n}", DURABLE_PATH,
                                         int(ceiling.result["rps"] * opts.duration * 1.3)))
        half = summed(durables)["rps"] / 2
        bench.open("durable @ half", DURABLE_PATH, half)
        bench.open("ceiling @ same", CEILING_PATH, half)
        acked = sum(p.result["completed"] - p.result["non200"] for p in bench.phases
                    if p.route == DURABLE_PATH)
        print(durable_check(db_url, opts.redis_url, acked, work / "data" / "spool",
                            work / "gateway.log"))
        if any(d.result.get("wrapped") or d.result.get("ran_out_of_requests")
               for d in durables):
            print("WARNING: a durable run used up its unique requests; raise --max-requests")
        return bench.phases
    finally:
        gateway.stop()
        redis.Redis.from_url(opts.redis_url).flushdb()
        shutil.rmtree(work, ignore_errors=True)


def table(phases: list[Phase]) -> Iterator[str]:
    yield ("| phase | route | load | req/s | p50 ms | p99 ms | non-200 | CPU cores: gateway"
           " / postgres / redis / generator / rest of machine | CPU ms per request |")
    yield "|---|---|---|---:|---:|---:|---:|---|---:|"
    for p in phases:
        r, c = p.result, p.cores
        # "rest of machine": anything else running meanwhile (on a shared box, other work).
        rest = c["machine"] - c["gateway"] - c["postgres"] - c["redis"] - c["generator"]
        yield (f"| {p.name} | `{p.route}` | {p.generator} | {r['rps']:.0f} | {r['p50_ms']:.1f} | "
               f"{r['p99_ms']:.1f} | {r['non200'] + r['errors']} | {c['gateway']:.2f} / "
               f"{c['postgres']:.2f} / {c['redis']:.2f} / {c['generator']:.2f} / "
               f"{max(rest, 0.0):.2f} | {cpu_ms(p):.2f} |")


def cpu_ms(phase: Phase) -> float:
    """CPU the service side (gateway + PostgreSQL + Redis) spent per request, in ms: unlike
    req/s, this barely depends on what else the machine is doing."""
    c = phase.cores
    return (c["gateway"] + c["postgres"] + c["redis"]) * 1000 / max(phase.result["rps"], 1e-9)


def summed(phases: list[Phase]) -> dict[str, float]:
    """Requests and CPU of several phases of one route taken together."""
    elapsed = sum(p.result["elapsed_s"] for p in phases)
    served = sum(p.result["rps"] * p.result["elapsed_s"] for p in phases)
    service = sum((p.cores["gateway"] + p.cores["postgres"] + p.cores["redis"])
                  * p.result["elapsed_s"] for p in phases)
    return {"rps": served / elapsed, "cpu_ms": service * 1000 / served}


def uneven(phase: Phase, workers: int) -> bool:
    """A closed-loop phase whose connections went mostly to one uvicorn worker: the gateway
    then cannot use more than about one core (one GIL), whatever the route costs."""
    return workers > 1 and phase.cores["gateway"] < 0.65 * min(workers, os.cpu_count() or 1)


def verdict(phases: list[Phase], workers: int = 2) -> Iterator[str]:
    by_phase = {p.name: p for p in phases}
    by = {name: p.result for name, p in by_phase.items()}
    ceilings = [p for p in phases if p.name.startswith("ceiling max")]
    durables = [p for p in phases if p.name.startswith("durable max")]
    ceiling, durable, half = summed(ceilings), summed(durables), by["durable @ half"]
    ratio = durable["rps"] / ceiling["rps"]
    yield (f"durable {durable['rps']:.0f} req/s / ceiling {ceiling['rps']:.0f} req/s = "
           f"{ratio:.0%} over {len(durables)} alternating rounds "
           f"(goal >= 40%: {'met' if ratio >= 0.40 else 'MISSED'})")
    rounds = [d.result["rps"] / c.result["rps"] for c, d in zip(ceilings, durables, strict=True)]
    marks = ["*" if uneven(c, workers) or uneven(d, workers) else ""
             for c, d in zip(ceilings, durables, strict=True)]
    yield ("per round: " + ", ".join(f"{r:.0%}{m}" for r, m in zip(rounds, marks, strict=True))
           + ("  (* a phase's connections went mostly to one worker)" if any(marks) else ""))
    d_ms, c_ms = durable["cpu_ms"], ceiling["cpu_ms"]
    cores = os.cpu_count() or 1
    yield (f"CPU per request: durable {d_ms:.2f} ms, ceiling {c_ms:.2f} ms -> ratio "
           f"{c_ms / d_ms:.0%}; on {cores} dedicated cores that is at most "
           f"~{cores * 1000 / d_ms:.0f} durable and ~{cores * 1000 / c_ms:.0f} ceiling req/s")
    yield (f"at half the durable maximum ({half['offered_rps']:.0f} req/s offered, "
           f"{half['rps']:.0f} achieved): p50 {half['p50_ms']:.1f} ms, p99 {half['p99_ms']:.1f} ms "
           f"(goal p99 <= 50 ms: {'met' if half['p99_ms'] <= 50 else 'MISSED'})")


def main(argv: Sequence[str] | None = None) -> None:
    opts = parse_args(argv)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}")
    phases = run(opts)
    print()
    for line in (*table(phases), "", *verdict(phases, opts.workers)):
        print(line)


if __name__ == "__main__":
    main()
