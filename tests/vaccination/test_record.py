"""Recording a dose: one transaction for the record, the vials, the appointment and the SMS."""

import pytest

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import AuditEvent, User
from vaxnet.notifications.models import Message
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.stock.services import batch_recall, session_stock_close
from vaxnet.vaccination.models import Vaccination

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import make_batch, refusal_code
from .day import aadhaar, book, check_in, issue, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_it_records_the_dose_the_engine_gives_with_everything_in_one_go(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    vaccination = record(booked, vaccinator, batch)

    assert vaccination.dose_number == 1
    assert vaccination.dose_kind == "primary"
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.VACCINATED
    account = SessionStock.objects.get(session=booked.session, batch=batch)
    assert (account.doses_given, account.doses_left) == (1, 19)
    assert AuditEvent.objects.filter(action="vaccination.record", actor=vaccinator).count() == 1
    sms = Message.objects.get(template="dose_recorded")
    assert (sms.recipient, sms.language) == ("+919812345678", "hi")
    assert booked.beneficiary.has_doses()


def test_it_refuses_to_record_before_check_in(
    booked: Appointment, vaccinator: User, batch: Batch
) -> None:
    assert refusal_code(record, booked, vaccinator, batch) == "not_checked_in"
    assert not Vaccination.objects.exists()


def test_it_refuses_a_security_code_or_id_that_does_not_match(
    booked: Appointment, verifier: User
) -> None:
    from vaxnet.vaccination.services import appointment_check_in

    wrong = "0000" if booked.security_code != "0000" else "1111"
    assert (
        refusal_code(
            appointment_check_in,
            by=verifier,
            appointment=booked,
            id_number=aadhaar(1),
            security_code=wrong,
        )
        == "security_code_wrong"
    )
    assert (
        refusal_code(
            appointment_check_in,
            by=verifier,
            appointment=booked,
            id_number=aadhaar(2),
            security_code=booked.security_code,
        )
        == "id_mismatch"
    )
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_it_refuses_batches_not_issued_recalled_or_of_another_vaccine(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    other = make_batch("LOT-B")
    assert refusal_code(record, booked, vaccinator, other) == "batch_not_issued"
    covaxin = make_batch("LOT-C", vaccine="COVAXIN")
    assert refusal_code(record, booked, vaccinator, covaxin) == "wrong_vaccine"
    batch_recall(by=None, batch=batch, reason="quality")
    assert refusal_code(record, booked, vaccinator, batch) == "batch_recalled"
    assert not Vaccination.objects.exists()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CHECKED_IN


def test_it_never_records_more_doses_than_the_vials_hold(
    today_session: Session, verifier: User, vaccinator: User, batch: Batch
) -> None:
    """2 vials of 10 doses were issued: the 21st dose is refused until another vial is."""
    from vaxnet.booking.models import SessionDose

    SessionDose.objects.filter(session=today_session).update(capacity_online=30)
    today_session.slots.update(capacity=30)
    country = today_session.facility.country
    people = []
    for seed in range(2, 24):
        account = make_account(country, f"+9198123{seed:05d}")
        people.append((seed, book(make_member(account, seed), today_session)))
    for seed, appointment in people:
        check_in(appointment, verifier, seed)
    for _seed, appointment in people[:20]:
        record(appointment, vaccinator, batch)
    assert refusal_code(record, people[20][1], vaccinator, batch) == "no_doses_left"
    issue(today_session, batch, 1)
    record(people[20][1], vaccinator, batch)
    kept = SessionStock.objects.get(session=today_session, batch=batch)
    assert (kept.doses_given, kept.doses_left) == (21, 9)


def test_the_close_books_the_doses_recorded(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    (account,) = session_stock_close(by=manager, session=booked.session, unopened_vials={batch: 1})
    assert (account.vials_opened, account.doses_given, account.wastage) == (1, 1, 9)
    assert SessionStock.objects.get(session=booked.session).closed_at is not None
