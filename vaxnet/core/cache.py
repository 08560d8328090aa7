"""Django's Redis cache, keeping one Redis client per connection pool instead of one per call.

Django's RedisCacheClient builds a new `redis.Redis` object for every cache operation, and
redis-py builds its table of response callbacks (hundreds of entries) in each one: about
60 µs of CPU per operation, several times a request (rate limits, availability). A client
is safe to share: it takes a connection from its pool for each command. Django keeps one
cache object per thread, so each thread still has its own pools and clients.
"""

from typing import Any

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    """Django's client, reusing the `redis.Redis` object of each connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        """Return the client of the pool Django would pick, made once."""
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client


class RedisCache(django_redis.RedisCache):
    """Django's Redis cache backend with `RedisCacheClient` above."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient
