"""A small HTTP/1.1 load generator on loopback, run as its own process by benchmarks/webhook.py.

It replays pre-built raw requests (a file of requests separated by NUL bytes; the bodies are
URL-encoded forms, so they never contain one), each request at most once, and prints one
JSON object on stdout.

* ``closed``: C keep-alive connections, each sending its next request as soon as the
  previous answer arrives, for D seconds — the maximum throughput.
* ``open``: a constant rate R for D seconds, whatever the server does; each request is
  timed from the moment it was *scheduled*, so a stalled server cannot hide its queueing
  (no coordinated omission). Connections are opened as needed, up to a cap.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

# uvicorn closes a keep-alive connection after 5 s idle; reusing one that old could race it.
IDLE_REUSE_S = 3.0


def load_requests(path: Path) -> list[bytes]:
    return [r for r in path.read_bytes().split(b"\0") if r]


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def send(self, request: bytes) -> int:
        """Send one request and read the whole answer; returns the status code."""
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        self.writer.close()


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    def record(self, status: int, latency: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.append(latency)

    def summary(self, elapsed: float, **extra: Any) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 2) if lat else None

        done = len(lat)
        return {
            "completed": done, "ok": self.statuses.get(200, 0),
            "non200": done - self.statuses.get(200, 0), "errors": self.errors,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "elapsed_s": round(elapsed, 3), "rps": round(done / elapsed, 1) if elapsed else 0.0,
            "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 2) if lat else None, **extra,
        }


async def closed_loop(host: str, port: int, requests: list[bytes], connections: int,
                      duration: float) -> dict[str, Any]:
    tally = Tally()
    cursor = iter(requests)
    exhausted = False
    deadline = time.perf_counter() + duration

    async def client() -> None:
        nonlocal exhausted
        conn = await Connection.open(host, port)
        try:
            while time.perf_counter() < deadline:
                request = next(cursor, None)
                if request is None:
                    exhausted = True
                    return
                started = time.perf_counter()
                try:
                    status = await conn.send(request)
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    tally.errors += 1
                    conn.close()
                    conn = await Connection.open(host, port)
                    continue
                tally.record(status, time.perf_counter() - started)
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return tally.summary(time.perf_counter() - started, mode="closed", connections=connections,
                         ran_out_of_requests=exhausted)


async def open_loop(host: str, port: int, requests: list[bytes], rate: float, duration: float,
                    max_connections: int) -> dict[str, Any]:
    tally = Tally()
    count = min(len(requests), int(rate * duration))
    idle: list[tuple[Connection, float]] = []
    opened = 0
    dropped = 0
    tasks: set[asyncio.Task[None]] = set()

    async def one(request: bytes, scheduled: float) -> None:
        nonlocal opened
        conn = None
        while idle and conn is None:
            conn, last_used = idle.pop()
            if time.perf_counter() - last_used > IDLE_REUSE_S:
                conn.close()  # the server may have closed it already: never reuse it
                opened -= 1
                conn = None
        if conn is None:
            opened += 1
            conn = await Connection.open(host, port)
        try:
            status = await conn.send(request)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            tally.errors += 1
            conn.close()
            opened -= 1
            return
        tally.record(status, time.perf_counter() - scheduled)
        idle.append((conn, time.perf_counter()))

    start = time.perf_counter() + 0.05
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle and opened >= max_connections:
            dropped += 1  # every connection is busy: the server is far behind; count it
            continue
        task = asyncio.create_task(one(requests[i], scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    elapsed = time.perf_counter() - start
    for conn, _ in idle:
        conn.close()
    return tally.summary(elapsed, mode="open", offered_rps=rate, scheduled=count,
                         dropped_no_connection=dropped, connections_used=opened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["closed", "open"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--max-connections", type=int, default=256)
    args = parser.parse_args()
    run: Any = asyncio.run
    try:
        import uvloop  # a cheaper event loop leaves more of the CPU to the server

        run = uvloop.run
    except ImportError:
        pass
    requests = load_requests(args.requests)
    if args.mode == "closed":
        result = run(closed_loop(args.host, args.port, requests, args.connections,
                                 args.duration))
    else:
        result = run(open_loop(args.host, args.port, requests, args.rate, args.duration,
                               args.max_connections))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
