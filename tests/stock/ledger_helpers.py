"""Shared makers for the stock tests: stores of the TEST country, batches, received stock,
refusals and signed-in clients."""

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.services import batch_register, stock_receive
from vaxnet.stock.stores import store_for_facility
from vaxnet.vaccines.models import Vaccine

# The booking tests' clock: 9:00 on 2 March 2026 in the TEST country's zone.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
TODAY = NOW.date()
DAY = timedelta(days=1)


def facility_store(facility: Facility) -> Store:
    """Return the facility's store (and the district, state and national ones above it)."""
    return store_for_facility(facility=facility, by=None)


def make_batch(
    lot: str, *, vaccine: str = "COVISHIELD", expires_on: date = date(2027, 1, 31)
) -> Batch:
    return batch_register(
        by=None,
        vaccine=Vaccine.objects.get(code=vaccine),
        lot_number=lot,
        manufacturer="Serum Institute",
        expires_on=expires_on,
    )


def stocked(store: Store, batch: Batch, doses: int) -> Batch:
    """Receive the doses of the batch into the store, and return the batch."""
    stock_receive(by=None, store=store, batch=batch, doses=doses, supplier="Maker", now=NOW)
    return batch


def refusal_code(call: Callable[..., object], /, *args: Any, **kwargs: Any) -> str:
    """Call `call(*args, **kwargs)`, which must be refused; return the refusal's code."""
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    return caught.value.code


def signed_in(user: User, *, csrf: bool = False) -> Client:
    """Return a test client signed in as the user (checking CSRF tokens if asked)."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client
