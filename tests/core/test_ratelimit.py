"""Rate limits count hits atomically in the cache: local memory and Redis alike."""

import os
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import time_machine
from django.core.cache import caches
from django.test import override_settings

from vaxnet.core import ratelimit
from vaxnet.core.ratelimit import (
    RateLimited,
    check_rate,
    count_held_and_read,
    count_held_soon,
    held,
    hit,
    reset,
)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REDIS_BACKENDS = {
    # vaxnet's own backend (production) and Django's, which counts through redis-py.
    "redis": "vaxnet.core.cache.RedisCache",
    "django-redis": "django.core.cache.backends.redis.RedisCache",
}


def _redis_reachable() -> bool:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture(params=["locmem", "redis", "django-redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test on the local-memory cache, then on the real Redis (two backends)."""
    if request.param == "locmem":
        yield "locmem"
        return
    if not _redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable (CI=true).")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable.")
    caches_setting = {"default": {"BACKEND": REDIS_BACKENDS[request.param], "LOCATION": REDIS_URL}}
    with override_settings(CACHES=caches_setting):
        assert "Redis" in type(caches["default"]).__name__
        yield "redis"


def _key() -> str:
    return f"test:{uuid.uuid4()}"


def test_it_allows_up_to_the_limit_then_refuses(backend: str) -> None:
    key = _key()

    results = [hit(key, 3, 60) for _ in range(5)]

    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.count for r in results] == [1, 2, 3, 4, 5]
    assert all(r.retry_after == 0 for r in results[:3])
    assert all(55 <= r.retry_after <= 60 for r in results[3:])


def test_it_counts_each_key_apart(backend: str) -> None:
    first, second = _key(), _key()

    hit(first, 1, 60)

    assert not hit(first, 1, 60).allowed
    assert hit(second, 1, 60).allowed


def test_it_allows_exactly_the_limit_when_threads_race(backend: str) -> None:
    key, limit, workers = _key(), 10, 40
    barrier = threading.Barrier(workers)
    allowed: list[bool] = []
    backends: set[str] = set()

    def run() -> None:
        backends.add(type(caches["default"]).__name__)
        barrier.wait()
        allowed.append(hit(key, limit, 60).allowed)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(allowed) == workers
    assert allowed.count(True) == limit
    assert backends == {"RedisCache" if backend == "redis" else "LocMemCache"}


def test_it_opens_a_new_window_when_the_last_one_ends(backend: str) -> None:
    key = _key()
    hit(key, 1, 1)
    refused = hit(key, 1, 1)

    time.sleep(1.1)

    assert not refused.allowed and refused.retry_after == 1
    assert hit(key, 1, 1).allowed


def test_it_counts_the_window_from_the_first_hit() -> None:
    key = _key()
    with time_machine.travel(1_900_000_005.0, tick=False) as traveller:
        hit(key, 1, 30)
        traveller.shift(12)
        refused = hit(key, 1, 30)
        traveller.shift(18)
        again = hit(key, 1, 30)

    assert refused.retry_after == 18
    assert again.allowed


def test_it_raises_a_429_that_says_when_to_retry(backend: str) -> None:
    key = _key()
    check_rate(key, 1, 30)

    with pytest.raises(RateLimited) as info:
        check_rate(key, 1, 30)

    assert info.value.code == "rate_limited"
    assert info.value.status == 429
    assert 25 <= info.value.retry_after <= 30
    assert f"{info.value.retry_after} seconds" in str(info.value.message)


def test_it_words_the_refusal_as_the_caller_asks() -> None:
    key = _key()
    check_rate(key, 1, 30)

    with pytest.raises(RateLimited) as info:
        check_rate(key, 1, 30, message=lambda seconds: f"wait {seconds}s")

    assert str(info.value.message) == f"wait {info.value.retry_after}s"


def test_it_forgets_a_key_on_reset(backend: str) -> None:
    key = _key()
    hit(key, 1, 60)

    reset(key)

    assert hit(key, 1, 60).allowed


def test_it_keeps_keys_out_of_the_cache_in_clear() -> None:
    key = "otp:number:TEST:+919876543210"
    hit(key, 5, 60)

    stored = list(caches["default"]._cache)  # type: ignore[attr-defined]

    assert stored and not any("919876543210" in name for name in stored)


def test_it_refuses_a_limit_or_window_below_one() -> None:
    with pytest.raises(ValueError):
        hit(_key(), 0, 60)
    with pytest.raises(ValueError):
        hit(_key(), 1, 0)


def test_it_counts_held_hits_when_the_block_ends(backend: str) -> None:
    key = _key()

    with held():
        provisional = check_rate(key, 1, 60)
        during = hit(_key(), 1, 60)  # hit() itself is never held
    with pytest.raises(RateLimited) as info, held():
        check_rate(key, 1, 60)

    assert provisional.count == 0 and during.count == 1
    assert 55 <= info.value.retry_after <= 60
    assert hit(key, 5, 60).count == 3


def test_it_counts_held_hits_even_when_the_block_fails(backend: str) -> None:
    key = _key()

    with pytest.raises(ZeroDivisionError), held():
        check_rate(key, 1, 60)
        _ = 1 / 0
    # Over the limit, the refusal wins, as it would have had the hit been counted at once.
    with pytest.raises(RateLimited), held():
        check_rate(key, 1, 60)
        _ = 1 / 0


def test_it_counts_held_hits_and_reads_keys_together(backend: str) -> None:
    first, second = _key(), _key()
    cache = caches["default"]
    name = f"test:{uuid.uuid4()}"
    cache.set(name, "v1", 60)

    with held() as hits:
        check_rate(first, 2, 60)
        check_rate(second, 2, 60)
        found = count_held_and_read(hits, [name, name + ":missing"])

    assert found == {name: "v1"}
    assert (hit(first, 5, 60).count, hit(second, 5, 60).count) == (2, 2)


def test_it_stops_counting_held_hits_at_the_first_refusal(backend: str) -> None:
    first, second = _key(), _key()
    hit(first, 1, 60)

    with pytest.raises(RateLimited), held() as hits:
        check_rate(first, 1, 60, message=lambda seconds: f"wait {seconds}s")
        check_rate(second, 1, 60)
        count_held_and_read(hits, [])

    assert hit(second, 5, 60).count == 1  # the second was never counted


# Counting soon: the hot reads' hits, sent to Redis together.


def _soon(key: str, limit: int, window: int = 60) -> bool:
    """Count one hit as a hot read does; return whether it was allowed."""
    with held() as rates:
        check_rate(key, limit, window)
        try:
            count_held_soon(rates)
        except RateLimited:
            return False
    return True


def test_it_counts_soon_to_exactly_the_limit_in_one_process(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 1e9)  # trips only to decide a refusal
    key = _key()

    allowed = [_soon(key, 3) for _ in range(5)]

    assert allowed == [True, True, True, False, False]
    # The refusal was Redis's: it counted every hit and says when the window ends.
    assert not hit(key, 3, 60).allowed
    with pytest.raises(RateLimited) as refused, held() as rates:
        check_rate(key, 3, 60)
        count_held_soon(rates)
    assert 55 <= refused.value.retry_after <= 60


def test_it_sends_the_hits_at_most_an_interval_apart(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "redis":
        pytest.skip("without Redis every hit is counted at once")
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 0.2)
    key = _key()
    cache = caches["default"]
    ratelimit._tally._send(cache)  # type: ignore[arg-type]  # a trip just made

    _soon(key, 100)
    _soon(key, 100)
    stored_before = cache.get(ratelimit._cache_key(key))
    time.sleep(0.25)
    _soon(key, 100)

    assert stored_before is None
    assert cache.get(ratelimit._cache_key(key)) == 3


def test_a_process_learns_the_others_hits_at_each_trip(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "redis":
        pytest.skip("processes share counts through Redis")
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 1e9)
    cache = caches["default"]
    key = _key()
    other = ratelimit._Tally()  # another worker process's tally
    one = ratelimit._Hit(key, 3, 60)
    assert [other.hit(cache, one).allowed for _ in range(2)] == [True, True]  # type: ignore[arg-type]
    other._send(cache)  # type: ignore[arg-type]  # its interval is over

    # Between trips a process counts only its own hits: it lets 3 through (5 in all, over
    # by the other's 2), and the hit that goes over its own count is decided by Redis.
    allowed = [_soon(key, 3) for _ in range(4)]

    assert allowed == [True, True, True, False]
    assert cache.get(ratelimit._cache_key(key)) == 6
    # From then on it knows the other's hits too.
    assert not _soon(key, 3)


def test_a_forked_worker_starts_its_own_tally(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "redis":
        pytest.skip("without Redis every hit is counted at once")
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 1e9)
    key = _key()
    _soon(key, 3)
    ratelimit._tally.pid = -1  # as the copy a forked worker inherits

    _soon(key, 3)

    assert ratelimit._tally.pid == os.getpid()
    assert ratelimit._tally.pending.get(caches["default"].make_key(ratelimit._cache_key(key))) in (
        None,
        [1, 60_000],
    )


def test_it_forgets_the_hits_counted_soon_on_reset(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 1e9)
    key = _key()
    assert [_soon(key, 1) for _ in range(2)] == [True, False]

    reset(key)

    assert _soon(key, 1)


def test_it_allows_exactly_the_limit_when_threads_count_soon(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 0.001)  # trips racing the hits
    key = _key()
    allowed: list[bool] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(20):
            ok = _soon(key, 50)
            with lock:
                allowed.append(ok)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Never over; near the limit, hits waiting on the same trip are judged by the count
    # it brings back, which may already include the others': a few may be refused early.
    assert 50 - len(threads) <= allowed.count(True) <= 50
    if backend == "redis":
        ratelimit._tally._send(caches["default"])  # type: ignore[arg-type]
        assert caches["default"].get(ratelimit._cache_key(key)) == 160  # not one hit lost
