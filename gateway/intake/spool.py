"""Local spool for webhooks that arrive while the database is down (DESIGN invariant 1).

One encrypted file per request, written to a temporary name, fsync'd, renamed and the
directory fsync'd: after ``write`` returns, a power cut cannot lose it, and a half-written
file can never be mistaken for a whole one. Replay stores each record idempotently (the
unique provider id absorbs a record that did reach the database) and only then deletes it.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from cryptography.fernet import InvalidToken

from gateway.channels.base import InboundMessage
from gateway.contacts.crypto import Vault

log = logging.getLogger(__name__)
SUFFIX = ".spool"
STALE_TMP_SECONDS = 600  # a write takes milliseconds; ten minutes means its writer is dead


def write(spool_dir: Path, vault: Vault, msg: InboundMessage, received_at: datetime) -> Path:
    """Durably journal one inbound message; returns the file written."""
    spool_dir.mkdir(parents=True, exist_ok=True)
    record = {"message": asdict(msg), "received_at": received_at.isoformat()}
    token = vault.encrypt(json.dumps(record, ensure_ascii=False))
    name = f"{received_at.strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex}"
    tmp = spool_dir / f".{name}.tmp"
    final = spool_dir / f"{name}{SUFFIX}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            _write_all(fd, token)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        # Not durable, so never acknowledged: leave no fragment to be adopted later.
        tmp.unlink(missing_ok=True)
        raise
    os.rename(tmp, final)
    _fsync_dir(spool_dir)
    return final


def _write_all(fd: int, data: bytes) -> None:
    # os.write may write only part (a disk about to fill up, a file size limit) and still
    # succeed; the next call then raises. A partial token would be answered 200 and then
    # quarantined as unreadable: the message lost.
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def pending(spool_dir: Path) -> list[Path]:
    if not spool_dir.is_dir():
        return []
    _adopt_stale_tmp(spool_dir)
    return sorted(spool_dir.glob(f"*{SUFFIX}"))


def _adopt_stale_tmp(spool_dir: Path) -> None:
    # A gateway killed between fsync and rename leaves the only copy of a message under its
    # temporary name (the request was never answered, and Twilio does not retry a timed-out
    # SMS webhook). Old enough that no writer can still own it, it joins the replay; if it
    # is truncated, decryption fails and it is quarantined like any unreadable file.
    cutoff = time.time() - STALE_TMP_SECONDS
    for tmp in spool_dir.glob(".*.tmp"):
        try:
            if tmp.stat().st_mtime < cutoff:
                os.rename(tmp, spool_dir / f"{tmp.name[1:-len('.tmp')]}{SUFFIX}")
        except FileNotFoundError:
            continue  # another replayer adopted it first


def read(path: Path, vault: Vault) -> tuple[InboundMessage, datetime]:
    record = json.loads(vault.decrypt(path.read_bytes()))
    return InboundMessage(**record["message"]), datetime.fromisoformat(record["received_at"])


def replay(spool_dir: Path, vault: Vault,
           store: Callable[[InboundMessage, datetime], object]) -> int:
    """Move spooled messages into the database, oldest first; stops at the first DB error.

    ``store`` commits one message (idempotently) or raises. Returns how many were moved.
    """
    moved = 0
    for path in pending(spool_dir):
        # Another gateway process may replay the same directory: a file it already moved
        # (or quarantined) is simply gone, and storing twice is absorbed by the unique id.
        try:
            msg, received_at = read(path, vault)
        except FileNotFoundError:
            continue
        except (InvalidToken, ValueError, KeyError, TypeError):
            _quarantine(path)
            continue
        except OSError as exc:
            # Not readable now (permissions, EIO): raised, it failed every pass here, so no
            # later file was replayed and the rest of the maintenance pass never ran. Kept
            # for the next pass, and said loudly for an operator.
            log.error("spool file cannot be read; skipped",
                      extra={"file": path.name, "error": type(exc).__name__})
            continue
        store(msg, received_at)  # raises while the database is still down: keep the file
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        moved += 1
    if moved:
        _fsync_dir(spool_dir)
        log.info("spool replayed", extra={"count": moved})
    return moved


def _quarantine(path: Path) -> None:
    # Unreadable (wrong key, truncated by hand): keep it for an operator, never delete.
    bad = path.parent / "unreadable"
    bad.mkdir(exist_ok=True)
    try:
        os.rename(path, bad / path.name)
    except FileNotFoundError:
        return  # another replayer quarantined it first
    log.error("unreadable spool file quarantined", extra={"file": path.name})


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
