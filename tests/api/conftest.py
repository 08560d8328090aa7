"""The CoWIN v2 API tests run at a fixed moment, each with an empty cache."""

from collections.abc import Iterator

import pytest
import time_machine
from django.core.cache import cache

from tests.api.factories import NOW


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()
