"""Rate limits: counters in Django's cache, shared by every process when the cache is Redis.

Each key counts hits in a window that opens with its first hit and closes window_seconds
later (so a 30-second cool-down is 30 seconds from the first hit, not from a clock tick).
Counting is atomic on Redis and on the local-memory cache: on Redis one script counts and
opens the window in a single round trip; elsewhere `cache.add` opens the window and
`cache.incr` counts, and the backend keeps the key's expiry when incrementing.
With the local-memory cache the counters are per process; production uses Redis.
"""

import hashlib
import hmac
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.utils.functional import Promise
from django.utils.translation import ngettext

from vaxnet.core.errors import DomainError


@dataclass(frozen=True)
class RateLimitResult:
    """The outcome of one hit: whether it is allowed, and how long to wait if not."""

    allowed: bool
    retry_after: int
    count: int
    limit: int


class RateLimited(DomainError):
    """Too many requests: try again after retry_after seconds (HTTP 429, Retry-After)."""

    def __init__(self, retry_after: int, message: str | Promise | None = None) -> None:
        super().__init__("rate_limited", message or _wait_message(retry_after), status=429)
        self.retry_after = retry_after


def _wait_message(seconds: int) -> str:
    return ngettext(
        "Too many attempts. Please try again in {count} second.",
        "Too many attempts. Please try again in {count} seconds.",
        seconds,
    ).format(count=seconds)


def _cache_key(key: str) -> str:
    # Keys often hold phone numbers or addresses: keep them out of the cache in clear.
    digest = hmac.new(settings.SECRET_KEY.encode(), key.encode(), hashlib.sha256).hexdigest()
    return f"ratelimit:{digest[:40]}"


def hit(key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one hit against a key; allow it if at most limit hits fell in the window."""
    if limit < 1 or window_seconds < 1:
        raise ValueError("A rate limit needs a limit and a window of at least 1.")
    cache = caches["default"]
    count_key = _cache_key(key)
    if isinstance(cache, RedisCache):
        return _redis_hit(cache, count_key, limit, window_seconds)
    start_key = count_key + ":start"
    for _attempt in range(3):
        now = time.time()
        if cache.add(count_key, 1, timeout=window_seconds):
            cache.set(start_key, now, timeout=window_seconds)
            return RateLimitResult(allowed=True, retry_after=0, count=1, limit=limit)
        try:
            count = cache.incr(count_key)
        except ValueError:
            continue  # the window closed between add and incr: open a new one
        if count <= limit:
            return RateLimitResult(allowed=True, retry_after=0, count=count, limit=limit)
        started = cache.get(start_key)
        remaining = window_seconds if started is None else started + window_seconds - now
        retry_after = max(1, min(window_seconds, math.ceil(remaining)))
        return RateLimitResult(allowed=False, retry_after=retry_after, count=count, limit=limit)
    raise RuntimeError("The rate-limit cache keeps dropping keys.")  # pragma: no cover


# Count a hit, open the window with the first one, and say how much of it is left: in one
# round trip, atomically. The counter is the same key Django's cache.incr would count in.
_REDIS_HIT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return {count, redis.call('PTTL', KEYS[1])}
"""


def _redis_hit(
    cache: RedisCache, count_key: str, limit: int, window_seconds: int
) -> RateLimitResult:
    """Count one hit in Redis with one command (the generic path takes two or three)."""
    client = cache._cache.get_client(count_key, write=True)  # type: ignore[attr-defined]
    count, left_ms = client.eval(
        _REDIS_HIT, 1, cache.make_and_validate_key(count_key), window_seconds * 1000
    )
    if count <= limit:
        return RateLimitResult(allowed=True, retry_after=0, count=count, limit=limit)
    remaining = window_seconds if left_ms < 0 else left_ms / 1000
    retry_after = max(1, min(window_seconds, math.ceil(remaining)))
    return RateLimitResult(allowed=False, retry_after=retry_after, count=count, limit=limit)


def check_rate(
    key: str,
    limit: int,
    window_seconds: int,
    *,
    message: Callable[[int], str | Promise] | None = None,
) -> RateLimitResult:
    """Count one hit against a key, refusing it with RateLimited (429) when over the limit.

    `message`, if given, makes the refusal's text from the seconds to wait.
    """
    result = hit(key, limit, window_seconds)
    if not result.allowed:
        raise RateLimited(
            result.retry_after, message(result.retry_after) if message is not None else None
        )
    return result


def reset(key: str) -> None:
    """Forget a key's hits, so that its next hit opens a new window."""
    cache = caches["default"]
    count_key = _cache_key(key)
    cache.delete_many([count_key, count_key + ":start"])
