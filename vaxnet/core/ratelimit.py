"""Rate limits: counters in Django's cache, shared by every process when the cache is Redis.

Each key counts hits in a window that opens with its first hit and closes window_seconds
later (so a 30-second cool-down is 30 seconds from the first hit, not from a clock tick).
Counting is atomic on Redis and on the local-memory cache: on Redis one script counts and
opens the window in a single round trip; elsewhere `cache.add` opens the window and
`cache.incr` counts, and the backend keeps the key's expiry when incrementing.
With the local-memory cache the counters are per process; production uses Redis.

`held()` lets a hot read count its hits in the same round trip as the cache reads it makes
anyway (`count_held_and_read`): the hits check_rate would count inside the block are
held back and counted there, in the order they were made, with the same keys, windows and
refusals.

`count_held_soon` is for the hottest reads, answered from the process's memory without any
round trip (availability): each process adds up its hits and sends them to Redis together,
at most TALLY_SECONDS apart, learning every key's count across processes in the same trip.
A key's count is this process's hits plus what Redis said at the last trip; a hit that
would go over the limit is always sent and decided by Redis at once, so a refusal and its
Retry-After are exact, and within one process so is the limit. Across processes a client
can go over by what the other processes let through in one interval (their hits not sent
yet): a moment's worth of requests.
"""

import hashlib
import hmac
import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

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
    one = _Hit(key, limit, window_seconds)
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        results, _values = _redis_count(cache, [one], [])
        return results[0]
    return _generic_hit(cache, _cache_key(key), limit, window_seconds)


def _generic_hit(cache: Any, count_key: str, limit: int, window_seconds: int) -> RateLimitResult:
    """Count one hit with the cache's add and incr (any backend; atomic on local memory)."""
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


@dataclass(frozen=True)
class _Hit:
    key: str
    limit: int
    window_seconds: int
    message: Callable[[int], str | Promise] | None = None

    def __post_init__(self) -> None:
        if self.limit < 1 or self.window_seconds < 1:
            raise ValueError("A rate limit needs a limit and a window of at least 1.")


# Count hits (KEYS[1..n]; ARGV: n, then each window in ms, then each limit), opening each
# window with its first hit, and say how much of it is left; stop at the first hit over its
# limit, as check_rate would; then, if all were allowed, read the other keys. One round trip,
# atomic. A counter is the same key Django's cache.incr would count in.
_REDIS_COUNT = """
local n = tonumber(ARGV[1])
local counts = {}
for i = 1, n do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then
    redis.call('PEXPIRE', KEYS[i], ARGV[1 + i])
  end
  counts[#counts + 1] = count
  counts[#counts + 1] = redis.call('PTTL', KEYS[i])
  if count > tonumber(ARGV[1 + n + i]) then
    return {counts, {}}
  end
end
if #KEYS > n then
  return {counts, redis.call('MGET', unpack(KEYS, n + 1))}
end
return {counts, {}}
"""
_REDIS_COUNT_SHA = hashlib.sha1(_REDIS_COUNT.encode()).hexdigest()  # noqa: S324 - Redis's id


def _run_script(cache: RedisCache, script: str, sha: str, keys: list[str], args: list[Any]) -> Any:
    """Run a Lua script by its id (sending it whole if Redis does not know it); return the reply."""
    from redis.exceptions import NoScriptError

    client = cache._cache  # type: ignore[attr-defined]
    # vaxnet.core.cache's client runs it on its own connection; Django's through redis-py.
    run = getattr(client, "command", None) or client.get_client(None, write=True).execute_command
    try:
        return run("EVALSHA", sha, len(keys), *keys, *args)
    except NoScriptError:  # Redis restarted, or another server: send the script itself
        return run("EVAL", script, len(keys), *keys, *args)


def _redis_count(
    cache: RedisCache, hits: Sequence[_Hit], reads: Sequence[str]
) -> tuple[list[RateLimitResult], dict[str, Any]]:
    """Count hits and read cache keys in one command; stop counting at the first refusal.

    Return the results of the hits counted and, when every one was allowed, the values
    found (as Django's cache.get_many would).
    """
    # make_key, not make_and_validate_key: the keys are vaxnet's own (digests and codes),
    # and the validation (a warning about memcached) costs as much as the making.
    keys = [cache.make_key(_cache_key(hit.key)) for hit in hits]
    keys += [cache.make_key(key) for key in reads]
    args = [len(hits)]
    args += [hit.window_seconds * 1000 for hit in hits] + [hit.limit for hit in hits]
    counts, values = _run_script(cache, _REDIS_COUNT, _REDIS_COUNT_SHA, keys, args)
    results = []
    for hit, count, left_ms in zip(hits, counts[::2], counts[1::2], strict=False):
        if count <= hit.limit:
            results.append(RateLimitResult(True, 0, count, hit.limit))
            continue
        remaining = hit.window_seconds if left_ms < 0 else left_ms / 1000
        retry_after = max(1, min(hit.window_seconds, math.ceil(remaining)))
        results.append(RateLimitResult(False, retry_after, count, hit.limit))
    loads = cache._cache._serializer.loads  # type: ignore[attr-defined]
    found = {
        key: loads(value) for key, value in zip(reads, values, strict=False) if value is not None
    }
    return results, found


@dataclass
class Held:
    """Hits check_rate was asked to count inside `held()`, not counted yet."""

    hits: list[_Hit] = field(default_factory=list)


_held: ContextVar[Held | None] = ContextVar("vaxnet_ratelimit_held", default=None)


@contextmanager
def held() -> Iterator[Held]:
    """Hold back the hits check_rate counts in the block, for `count_held_and_read`.

    Hits still held when the block ends are counted then, even when it ends with an error;
    one over its limit raises RateLimited, as check_rate would have at the start.
    """
    hits = Held()
    token = _held.set(hits)
    try:
        yield hits
    finally:
        _held.reset(token)
        count_held_and_read(hits, [])


def count_held_and_read(held: Held, keys: Sequence[str]) -> dict[str, Any]:
    """Count the held hits, then read keys from the cache (as cache.get_many does).

    On Redis, one round trip for both. The hits are counted in the order they were made,
    and the first one over its limit raises RateLimited without counting those after it.
    """
    hits, held.hits = held.hits, []
    if not hits and not keys:
        return {}
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        results, found = _redis_count(cache, hits, keys)
        for hit, result in zip(hits, results, strict=False):
            _refuse(hit, result)
        return found
    for hit in hits:
        _refuse(hit, _generic_hit(cache, _cache_key(hit.key), hit.limit, hit.window_seconds))
    return cache.get_many(keys) if keys else {}


def _refuse(hit: _Hit, result: RateLimitResult) -> None:
    if not result.allowed:
        message = hit.message(result.retry_after) if hit.message is not None else None
        raise RateLimited(result.retry_after, message)


def check_rate(
    key: str,
    limit: int,
    window_seconds: int,
    *,
    message: Callable[[int], str | Promise] | None = None,
) -> RateLimitResult:
    """Count one hit against a key, refusing it with RateLimited (429) when over the limit.

    `message`, if given, makes the refusal's text from the seconds to wait. Inside
    `held()` the hit is held back and counted later; the result returned is then only
    provisional (allowed, count 0).
    """
    pending = _Hit(key, limit, window_seconds, message)
    holding = _held.get()
    if holding is not None:
        holding.hits.append(pending)
        return RateLimitResult(allowed=True, retry_after=0, count=0, limit=limit)
    result = hit(key, limit, window_seconds)
    _refuse(pending, result)
    return result


def reset(key: str) -> None:
    """Forget a key's hits, so that its next hit opens a new window."""
    cache = caches["default"]
    count_key = _cache_key(key)
    cache.delete_many([count_key, count_key + ":start"])
    if isinstance(cache, RedisCache):
        _tally.forget(cache.make_key(count_key))


# Counting soon (see the module's docstring).

TALLY_SECONDS = 0.05
# Keys whose last count this process remembers; beyond it, the oldest are forgotten (their
# next hit counts as if this process had seen none, until the next trip).
TALLY_KEYS = 100_000

# Add each key's hits (KEYS[i]; ARGV: hits and window in ms, in turn), opening the window of
# a new key, and return each count and the milliseconds left in its window.
_REDIS_ADD = """
local out = {}
for i = 1, #KEYS do
  local count = redis.call('INCRBY', KEYS[i], ARGV[2 * i - 1])
  local left = redis.call('PTTL', KEYS[i])
  if left < 0 then
    left = tonumber(ARGV[2 * i])
    redis.call('PEXPIRE', KEYS[i], left)
  end
  out[#out + 1] = count
  out[#out + 1] = left
end
return out
"""
_REDIS_ADD_SHA = hashlib.sha1(_REDIS_ADD.encode()).hexdigest()  # noqa: S324 - Redis's id


class _Tally:
    """This process's hits not sent to Redis yet, and the counts Redis gave at the last trip."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sending = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self.pid = os.getpid()
        # Cache key: [hits, window in ms], for hits not sent yet and for those on their way.
        self.pending: dict[str, list[int]] = {}
        self.in_flight: dict[str, int] = {}
        # Cache key: (count, the moment its window closes, as time.monotonic()).
        self.known: dict[str, tuple[int, float]] = {}
        self.sent_at = time.monotonic()

    def hit(self, cache: RedisCache, one: _Hit) -> RateLimitResult:
        """Count one hit; send the hits kept so far when it is time or this one may be over."""
        key = cache.make_key(_cache_key(one.key))
        now = time.monotonic()
        with self._lock:
            if self.pid != os.getpid():  # a forked worker: the parent's hits are not its own
                self._reset()
            entry = self.pending.setdefault(key, [0, one.window_seconds * 1000])
            entry[0] += 1
            count, closes_at = self.known.get(key, (0, now))
            if closes_at <= now:
                count = 0
            estimate = count + entry[0] + self.in_flight.get(key, 0)
            over = estimate > one.limit
            due = over or now - self.sent_at >= TALLY_SECONDS
        if not due:
            return RateLimitResult(True, 0, estimate, one.limit)
        self._send(cache)  # this hit, or a trip another thread made while this one waited
        with self._lock:
            count, closes_at = self.known.get(key, (estimate, 0.0))
        if count <= one.limit:
            return RateLimitResult(True, 0, count, one.limit)
        remaining = closes_at - time.monotonic()
        if remaining <= 0:
            remaining = one.window_seconds
        retry_after = max(1, min(one.window_seconds, math.ceil(remaining)))
        return RateLimitResult(False, retry_after, count, one.limit)

    def _send(self, cache: RedisCache) -> None:
        """Send every hit kept so far in one trip, and keep the counts Redis answers."""
        with self._sending:
            with self._lock:
                taken, self.pending = self.pending, {}
                for key, (hits, _window) in taken.items():
                    self.in_flight[key] = self.in_flight.get(key, 0) + hits
                self.sent_at = time.monotonic()
            if not taken:
                return
            keys = list(taken)
            args = [value for key in keys for value in taken[key]]
            try:
                out = _run_script(cache, _REDIS_ADD, _REDIS_ADD_SHA, keys, args)
            finally:
                with self._lock:
                    for key in keys:
                        left = self.in_flight.pop(key, 0) - taken[key][0]
                        if left > 0:
                            self.in_flight[key] = left
            now = time.monotonic()
            counts = {
                key: (int(count), int(left_ms))
                for key, count, left_ms in zip(keys, out[::2], out[1::2], strict=True)
            }
            with self._lock:
                for key, (count, left_ms) in counts.items():
                    self.known.pop(key, None)  # re-inserted last: the newest at the end
                    self.known[key] = (count, now + max(left_ms, 0) / 1000)
                if len(self.known) > TALLY_KEYS:
                    self.known = {k: v for k, v in self.known.items() if v[1] > now}
                    if len(self.known) > TALLY_KEYS:
                        self.known = dict(list(self.known.items())[-(TALLY_KEYS // 2) :])

    def forget(self, key: str) -> None:
        """Forget what this process knows of a cache key's hits."""
        with self._lock:
            self.pending.pop(key, None)
            self.known.pop(key, None)


_tally = _Tally()


def count_held_soon(held: Held) -> None:
    """Count the held hits in this process and send them to Redis with others, soon.

    As `count_held_and_read` without keys, but without a round trip of its own unless a
    hit may be over its limit or the last trip is TALLY_SECONDS old. Without Redis (the
    local-memory cache is per process anyway), the hits are counted at once.
    """
    hits, held.hits = held.hits, []
    cache = caches["default"]
    for one in hits:
        if isinstance(cache, RedisCache):
            result = _tally.hit(cache, one)
        else:
            result = _generic_hit(cache, _cache_key(one.key), one.limit, one.window_seconds)
        _refuse(one, result)
