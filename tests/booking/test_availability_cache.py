"""The availability cache: answers kept in the process, kept current by the change feed.

Each test runs on the local-memory cache (tests, dev) and on Redis (production), with a
country code of its own so that parallel tests never share a version key or a channel.
On the local-memory cache answers are checked against their versions on every request; on
Redis, against the changes published by every process, and against their versions only
while the process is not subscribed.
"""

import os
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import redis
import time_machine
from django.core.cache import cache, caches
from django.test import override_settings

from vaxnet.booking import availability
from vaxnet.core import ratelimit
from vaxnet.core.ratelimit import RateLimited, check_rate, held

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NOW = datetime.fromisoformat("2026-06-01T08:00:00+00:00")


def _redis_reachable() -> bool:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture(params=["locmem", "redis"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test on the local-memory cache, then on Redis, with nothing kept in the process."""
    country = f"T{uuid.uuid4().hex[:8].upper()}"
    if request.param == "locmem":
        caches_setting = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    else:
        if not _redis_reachable():
            if os.environ.get("CI") == "true":
                pytest.fail(f"Redis at {REDIS_URL} is unreachable (CI=true).")
            pytest.skip(f"Redis at {REDIS_URL} is unreachable.")
        caches_setting = {
            "default": {"BACKEND": "vaxnet.core.cache.RedisCache", "LOCATION": REDIS_URL}
        }
    availability.local_answers.clear()
    with override_settings(CACHES=caches_setting, VAXNET_COUNTRY=country):
        yield request.param
    availability.local_answers.clear()


class Builder:
    """A build function that counts its calls and answers with a new value each time."""

    def __init__(self, changes_at: datetime | None = None) -> None:
        self.calls = 0
        self.changes_at = changes_at

    def __call__(self) -> tuple[bytes, datetime | None]:
        self.calls += 1
        return f"answer {self.calls}".encode(), self.changes_at


def _ask(key: str, build: Builder, district: str = "D1", **kwargs: Any) -> Any:
    return availability.cached(key, scope=lambda: [district], build=build, **kwargs)


def _key() -> str:
    return availability.cache_key("test", "en", uuid.uuid4().hex)


def _subscribed() -> None:
    """Wait until this process reads the change feed (on Redis)."""
    deadline = time.monotonic() + 5
    while availability.feed.read(wait=0.05) is None:
        assert time.monotonic() < deadline, "the change feed never started"


def _changed_elsewhere(backend: str, district: str = "D1") -> None:
    """Do what region_changed does in another process: a new version, and a message."""
    cache.set(availability._version_key(district), uuid.uuid4().hex, None)
    if backend != "redis":
        return
    _subscribed()
    before = availability.feed.serial
    redis.Redis.from_url(REDIS_URL).publish(availability._changes_channel(), district)
    deadline = time.monotonic() + 5
    while availability.feed.serial == before:
        availability.feed.read(wait=0.05)
        assert time.monotonic() < deadline, "the change never arrived"


def _redis_restarted(backend: str, *districts: str) -> None:
    """Empty the shared cache and, on Redis, break this process's subscription, as a restart."""
    cache.delete_many([availability._generation_key(), *map(availability._version_key, districts)])
    if backend != "redis":
        return
    _subscribed()
    subscription = availability.feed.subscription
    assert subscription is not None
    host, port = subscription._pubsub.connection._sock.getsockname()[:2]
    redis.Redis.from_url(REDIS_URL).client_kill(f"{host}:{port}")


def test_it_serves_a_repeated_request_from_the_process(backend: str) -> None:
    key, build = _key(), Builder()
    first = _ask(key, build)
    # Whatever the shared cache holds under the key, the process answers from its own copy.
    cache.set(key, ("other", "shape"), 30)

    again = _ask(key, build)

    assert (first, again, build.calls) == (b"answer 1", b"answer 1", 1)


def test_it_takes_the_shared_answer_when_the_process_has_none(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    availability.local_answers.clear()  # as in a newly started worker

    again = _ask(key, build)

    assert (again, build.calls) == (b"answer 1", 1)


def test_it_rebuilds_when_another_process_changes_the_district(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    _changed_elsewhere(backend)

    again = _ask(key, build)

    assert (again, build.calls) == (b"answer 2", 2)
    assert _ask(key, build) == b"answer 2"


def test_it_uses_the_answer_another_process_rebuilt(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    # Another worker saw a change, rebuilt the answer and kept it in the shared cache.
    _changed_elsewhere(backend)
    versions = availability._versions(("D1",))
    cache.set(key, (("D1",), versions, b"rebuilt elsewhere", 2e9), 30)

    again = _ask(key, build)

    assert (again, build.calls) == (b"rebuilt elsewhere", 1)


def test_it_ignores_changes_to_other_districts(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build, district="D1")

    availability.region_changed("/XX/S1/D2/")

    assert (_ask(key, build, district="D1"), build.calls) == (b"answer 1", 1)


def test_it_rebuilds_once_the_shared_cache_is_emptied(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    # A restart of Redis loses every version key, and the answers with them.
    _redis_restarted(backend, "D1")

    assert (_ask(key, build), build.calls) == (b"answer 2", 2)


def test_it_rebuilds_when_a_version_key_is_lost(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    if backend == "redis":
        # Subscribed, the process knows its answer is current: nothing changed.
        _subscribed()
        _ask(key, build)
        cache.delete(availability._version_key("D1"))  # evicted
        assert (_ask(key, build), build.calls) == (b"answer 1", 1)
        availability.local_answers.clear()  # a new worker must not trust the shared answer

    cache.delete(availability._version_key("D1"))  # evicted

    assert (_ask(key, build), build.calls) == (b"answer 2", 2)


def test_it_rebuilds_an_answer_kept_in_the_process_for_an_empty_scope_after_a_flush(
    backend: str,
) -> None:
    key, build = _key(), Builder()
    availability.cached(key, scope=lambda: [], build=build)

    _redis_restarted(backend)

    assert availability.cached(key, scope=lambda: [], build=build) == b"answer 2"


def test_it_forgets_an_answer_in_the_process_when_its_time_is_up(backend: str) -> None:
    key, build = _key(), Builder(changes_at=NOW + timedelta(seconds=5))
    with time_machine.travel(NOW, tick=False) as traveller:
        _ask(key, build)
        traveller.shift(4)
        kept = _ask(key, build)
        traveller.shift(2)
        released = _ask(key, build)

    assert (kept, released) == (b"answer 1", b"answer 2")


def _spy_on_commands() -> list[tuple[Any, ...]]:
    client = caches["default"]._cache  # type: ignore[attr-defined]
    sent: list[tuple[Any, ...]] = []
    real = client.command

    def spy(*args: Any) -> Any:
        sent.append(args)
        return real(*args)

    client.command = spy
    return sent


def test_it_reads_the_versions_and_counts_the_rate_in_one_round_trip(backend: str) -> None:
    if backend != "redis":
        pytest.skip("round trips are a Redis matter")
    key, build = _key(), Builder()
    _ask(key, build)
    availability.feed.subscription.close()  # type: ignore[union-attr]
    availability.feed.subscription._retry_at = 2e9  # type: ignore[union-attr]
    sent = _spy_on_commands()
    rate = f"test:{uuid.uuid4()}"
    with held() as rates:
        check_rate(rate, 1, 60)
        answer = _ask(key, build, rates=rates)

    assert answer == b"answer 1"
    assert [args[0] for args in sent] == ["EVALSHA"]
    with pytest.raises(RateLimited), held() as rates:
        check_rate(rate, 1, 60)
        _ask(key, build, rates=rates)


def test_it_answers_from_the_process_without_a_round_trip_while_subscribed(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "redis":
        pytest.skip("round trips are a Redis matter")
    monkeypatch.setattr(ratelimit, "TALLY_SECONDS", 1e9)  # no trip to send hits by the clock
    key, build = _key(), Builder()
    _ask(key, build)
    _subscribed()
    _ask(key, build)
    # Redis knows the script that sends hits (as it does once any server has sent one): its
    # id alone goes, whichever test came first on a fresh Redis.
    caches["default"]._cache.command("SCRIPT", "LOAD", ratelimit._REDIS_ADD)  # type: ignore[attr-defined]
    sent = _spy_on_commands()
    rate = f"test:{uuid.uuid4()}"

    with held() as rates:
        check_rate(rate, 2, 60)
        answer = _ask(key, build, rates=rates)

    assert (answer, sent) == (b"answer 1", [])
    # The hit was counted all the same: the limit holds, and Redis decides the refusal.
    with held() as rates:
        check_rate(rate, 2, 60)
        _ask(key, build, rates=rates)
    with pytest.raises(RateLimited), held() as rates:
        check_rate(rate, 2, 60)
        _ask(key, build, rates=rates)
    assert [args[0] for args in sent] == ["EVALSHA"]


def test_it_does_not_trust_an_answer_built_while_its_district_changed(backend: str) -> None:
    if backend != "redis":
        pytest.skip("the change feed is a Redis matter")
    _ask(_key(), Builder())
    _subscribed()
    key = _key()

    class Slow(Builder):
        def __call__(self) -> tuple[bytes, datetime | None]:
            answer = super().__call__()
            # A booking elsewhere commits after this build read the database.
            _changed_elsewhere(backend)
            return answer

    build, after = Slow(), Builder()
    first = _ask(key, build)
    kept = availability.local_answers.get(key, 0)
    again = _ask(key, after)

    assert kept is not None and kept.generation is None  # to be checked against versions
    assert (first, again, build.calls, after.calls) == (b"answer 1", b"answer 1", 1, 1)


def test_a_change_made_in_this_process_shows_at_once(backend: str) -> None:
    key, build = _key(), Builder()
    _ask(key, build)
    if backend == "redis":
        _subscribed()
        _ask(key, build)

    availability.region_changed("/XX/S1/D1/")

    assert (_ask(key, build), build.calls) == (b"answer 2", 2)


def test_it_refuses_a_held_hit_over_its_limit_before_building(backend: str) -> None:
    key, build = _key(), Builder()
    rate = f"test:{uuid.uuid4()}"
    check_rate(rate, 1, 60)

    with pytest.raises(RateLimited), held() as rates:
        check_rate(rate, 1, 60)
        _ask(key, build, rates=rates)

    assert build.calls == 0


def test_the_answers_kept_in_the_process_stay_bounded() -> None:
    kept = availability._LocalAnswers(entries=3, size=10)

    def put(key: str, value: bytes) -> None:
        kept.put(key, availability._Kept((), (), value, expires_at=2e9))

    for key in "abcd":
        put(key, b"xx")
    assert kept.get("a", 0) is None and len(kept) == 3
    assert kept.get("b", 0) is not None  # now the most recently used
    put("e", b"xxxxxxx")  # 2 + 2 + 7 bytes: over the size, so the oldest goes
    assert [key for key in "bcde" if kept.get(key, 0) is not None] == ["b", "e"]
    put("f", b"x" * 11)  # larger than the whole bound: never kept
    assert kept.get("f", 0) is None and len(kept) == 2
    assert kept.get("e", 2e9) is None  # expired
