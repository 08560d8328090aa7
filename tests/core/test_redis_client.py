"""vaxnet's Redis cache client: commands on its own connection, and the pub/sub reader."""

import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings
from redis.exceptions import ResponseError

from vaxnet.core.cache import Subscription

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def client() -> Iterator[Any]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is unreachable (CI=true).")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable.")
    setting = {"default": {"BACKEND": "vaxnet.core.cache.RedisCache", "LOCATION": REDIS_URL}}
    with override_settings(CACHES=setting):
        yield caches["default"]._cache  # type: ignore[attr-defined]


def _kill(connection: Any) -> None:
    host, port = connection._sock.getsockname()[:2]
    redis.Redis.from_url(REDIS_URL).client_kill(f"{host}:{port}")


def _subscribed(channel: str) -> Subscription:
    """Return a subscription to the channel once Redis has confirmed it."""
    subscription = Subscription(REDIS_URL, channel)
    deadline = time.monotonic() + 5
    while subscription.read(wait=0.05) is None:
        assert time.monotonic() < deadline
    return subscription


def test_it_runs_several_commands_in_one_trip(client: Any) -> None:
    key = f"test:{uuid.uuid4()}"

    replies = client.commands(("SET", key, "1"), ("INCR", key), ("GET", key))

    assert replies == [b"OK", 2, b"2"]  # raw replies


def test_a_refused_command_leaves_the_connection_in_step(client: Any) -> None:
    key = f"test:{uuid.uuid4()}"
    client.command("SET", key, "text")

    with pytest.raises(ResponseError):
        client.commands(("INCR", key), ("SET", key, "after"))

    # The refusal's neighbour ran, and the next reply is the next command's own.
    assert client.command("GET", key) == b"after"


def test_it_opens_its_connection_again_once_broken(client: Any) -> None:
    key = f"test:{uuid.uuid4()}"
    client.command("SET", key, "1")
    _kill(client._connection)

    assert client.commands(("INCR", key), ("INCR", key)) == [2, 3]


def test_a_subscription_reads_what_was_published_without_waiting(client: Any) -> None:
    channel = f"test:{uuid.uuid4()}"
    subscription = _subscribed(channel)
    deadline = time.monotonic() + 5
    first = subscription.generation

    redis.Redis.from_url(REDIS_URL).publish(channel, "D1")
    redis.Redis.from_url(REDIS_URL).publish(channel, "D2")
    got: list[str] = []
    while len(got) < 2 and time.monotonic() < deadline:
        got += subscription.read(wait=0.05) or []

    assert got == ["D1", "D2"]
    assert subscription.read() == []  # nothing more, at once
    assert subscription.generation == first


def test_a_broken_subscription_comes_back_as_a_new_generation(client: Any) -> None:
    channel = f"test:{uuid.uuid4()}"
    subscription = _subscribed(channel)
    deadline = time.monotonic() + 5
    first = subscription.generation

    _kill(subscription._pubsub.connection)
    subscription.RETRY_SECONDS = 0.0
    while (subscription.read(wait=0.05) is None or subscription.generation == first) and (
        time.monotonic() < deadline
    ):
        pass

    assert subscription.generation > first
    redis.Redis.from_url(REDIS_URL).publish(channel, "D3")
    got: list[str] = []
    while not got and time.monotonic() < deadline:
        got = subscription.read(wait=0.05) or []
    assert got == ["D3"]
    subscription.close()


def test_a_subscription_to_no_server_is_deaf_and_tries_again_later() -> None:
    subscription = Subscription("redis://127.0.0.1:1/0", "test:nowhere")

    assert subscription.read() is None
    assert subscription.read() is None  # within the pause: not even tried


def test_a_subscription_is_quiet_only_while_nothing_waits_to_be_read(client: Any) -> None:
    channel = f"test:{uuid.uuid4()}"
    subscription = Subscription(REDIS_URL, channel)
    assert not subscription.quiet()  # not subscribed yet
    deadline = time.monotonic() + 5
    while subscription.read(wait=0.05) is None:
        assert time.monotonic() < deadline
    assert subscription.quiet()

    redis.Redis.from_url(REDIS_URL).publish(channel, "D1")
    while subscription.quiet():
        assert time.monotonic() < deadline
        time.sleep(0.001)

    assert subscription.read() == ["D1"]
    assert subscription.quiet()
    subscription.close()
    assert not subscription.quiet()
