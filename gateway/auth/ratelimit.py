"""Fixed-window login rate limit per client address, in Redis."""

from __future__ import annotations

import logging

import redis

from gateway.queue import get_redis

log = logging.getLogger(__name__)


def allow(key: str, *, limit: int, window_seconds: int = 60) -> bool:
    """Count one attempt; False once ``limit`` is passed within the window.

    If Redis is unreachable the attempt is allowed: the per-account lockout in the database
    still stops password guessing, and staff are not locked out by a Redis outage.
    """
    name = f"amip:ratelimit:{key}"
    try:
        conn = get_redis()
        count = int(conn.incr(name))  # type: ignore[arg-type]
        if count == 1:  # the first attempt opens the window (EXPIRE NX needs Redis 7)
            conn.expire(name, window_seconds)
    except redis.RedisError as exc:
        log.warning("rate limiter unavailable", extra={"error": type(exc).__name__})
        return True
    return count <= limit
