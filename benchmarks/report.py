"""Reports: province × language × week over 1,000,000 generated items on PostgreSQL.

Run from the repository root (a PostgreSQL server it may create a database on):

    python benchmarks/report.py [--url postgresql+psycopg://postgres@127.0.0.1:5432/amip_bench_reports]
                                [--items 1000000] [--runs 7] [--keep]

The database is dropped, re-created and migrated (Alembic, as in production), then filled
with INSERT … SELECT from generate_series (skewed languages, all 34 provinces and the
unrouted queue, one year of received times), vacuumed and analysed. The report is the very
call the CLI and the console make (gateway.reports.counts.counts), timed end to end
including result rows; then suppression of the resulting table is timed apart, and
EXPLAIN ANALYZE shows which index the plan uses.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/amip_bench_reports"

FILL = """
INSERT INTO contacts (phone_hash, phone_encrypted, pseudonym, created_at)
SELECT md5('c' || g), '\\x00'::bytea, 'P-' || g, now() FROM generate_series(1, 5000) g;

INSERT INTO items (channel, provider, external_id, contact_id, raw_text, language, province,
                   status, meta, received_at)
SELECT CASE WHEN r1 < 0.2 THEN 'voice' ELSE 'sms' END, 'twilio', 'SM' || g, 1 + g % 5000, '',
       CASE WHEN r2 < 0.45 THEN 'fa' WHEN r2 < 0.78 THEN 'ps' WHEN r2 < 0.86 THEN 'uz'
            WHEN r2 < 0.90 THEN 'tk' WHEN r2 < 0.96 THEN 'en' ELSE 'und' END,
       CASE WHEN r3 < 0.03 THEN NULL ELSE 'AF' || lpad((1 + (r3 * 1000)::int % 34)::text, 2, '0')
       END,
       (ARRAY['queued','claimed','triaged','escalated','discarded'])[1 + g % 5], '{}',
       timestamptz '2025-01-06 00:00+00' + r4 * interval '364 days'
FROM (SELECT g, random() r1, random() r2, random() r3, random() r4
      FROM generate_series(1, :n) g) s;
"""


def _prepare(url: str, n: int) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    from gateway.migrate import migrate

    migrate()
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(text(statement), {"n": n})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE items"))
    engine.dispose()
    print(f"generated {n:,} items in {time.perf_counter() - started:.1f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="reuse the data already there")
    args = parser.parse_args()
    os.environ["AMIP_DATABASE_URL"] = args.url
    if not args.keep:
        _prepare(args.url, args.items)

    from gateway.db import unit_of_work
    from gateway.reports.counts import Period, counts
    from gateway.reports.suppression import cross_table, suppress

    scenarios = [("whole year", date(2025, 1, 1), date(2025, 12, 31)),
                 ("last quarter", date(2025, 10, 1), date(2025, 12, 31))]
    by = ["province", "language"]
    results, plans = [], []
    for name, first, last in scenarios:
        span = {"date_from": first, "date_to": last}
        timings: list[float] = []
        for _ in range(args.runs):
            with unit_of_work() as session:
                started = time.perf_counter()
                report = counts(session, by=by, period=Period.WEEK, **span)
                timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        table = cross_table(report)
        published = suppress(table)
        suppress_s = time.perf_counter() - started
        withheld = sum(p.value is None for row in published.grid for p in row)
        results.append((name, report, table, timings, suppress_s, withheld))
        plans.append((name, _explain(lambda s, span=span: counts(  # type: ignore[misc]
            s, by=by, period=Period.WEEK, **span))))

    print()
    print("| range | items | groups (rows) | rows × columns | median s | min s | max s | "
          "suppression s | withheld cells |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, report, table, timings, suppress_s, withheld in results:
        print(f"| {name} | {report.total:,} | {len(report.rows):,} | {len(table.row_keys)} × "
              f"{len(table.col_keys)} | {statistics.median(timings):.3f} | "
              f"{min(timings):.3f} | {max(timings):.3f} | {suppress_s:.2f} | {withheld} |")
    for name, plan in plans:
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {name}:")
        print("\n".join(plan))
    return 0


def _explain(call: Callable[[Session], object]) -> list[str]:
    """Run ``call`` once, capture its SQL with parameters inlined, and explain it."""
    from sqlalchemy import event, text

    from gateway.db import unit_of_work

    captured: list[str] = []

    def grab(_conn: object, _cursor: object, statement: str, params: object, *_: object) -> None:
        if isinstance(params, dict):
            statement = statement % {k: f"'{v}'" for k, v in params.items()}
        captured.append(statement)

    with unit_of_work() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", grab)
        call(session)
        event.remove(engine, "before_cursor_execute", grab)
        return [r[0] for r in session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + captured[-1]))]


if __name__ == "__main__":
    raise SystemExit(main())
