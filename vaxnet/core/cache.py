"""Django's Redis cache, keeping one Redis client per connection pool instead of one per call.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation, and
redis-py builds its table of response callbacks (hundreds of entries) in each one: about
60 µs of CPU per operation, several times a request (rate limits, availability). A client
is safe to share: it takes a connection from its pool for each command. Django keeps one
cache object per thread, so each thread still has its own pools and clients.

`command` runs one command on a connection the client keeps for itself, for the reads on
every request's path (the availability versions and the rate-limit count): redis-py's
pool check-out, retry wrapper and response callbacks cost more CPU than the round trip.
"""

from typing import Any

from django.core.cache.backends import redis as django_redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
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
        for attempt in (1, 2):
            connection = self._connection
            fresh = connection is None
            if fresh:
                pool = self._get_connection_pool(True)  # type: ignore[attr-defined]
                connection = self._connection = pool.make_connection()
            try:
                connection.send_packed_command(connection.pack_command(*args), check_health=False)
                return connection.read_response()
            except ResponseError:
                raise  # Redis answered: the connection is fine
            except (RedisConnectionError, RedisTimeoutError, OSError):
                connection.disconnect()
                self._connection = None
                if fresh or attempt == 2:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache backend with `RedisCacheClient` above."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
