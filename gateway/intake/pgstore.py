"""An inbound SMS stored in one PostgreSQL statement: the webhook's hot path.

The ORM path (``service.store_sms``: look up the contact, insert it if new, insert the item,
commit) costs five round trips and most of a webhook's CPU. On PostgreSQL the same work is
one statement with data-modifying CTEs, run in autocommit, so it is durable when it returns
(``synchronous_commit`` as the server has it). Uniqueness is still decided by the
constraints: ``ON CONFLICT DO NOTHING`` on the contact's hash and on (provider, external_id).

All CTEs share one snapshot, so a row another transaction commits while this statement runs
is invisible to it: a contact or item that a concurrent request has just inserted leaves
this statement with no row. Running it again (a new snapshot) then finds that row.
SQLite has no data-modifying CTEs; it keeps the ORM path (the embedded demo).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from gateway.channels.base import InboundMessage
from gateway.contacts.crypto import Vault, to_e164
from gateway.contacts.service import new_contact_values
from gateway.db import get_autocommit_engine
from gateway.intake.states import ItemStatus
from gateway.settings import Settings

IDLE = TransactionStatus.IDLE

STORE_SMS = """
WITH known AS (
    SELECT id, preferred_language FROM contacts WHERE phone_hash = %(phone_hash)s
), created AS (
    INSERT INTO contacts (phone_hash, phone_encrypted, pseudonym, area_code)
    SELECT %(phone_hash)s, %(phone_encrypted)s, %(pseudonym)s, CAST(%(area_code)s AS varchar)
    WHERE NOT EXISTS (SELECT 1 FROM known)
    ON CONFLICT DO NOTHING
    RETURNING id
), contact AS (
    SELECT id FROM known UNION ALL SELECT id FROM created
), stored AS (
    INSERT INTO items (channel, provider, external_id, contact_id, raw_text, num_segments,
                       meta, status, received_at)
    SELECT 'sms', %(provider)s, %(external_id)s, contact.id, %(raw_text)s,
           CAST(%(num_segments)s AS integer), CAST(%(meta)s AS json), %(status)s,
           %(received_at)s
    FROM contact
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT id, true, (SELECT preferred_language FROM known) FROM stored
UNION ALL
SELECT id, false, (SELECT preferred_language FROM known)
FROM items WHERE provider = %(provider)s AND external_id = %(external_id)s
LIMIT 1
"""

# A concurrent first message from the same number, the same MessageSid posted twice at
# once, or a new number whose pseudonym another number holds costs one more run; three
# runs without a row mean something else is wrong.
ATTEMPTS = 3


@dataclass(frozen=True)
class Stored:
    item_id: int
    created: bool
    # The language the sender chose (LANGUAGE keyword), for the acknowledgement; a new
    # contact has none.
    preferred_language: str | None = None


class NotStored(RuntimeError):
    """The statement kept returning no row (a bug, or three pseudonym collisions in a row)."""


def store_sms(msg: InboundMessage, *, vault: Vault, region: str,
              received_at: datetime) -> Stored:
    for params in _runs(msg, vault=vault, region=region, received_at=received_at):
        row = _execute(params)
        if row is not None:
            return Stored(item_id=row[0], created=bool(row[1]), preferred_language=row[2])
    raise NotStored("inbound SMS not stored after retries")


def _params(msg: InboundMessage, e164: str, *, vault: Vault,
            received_at: datetime) -> dict[str, Any]:
    meta = dict(msg.meta, num_media=str(msg.num_media))
    return {
        **new_contact_values(vault, e164),
        "provider": msg.provider, "external_id": msg.external_id, "raw_text": msg.body,
        "num_segments": msg.num_segments, "meta": json.dumps(meta),
        "status": ItemStatus.RECEIVED.value, "received_at": received_at,
    }


def _runs(msg: InboundMessage, *, vault: Vault, region: str,
          received_at: datetime) -> Iterator[dict[str, Any]]:
    """The parameters of each run, at most ``ATTEMPTS``: a run after the first offers the
    contact (if it is still new) the next pseudonym variant, in case another number holds
    this one. A run repeated for a race finds the contact known; the pseudonym is unused."""
    e164 = to_e164(msg.sender, region)
    params = _params(msg, e164, vault=vault, received_at=received_at)
    yield params
    for variant in range(1, ATTEMPTS):
        yield {**params, "pseudonym": vault.pseudonym(e164, variant)}


def _execute(params: dict[str, Any]) -> Any:
    """One run on a pooled connection; a connection found dead is replaced once."""
    engine = get_autocommit_engine()
    for attempt in (1, 2):
        try:
            with engine.connect() as conn:
                return conn.exec_driver_sql(STORE_SMS, params).first()
        except sa_exc.DBAPIError as exc:
            if isinstance(exc.orig, psycopg.errors.ReadOnlySqlTransaction):
                # A standby or a primary set read-only: unavailable for writes, as on the
                # webhook's path (UNAVAILABLE), not a fault of this message. Said as
                # SQLAlchemy's "unavailable" error, without the statement's parameters.
                raise sa_exc.OperationalError(None, None, exc.orig) from None
            # SQLAlchemy has invalidated the pool: the next checkout connects afresh. If the
            # server is really down, that one fails too and the caller spools the message.
            if not (exc.connection_invalidated and attempt == 1):
                raise
    raise AssertionError("unreachable")


# What "the database is not reachable now" looks like below SQLAlchemy (PoolTimeout is an
# OperationalError): the caller spools the message. A read-only server (a standby reached
# during a failover, a primary set read-only for maintenance) cannot take writes either.
UNAVAILABLE = (psycopg.OperationalError, psycopg.InterfaceError,
               psycopg.errors.ReadOnlySqlTransaction)


class SmsWriter:
    """``store_sms`` on the event loop, for the webhook route.

    In a worker thread every database wait meant winning the GIL back from the event loop,
    which cost the gateway more CPU than the statement itself (BENCHMARKS.md). Async
    connections belong to the event loop that opened them, so the app opens the writer in
    its lifespan and closes it at shutdown.
    """

    def __init__(self, database_url: str, settings: Settings) -> None:
        conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._connections = AsyncConnections(
            conninfo, size=settings.db_pool_size, wait_seconds=settings.db_pool_timeout_seconds,
            statement_timeout_ms=int(settings.db_statement_timeout_seconds * 1000))
        self._deadline = settings.db_statement_timeout_seconds

    async def close(self) -> None:
        await self._connections.close()

    async def store(self, msg: InboundMessage, *, vault: Vault, region: str,
                    received_at: datetime) -> Stored:
        for params in _runs(msg, vault=vault, region=region, received_at=received_at):
            row = await self._execute(params)
            if row is not None:
                return Stored(item_id=row[0], created=bool(row[1]), preferred_language=row[2])
        raise NotStored("inbound SMS not stored after retries")

    async def _execute(self, params: dict[str, Any]) -> Any:
        for attempt in (1, 2):
            try:
                async with self._connections.connection() as conn:
                    return await _run_statement(conn, params, self._deadline)
            except (PoolBusy, StatementTimeout):
                raise
            except (psycopg.OperationalError, psycopg.errors.ReadOnlySqlTransaction):
                if attempt == 2:
                    raise
                # A dead connection (the server restarted) means the idle ones are dead
                # too (or, read-only, still on a demoted server): drop them all, then one
                # more try on a new connection. If the server is really down (or still
                # read-only), that one fails at once and the caller spools the message.
                await self._connections.drop_idle()
        raise AssertionError("unreachable")


# How long a cancelled statement may take to come back before its connection is cut.
CANCEL_GRACE_SECONDS = 1.0


async def _run_statement(conn: psycopg.AsyncConnection[Any], params: dict[str, Any],
                         deadline: float) -> Any:
    """STORE_SMS, answered within ``deadline`` (+ the grace) whatever the server does.

    Twilio gives up after 15 s and does not retry an SMS webhook. A statement that waits (a
    lock held by a migration) is cancelled by PostgreSQL itself at the connection's
    ``statement_timeout`` (= the deadline) and the caller spools the message; the connection
    stays usable. A server that answers nothing at all cannot cancel anything (psycopg's own
    cancel would wait 10 s more): a timer cuts the connection under it after the grace.
    A timer handle, not a task per statement: this runs for every webhook.
    """
    severed: list[bool] = []
    cut = asyncio.get_running_loop().call_later(deadline + CANCEL_GRACE_SECONDS, _sever,
                                                conn, severed)
    try:
        cursor = await conn.execute(STORE_SMS, params)
        return await cursor.fetchone()
    except psycopg.errors.QueryCanceled:
        raise StatementTimeout(f"statement cancelled after {deadline} s") from None
    except psycopg.OperationalError:
        # Whether the timer cut it, not the clock: uvloop's time is the millisecond cached
        # when the loop woke up, and could still read a hair before the timer's deadline.
        if not severed:
            raise  # a connection that died by itself: the caller retries once
        raise StatementTimeout(f"no answer within {deadline} s; connection cut") from None
    finally:
        cut.cancel()


def _sever(conn: psycopg.AsyncConnection[Any], severed: list[bool]) -> None:
    """Shut the connection's socket down without closing its descriptor.

    psycopg still has the descriptor registered with the event loop; closing it here would
    free the number for the next socket (another request's connect) and psycopg's clean-up
    would then unregister that one. The pool closes the connection properly afterwards.
    """
    severed.append(True)
    with contextlib.suppress(OSError, psycopg.Error), \
            socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
        sock.shutdown(socket.SHUT_RDWR)


class AsyncConnections:
    """At most ``size`` autocommit connections, opened on demand, never pinged.

    Not ``psycopg_pool``: it refills in the background with exponential back-off and makes
    a request wait for its timeout while the server is down, and for the next refill after
    it is back. Here a request that finds no idle connection connects itself, so an outage
    costs one refused connect (then the spool) and recovery is immediate.
    """

    def __init__(self, conninfo: str, *, size: int, wait_seconds: float,
                 statement_timeout_ms: int) -> None:
        self._conninfo = conninfo
        self._options = f"-c statement_timeout={statement_timeout_ms}"
        self._wait = wait_seconds
        self._slots = asyncio.Semaphore(size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._slots.locked():  # every connection busy: wait, but not for ever
            try:
                await asyncio.wait_for(self._slots.acquire(), self._wait)
            except TimeoutError:
                raise PoolBusy(f"no database connection free within {self._wait} s") from None
        else:  # the common case, without wait_for's task
            await self._slots.acquire()
        try:
            conn = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(
                self._conninfo, autocommit=True, connect_timeout=3, options=self._options)
            try:
                yield conn
            finally:
                if conn.closed or conn.broken or conn.info.transaction_status != IDLE:
                    await conn.close()
                else:
                    self._idle.append(conn)
        finally:
            self._slots.release()

    async def drop_idle(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            await conn.close()

    async def close(self) -> None:
        await self.drop_idle()


class PoolBusy(psycopg.OperationalError):
    """Every connection stayed busy for the whole wait: treated as "database unavailable"."""


class StatementTimeout(psycopg.OperationalError):
    """The statement outlived its deadline (a lock, a hung server): "database unavailable"."""


async def open_writer(database_url: str, settings: Settings) -> SmsWriter | None:
    """The app's writer on PostgreSQL; None on SQLite (the synchronous path serves it)."""
    if not database_url.startswith("postgresql"):
        return None
    return SmsWriter(database_url, settings)
