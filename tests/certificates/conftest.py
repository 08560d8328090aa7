"""Certificate tests: the facility-day personas and fixtures, and doses given in one call."""

from datetime import date, timedelta

from django.db import transaction

from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.stock.sessions import session_doses_take
from vaxnet.vaccination import events
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccination.services import insert_vaccination

from ..vaccination.day import (
    NOW,
    TODAY,
    asha,
    batch,
    booked,
    citizen,
    clock,
    phc_store,
    today_session,
)


def _dose(
    beneficiary: Beneficiary,
    number: int,
    *,
    session: Session,
    batch: Batch,
    by: User,
    days_ago: int,
    kind: str = "primary",
) -> Vaccination:
    on: date = TODAY - timedelta(days=days_ago)
    return Vaccination(
        beneficiary=beneficiary,
        vaccine=session.vaccine,
        target=session.vaccine.target,
        batch=batch,
        dose_number=number,
        dose_kind=kind,
        given_at=NOW - timedelta(days=days_ago),
        given_on=on,
        facility=session.facility,
        session=session,
        vaccinator=by,
        site="left_arm",
        recorded_at=NOW - timedelta(days=days_ago),
    )


def give_dose(
    beneficiary: Beneficiary,
    number: int,
    *,
    session: Session,
    batch: Batch,
    by: User,
    days_ago: int = 0,
    kind: str = "primary",
) -> Vaccination:
    """Record dose `number` as given `days_ago` days before the test day, with its events."""
    vaccination = _dose(
        beneficiary, number, session=session, batch=batch, by=by, days_ago=days_ago, kind=kind
    )
    with transaction.atomic():
        insert_vaccination(vaccination)
        session_doses_take(session=session, batch=batch, doses=1, by=by, at=NOW)
        events.dose_recorded(vaccination)
    return vaccination


def insert_dose(
    beneficiary: Beneficiary, number: int, *, session: Session, batch: Batch, by: User
) -> Vaccination:
    """Record dose `number` as given on the test day, without its events (a batch's doses)."""
    vaccination = _dose(beneficiary, number, session=session, batch=batch, by=by, days_ago=0)
    insert_vaccination(vaccination)
    return vaccination


__all__ = [
    "asha",
    "batch",
    "booked",
    "citizen",
    "clock",
    "give_dose",
    "insert_dose",
    "phc_store",
    "today_session",
]
