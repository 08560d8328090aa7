"""The facility day's test world: today's session at Hill Town PHC, its vials, its bookings.

The clock stands at NOW (9:00 on 2 March 2026 in the TEST zone) in every module that uses
the `clock` fixture; `today_session` is on that day, with vials of one batch issued to it.
"""

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from vaxnet.booking.models import Appointment, Session, Slot
from vaxnet.booking.services import appointment_book
from vaxnet.core.checksums import verhoeff_digit
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.services import stock_issue
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccination.services import appointment_check_in, vaccination_record

from ..booking.test_appointments import make_account, make_member, make_session
from ..stock.ledger_helpers import NOW, TODAY, facility_store, make_batch, stocked

__all__ = ["NOW", "TODAY", "aadhaar", "book", "check_in", "issue", "make_day_session", "record"]


def aadhaar(seed: int) -> str:
    """Return the valid test Aadhaar number that `make_member(account, seed)` registers."""
    body = str(23456789000 + seed)
    return body + verhoeff_digit(body)


def make_day_session(facility: Facility, *, on: date = TODAY, **kwargs: Any) -> Session:
    """Return a session on the day (today by default), released for booking a day before."""
    return make_session(facility, on=on, release_at=NOW - timedelta(days=2), **kwargs)


def issue(session: Session, batch: Batch, vials: int, *, by: User | None = None) -> None:
    """Issue vials of the batch from the session's facility store to the session."""
    store = facility_store(session.facility)
    stock_issue(by=by, store=store, batch=batch, session=session, vials=vials, now=NOW)


def book(beneficiary: Beneficiary, session: Session) -> Appointment:
    """Book the person into the session's first slot, before today's clock (bookings open)."""
    slot = Slot.objects.filter(session=session).order_by("starts_at").first()
    assert slot is not None
    with time_machine.travel(NOW - timedelta(hours=12), tick=False):
        (appointment,) = appointment_book(beneficiaries=[beneficiary], session=session, slot=slot)
    return appointment


def check_in(appointment: Appointment, by: User, seed: int) -> Appointment:
    """Check the person in with their security code and the ID number of `aadhaar(seed)`."""
    return appointment_check_in(
        by=by,
        appointment=appointment,
        id_number=aadhaar(seed),
        security_code=appointment.security_code,
    )


def record(appointment: Appointment, by: User, batch: Batch, **kwargs: Any) -> Vaccination:
    """Record a dose in the left arm from the batch."""
    return vaccination_record(
        by=by, appointment=appointment, batch=batch, site="left_arm", **kwargs
    )


@pytest.fixture
def clock() -> Iterator[None]:
    """Stop the clock at NOW for the test."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def phc_store(hill_phc: Facility) -> Store:
    return facility_store(hill_phc)


@pytest.fixture
def batch(phc_store: Store) -> Batch:
    """A batch of 10-dose vials, 200 doses of it in the PHC's store."""
    return stocked(phc_store, make_batch("LOT-A"), 200)


@pytest.fixture
def today_session(hill_phc: Facility, batch: Batch) -> Session:
    """Today's COVISHIELD session at Hill Town PHC, with 2 vials of LOT-A issued to it."""
    session = make_day_session(hill_phc)
    issue(session, batch, 2)
    return session


@pytest.fixture
def citizen(country: Any) -> Account:
    return make_account(country, "+919812345678", language="hi")


@pytest.fixture
def asha(citizen: Account) -> Beneficiary:
    return make_member(citizen, 1, name="Asha")


@pytest.fixture
def booked(asha: Beneficiary, today_session: Session) -> Appointment:
    return book(asha, today_session)


def at(hour: int, minute: int = 0) -> datetime:
    """Return a time on the test day."""
    return NOW.replace(hour=hour, minute=minute)
