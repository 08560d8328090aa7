"""Django's Redis cache, keeping one Redis client per connection pool instead of one per call.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation, and
redis-py builds its table of response callbacks (hundreds of entries) in each one: about
60 µs of CPU per operation, several times a request (rate limits, availability). A client
is safe to share: it takes a connection from its pool for each command. Django keeps one
cache object per thread, so each thread still has its own pools and clients.

`command` runs one command on a connection the client keeps for itself, for the reads on
every request's path (the availability versions and the rate-limit count): redis-py's
pool check-out, retry wrapper and response callbacks cost more CPU than the round trip.

`Subscription` reads a pub/sub channel without a thread: the availability cache learns of
changes made in other processes from it, instead of asking Redis on every request.
"""

import contextlib
import itertools
import os
import select
import time
from typing import Any

import redis
from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's client, reusing the `redis.Redis` object of each connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}
        self._connection: Any = None

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        """Return the client of the pool Django would pick, made once."""
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def command(self, *args: Any) -> Any:
        """Run one command on this client's own connection and return Redis's raw reply.

        Django keeps one cache object (so one client, so one connection) per thread: the
        connection is never shared. It is opened on first use, and again once if it was
        found broken (Redis restarted); a reply that is an error raises ResponseError.
        """
        return self.commands(args)[0]

    def commands(self, *commands: tuple[Any, ...]) -> list[Any]:
        """Run commands in one round trip on this client's own connection (as `command`)."""
        for attempt in (1, 2):
            connection = self._connection
            fresh = connection is None
            if fresh:
                pool = self._get_connection_pool(True)  # type: ignore[attr-defined]
                connection = self._connection = pool.make_connection()
            try:
                connection.send_packed_command(
                    connection.pack_commands(commands), check_health=False
                )
                replies = [_reply(connection) for _command in commands]
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                self._connection = None
                if fresh or attempt == 2:
                    raise
                continue
            # Every reply was read, so the connection is ready for the next command even
            # when Redis refused one of these: that refusal is raised now.
            for reply in replies:
                if isinstance(reply, ResponseError):
                    raise reply
            return replies
        raise AssertionError("unreachable")  # pragma: no cover


def _reply(connection: Any) -> Any:
    """Read one reply; an error reply is returned (as ResponseError), not raised."""
    try:
        return connection.read_response()
    except ResponseError as refusal:
        return refusal


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache backend with `RedisCacheClient` above."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


# Generations are numbered across every subscription of the process, so that no two share one.
_generations = itertools.count(1)


class Subscription:
    """One process's subscription to a Redis channel, read by its callers without a thread.

    `read` returns what was published since the last read, without blocking (or waiting up
    to `wait` seconds for a first message), or None while the process is not subscribed:
    before Redis has confirmed the subscription, and after the connection broke. Every
    confirmed (re)subscription counts in `generation`: what a caller kept before one may
    have missed messages. A broken connection is opened again at most once a second.
    Not thread-safe: callers take turns (the availability cache reads under its lock).
    """

    RETRY_SECONDS = 1.0

    def __init__(self, url: str, channel: str) -> None:
        self.url, self.channel = url, channel
        self.pid = os.getpid()
        self.generation = 0
        self._pubsub: Any = None
        self._live = False
        self._retry_at = 0.0

    def read(self, wait: float = 0.0) -> list[str] | None:
        """Return the messages published since the last read, or None when not subscribed."""
        if self._pubsub is None and not self._open():
            return None
        messages: list[str] = []
        timeout = wait
        try:
            while (message := self._pubsub.get_message(timeout=timeout)) is not None:
                timeout = 0.0
                if message["type"] == "subscribe":
                    # A first subscription or one renewed after a reconnection.
                    self._live, self.generation = True, next(_generations)
                    messages.clear()
                elif message["type"] == "message":
                    data = message["data"]
                    messages.append(data.decode() if isinstance(data, bytes) else str(data))
        except (RedisError, OSError, ValueError):
            self.close()
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return None
        return messages if self._live else None

    def quiet(self) -> bool:
        """Return whether the subscription is live and nothing arrived since the last read.

        A look at the socket, without reading it, so callers need not take turns for it:
        after a read, the parser keeps no whole message, so one not yet read can only be
        in the socket.
        """
        pubsub = self._pubsub
        if not self._live or pubsub is None or pubsub.connection is None:
            return False
        sock = pubsub.connection._sock
        if sock is None:
            return False
        try:
            readable, _w, _x = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return False
        return not readable

    def _open(self) -> bool:
        if time.monotonic() < self._retry_at:
            return False
        try:
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=5)
            pubsub = client.pubsub()
            pubsub.subscribe(self.channel)
        except (RedisError, OSError):
            self._retry_at = time.monotonic() + self.RETRY_SECONDS
            return False
        self._pubsub, self._live = pubsub, False
        return True

    def close(self) -> None:
        """Drop the connection; the next read subscribes again (a new generation)."""
        pubsub, self._pubsub, self._live = self._pubsub, None, False
        if pubsub is not None:
            with contextlib.suppress(RedisError, OSError):  # closing a broken connection
                pubsub.close()
