"""The facility day's reads: counts, finding people, the queue, the batch to give from."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.services import batch_recall
from vaxnet.vaccination import queries

from ..booking.test_appointments import make_member
from ..stock.ledger_helpers import make_batch, stocked
from .day import TODAY, book, check_in, issue, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_it_counts_the_day_in_a_few_queries(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch, hill_phc: Facility
) -> None:
    session = booked.session
    account = booked.beneficiary.account
    assert account is not None
    for seed in (2, 3, 4):
        book(make_member(account, seed), session)
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)

    with CaptureQueriesContext(connection) as queries_made:
        (day,) = queries.sessions_of_day(hill_phc, TODAY)

    assert (day.booked, day.checked_in, day.vaccinated) == (3, 0, 1)
    assert [(b.batch.lot_number, b.doses_left) for b in day.batches] == [("LOT-A", 19)]
    assert day.onsite_left > 0
    assert len(queries_made) <= 3


def test_it_finds_by_reference_phone_end_or_name_only(booked: Appointment) -> None:
    session = booked.session
    person = booked.beneficiary

    assert list(queries.appointments_found(session, person.reference)) == [booked]
    assert list(queries.appointments_found(session, "5678")) == [booked]
    assert list(queries.appointments_found(session, "ASH")) == [booked]
    assert list(queries.appointments_found(session, "1234")) == []
    assert list(queries.appointments_found(session, "a")) == []


def test_the_queue_is_the_checked_in_with_their_dose(
    booked: Appointment, verifier: User, today_session: Session
) -> None:
    other = book(make_member(booked.beneficiary.account, 2), today_session)  # type: ignore[arg-type]
    check_in(booked, verifier, 1)

    assert [(q.appointment, q.dose_number) for q in queries.vaccinator_queue(today_session)] == [
        (booked, 1)
    ]
    assert other.status == Appointment.Status.BOOKED


def test_it_suggests_the_first_expiring_usable_batch(
    today_session: Session, batch: Batch, phc_store: Store
) -> None:
    sooner = stocked(phc_store, make_batch("LOT-S", expires_on=date(2026, 6, 30)), 10)
    issue(today_session, sooner, 1)

    assert queries.batch_suggested(today_session, TODAY) == sooner
    batch_recall(by=None, batch=sooner, reason="quality")
    assert queries.batch_suggested(today_session, TODAY) == batch
