"""One send rate for the whole deployment, in SMS segments per second, held in Redis.

A reservation-style token bucket (GCRA): every sender, in every worker process, asks Redis
for the earliest time it may send ``n`` segments; the script moves the shared "theoretical
arrival time" on by ``n / rate`` and answers how long to wait. Redis's own clock is used, so
workers on machines with skewed clocks still share one schedule. The bucket holds
``burst`` seconds of tokens: senders that fell behind (a slow database, a busy CPU) may catch
up that much, so the average over a bulletin stays at the rate; no window of ``t`` seconds
ever carries more than ``rate × (t + burst)`` segments.
"""

from __future__ import annotations

import time

import redis

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local start = math.max(tat, now - tonumber(ARGV[2]))
local after = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', after), 'PX',
           math.floor((after - now) / 1000) + 60000)
return start - now
"""

BUCKET_KEY = "amip:outbound:bucket"


class TokenBucket:
    def __init__(self, conn: redis.Redis, rate: float, *, burst_seconds: float = 1.0,
                 key: str = BUCKET_KEY) -> None:
        self._script = conn.register_script(_RESERVE)
        self._rate = rate
        self._burst_us = int(burst_seconds * 1_000_000)
        self._key = key

    def reserve(self, segments: int) -> float:
        """Seconds to wait before sending ``segments`` segments (the slot is now taken)."""
        cost_us = int(max(1, segments) * 1_000_000 / self._rate)
        wait_us = int(self._script(keys=[self._key], args=[cost_us, self._burst_us]))
        return max(0.0, wait_us / 1_000_000)

    def acquire(self, segments: int) -> None:
        """Block until ``segments`` segments may be sent."""
        wait = self.reserve(segments)
        if wait:
            time.sleep(wait)
