"""Fixtures shared by the stock tests and the v1 stock API's: the stopped clock, the stores.

tests/stock/conftest.py offers them to the stock tests; the API's test modules import them.
A module stops the clock at `NOW` with `pytest.mark.usefixtures("clock")` in its `pytestmark`.
"""

from collections.abc import Iterator

import pytest
import time_machine

from vaxnet.booking.models import Session
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Store

from ..booking.test_appointments import make_session
from .ledger_helpers import NOW, facility_store


@pytest.fixture
def clock() -> Iterator[None]:
    """Stop the clock at NOW for the test."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def phc(hill_phc: Facility) -> Store:
    """The Hill Town PHC's store (its district, state and national stores made above it)."""
    return facility_store(hill_phc)


@pytest.fixture
def store(phc: Store) -> Store:
    """The Hill Town PHC's store, for the tests that use only that one."""
    return phc


@pytest.fixture
def district(phc: Store) -> Store:
    """The Hill District's store, above the PHC's."""
    assert phc.parent is not None
    return phc.parent


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    """A session at Hill Town PHC."""
    return make_session(hill_phc)
