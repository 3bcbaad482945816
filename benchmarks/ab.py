"""A/B of two checkouts of the gateway: req/s and CPU per request, in one run.

    git worktree add /tmp/amip-before <commit>
    python benchmarks/ab.py /tmp/amip-before . [--cycles 5]

Both gateways (two uvicorn processes each, ``benchmarks/webhook.py``'s ``Gateway``) run at
once on one fresh ``amip_bench`` database; wrk drives one of them at a time, in alternating
3-s closed-loop phases per route (the order flips every cycle), so a drift in the VM's
speed falls on both. Prints the median req/s and service-side CPU ms per request (gateway +
PostgreSQL + Redis) of each checkout and route. Needs wrk (`apt-get install wrk`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks import webhook as W  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="checkout A (e.g. a worktree of the old commit)")
    parser.add_argument("b", type=Path, help="checkout B")
    parser.add_argument("--cycles", type=int, default=5)
    args = parser.parse_args()
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    opts = W.parse_args(["--duration", "3", "--generator", "wrk"])
    db_url = W.fresh_database(opts.admin_url, opts.database)
    from gateway.migrate import migrate

    os.environ["AMIP_DATABASE_URL"] = db_url
    migrate(db_url)
    import redis

    redis.Redis.from_url(opts.redis_url).flushdb()
    token = secrets.token_hex(16)
    gateways, benches = {}, {}
    try:
        for name, tree in trees.items():
            work = Path(tempfile.mkdtemp(prefix=f"amip-ab-{name}-"))
            port = W.free_port()
            env = dict(W.server_env(db_url, opts.redis_url, work / "data", token),
                       PYTHONPATH=str(tree))
            W.ROOT = tree  # the Gateway starts `-m benchmarks.uvicorn_fd` in this checkout
            gateways[name] = W.Gateway(env, port, opts.workers, work / "gateway.log")
            W.wait_healthy(port)
            benches[name] = W.Bench(opts, port, token, work, gateways[name].pids, env,
                                    W.RequestMaker(token, port))
        for bench in benches.values():
            bench.closed("warm-up", W.DURABLE_PATH, 6000)
        results: dict[tuple[str, str], list[tuple[float, float]]] = {
            (n, r): [] for n in trees for r in ("durable", "ceiling")}
        for cycle in range(args.cycles):
            for route, path in (("durable", W.DURABLE_PATH), ("ceiling", W.CEILING_PATH)):
                for name in ("A", "B") if cycle % 2 == 0 else ("B", "A"):
                    phase = benches[name].closed(f"{name} {route} #{cycle + 1}", path, 25_000)
                    results[(name, route)].append((phase.result["rps"], W.cpu_ms(phase)))
        print()
        for (name, route), values in results.items():
            print(f"{name} {route}: median {statistics.median(v[0] for v in values):.0f} req/s, "
                  f"{statistics.median(v[1] for v in values):.3f} CPU ms/request")
    finally:
        for gateway in gateways.values():
            gateway.stop()


if __name__ == "__main__":
    main()
