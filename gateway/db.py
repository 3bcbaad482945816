"""Database engine, sessions and the one transaction boundary.

``unit_of_work`` is the only place that commits. Services ``flush()``; jobs buffered with
``gateway.queue.enqueue_after_commit`` are sent only once the commit has succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement

from gateway.settings import get_settings

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# One engine per (process, url): a forked worker must never reuse its parent's pool.
_engines: dict[tuple[int, str], Engine] = {}


def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
    busy_ms = get_settings().sqlite_busy_timeout_ms
    cur = dbapi_conn.cursor()
    # WAL lets the gateway write while workers read; busy_timeout turns lock contention
    # into a short wait instead of "database is locked".
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """This process's engine. ``hide_parameters``: SQL errors must never carry a message
    text or a number into logs or tracebacks."""
    return _per_process(_engines, url, _build_engine)


def _build_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        engine = create_engine(url, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         hide_parameters=True, connect_args={"connect_timeout": 3})


# The webhook's single-statement writes (PostgreSQL): autocommit, so the statement is its
# own transaction (no BEGIN/COMMIT round trips), and no pre-ping (one more round trip per
# checkout). A connection that died meanwhile fails its statement, which invalidates the
# pool; the caller retries once on a fresh connection (gateway/intake/pgstore.py).
_autocommit_engines: dict[tuple[int, str], Engine] = {}


def get_autocommit_engine(url: str | None = None) -> Engine:
    return _per_process(_autocommit_engines, url, _build_autocommit_engine)


def _build_autocommit_engine(url: str) -> Engine:
    settings = get_settings()
    # The same deadline as the webhook's statements: the spool replay (maintenance thread)
    # gives up on a lock (a migration) and retries next pass instead of waiting it out.
    timeout_ms = int(settings.db_statement_timeout_seconds * 1000)
    return create_engine(url, isolation_level="AUTOCOMMIT", pool_size=settings.db_pool_size,
                         max_overflow=0, pool_timeout=settings.db_pool_timeout_seconds,
                         hide_parameters=True, connect_args={
                             "connect_timeout": 3, "options": f"-c statement_timeout={timeout_ms}"})


def _per_process(cache: dict[tuple[int, str], Engine], url: str | None,
                 build: Callable[[str], Engine]) -> Engine:
    url = url or get_settings().resolved_database_url
    key = (os.getpid(), url)
    engine = cache.get(key)
    if engine is None:
        engine = cache[key] = build(url)
    return engine


def dialect_name(url: str | None = None) -> str:
    return get_engine(url).dialect.name


def dispose_engines() -> None:
    for engine in (*_engines.values(), *_autocommit_engines.values()):
        engine.dispose()
    _engines.clear()
    _autocommit_engines.clear()
    _factories.clear()


# One sessionmaker per engine: each sessionmaker() builds a new Session subclass whose event
# dispatch is set up on first use, which cost more CPU than a webhook's INSERT did.
_factories: dict[Engine, sessionmaker[Session]] = {}


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    engine = get_engine(url)
    factory = _factories.get(engine)
    if factory is None:
        factory = _factories[engine] = sessionmaker(bind=engine, expire_on_commit=False)
    return factory


@contextmanager
def unit_of_work(url: str | None = None) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error; post-commit jobs fire after."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


class _OnConflictDoNothing(ClauseElement):
    """``ON CONFLICT DO NOTHING`` with no target (any unique constraint): the same SQL on
    PostgreSQL and SQLite ≥ 3.24."""

    __visit_name__ = "amip_on_conflict_do_nothing"
    inherit_cache = True
    _traverse_internals: list[Any] = []


@compiles(_OnConflictDoNothing)
def _render_do_nothing(element: _OnConflictDoNothing, compiler: Any, **kw: Any) -> str:
    return "ON CONFLICT DO NOTHING"


class InsertIgnore(Insert):
    """INSERT … ON CONFLICT DO NOTHING that SQLAlchemy can cache.

    The dialects' own ``insert(...).on_conflict_do_nothing()`` carry no cache key in
    SQLAlchemy 2.0, so every execution compiled the statement again: about a third of the
    CPU an SMS webhook spent in the database layer (see BENCHMARKS.md).
    """

    inherit_cache = True

    def __init__(self, table: Any) -> None:
        super().__init__(table)
        self._post_values_clause = _OnConflictDoNothing()


def insert_ignore(session: Session, model: Any) -> Any:
    """INSERT … ON CONFLICT DO NOTHING (idempotency by constraint), for either dialect."""
    return InsertIgnore(model)
