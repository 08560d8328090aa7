"""The v1 API tests run at a fixed moment, each with an empty cache (and so no rate counts)."""

from collections.abc import Iterator

import pytest
import time_machine
from django.core.cache import cache

from tests.api.factories import NOW


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
