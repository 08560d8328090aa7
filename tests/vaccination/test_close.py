"""Closing a session: vials back, wastage booked, the absent marked no-show and asked to rebook."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.db import connection

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.notifications.models import Message
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch, SessionStock, StockMove
from vaxnet.vaccination.close import close_lines, session_close, session_summary
from vaxnet.vaccination.services import Person, dose_not_given, walk_in_register

from ..api_v1.helpers import call, error_code
from ..booking.test_appointments import make_member
from ..stock.ledger_helpers import NOW, make_batch, refusal_code, signed_in
from .day import aadhaar, book, check_in, make_day_session, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _walk_in(session: Session, by: User, seed: int) -> Appointment:
    return walk_in_register(
        by=by,
        session=session,
        person=Person(
            name=f"Walk-in {seed}",
            sex="female",
            birth_year=1980,
            id_type_code="aadhaar",
            id_number=aadhaar(seed),
        ),
    )


def test_it_closes_with_the_default_return_and_books_the_wastage(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    (line,) = close_lines(booked.session)
    assert (line.vials_out, line.vials_needed, line.unopened, line.wastage) == (2, 1, 1, 9)

    summary = session_close(by=manager, session=booked.session, unopened_vials={batch: 1})

    (stock,) = summary.batches
    assert (stock.vials_opened, stock.doses_given, stock.wastage, stock.vials_returned) == (
        1,
        1,
        9,
        1,
    )
    assert (summary.vaccinated, summary.no_show, summary.not_given, summary.walk_ins) == (
        1,
        0,
        0,
        0,
    )
    session = Session.objects.get(pk=booked.session.pk)
    assert session.status == Session.Status.CLOSED
    assert SessionStock.objects.get(session=session).closed_at is not None
    wasted = StockMove.objects.get(session=session, kind=StockMove.Kind.WASTAGE)
    assert wasted.doses == -9
    assert AuditEvent.objects.filter(action="session.close", actor=manager).count() == 1


def test_it_marks_the_absent_no_show_and_offers_them_to_rebook_once(
    booked: Appointment, manager: User, batch: Batch
) -> None:
    summary = session_close(by=manager, session=booked.session, unopened_vials={batch: 2})

    booked.refresh_from_db()
    assert booked.status == Appointment.Status.NO_SHOW
    assert summary.no_show == 1
    sms = Message.objects.get(template="no_show_rebook")
    assert sms.recipient == "+919812345678"
    assert "/book/" in sms.context["link"]
    (stock,) = summary.batches
    assert (stock.vials_opened, stock.wastage) == (0, 0)


def test_it_counts_walk_ins_and_doses_not_given(
    today_session: Session, asha: Beneficiary, verifier: User, vaccinator: User, manager: User
) -> None:
    walk_in = _walk_in(today_session, verifier, 7)
    dose_not_given(by=vaccinator, appointment=walk_in, kind="refused", reason="personal")

    summary = session_close(by=manager, session=today_session, unopened_vials={})

    assert (summary.walk_ins, summary.not_given, summary.vaccinated) == (1, 1, 0)
    (stock,) = summary.batches
    # Nothing returned: both vials count as opened and wasted.
    assert (stock.vials_opened, stock.wastage) == (2, 20)


def test_it_refuses_while_people_are_checked_in_and_changes_nothing(
    booked: Appointment, verifier: User, manager: User, batch: Batch, citizen: Any
) -> None:
    other = book(make_member(citizen, 2, name="Ravi"), booked.session)
    check_in(booked, verifier, 1)

    code = refusal_code(session_close, by=manager, session=booked.session, unopened_vials={})

    assert code == "people_waiting"
    other.refresh_from_db()
    assert other.status == Appointment.Status.BOOKED
    assert Session.objects.get(pk=booked.session.pk).status == Session.Status.PLANNED
    assert not SessionStock.objects.filter(closed_at__isnull=False).exists()
    assert not Message.objects.filter(template="no_show_rebook").exists()


def test_it_refuses_a_session_closed_cancelled_or_in_the_future(
    today_session: Session, hill_phc: Any, manager: User, batch: Batch
) -> None:
    session_close(by=manager, session=today_session, unopened_vials={})
    assert (
        refusal_code(session_close, by=manager, session=today_session, unopened_vials={})
        == "session_closed"
    )
    stale = Session.objects.get(pk=today_session.pk)
    stale.status = Session.Status.PLANNED  # a page opened before the close
    assert (
        refusal_code(session_close, by=manager, session=stale, unopened_vials={})
        == "session_closed"
    )
    tomorrow = make_day_session(hill_phc, on=NOW.date() + timedelta(days=1))
    assert (
        refusal_code(session_close, by=manager, session=tomorrow, unopened_vials={})
        == "session_in_future"
    )
    Session.objects.filter(pk=tomorrow.pk).update(status=Session.Status.CANCELLED)
    tomorrow.refresh_from_db()
    assert (
        refusal_code(session_close, by=manager, session=tomorrow, unopened_vials={})
        == "session_cancelled"
    )


def test_it_closes_yesterdays_session_late(
    today_session: Session, manager: User, batch: Batch
) -> None:
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        summary = session_close(by=manager, session=today_session, unopened_vials={batch: 1})

    assert summary.session.status == Session.Status.CLOSED
    assert summary.batches[0].vials_returned == 1


def test_it_refuses_returning_vials_the_doses_needed_or_of_a_batch_not_issued(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    session = booked.session

    assert refusal_code(session_close, by=manager, session=session, unopened_vials={batch: 2}) in {
        "vials_in_use",
        "doses_exceed_opened",
    }
    other = make_batch("LOT-Z")
    assert (
        refusal_code(session_close, by=manager, session=session, unopened_vials={other: 1})
        == "batch_not_issued"
    )
    assert Session.objects.get(pk=session.pk).status == Session.Status.PLANNED
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.VACCINATED


def test_its_summary_reads_the_same_after_the_close(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    closed = session_close(by=manager, session=booked.session, unopened_vials={batch: 1})

    again = session_summary(Session.objects.get(pk=booked.session.pk))

    assert again.batches == closed.batches
    assert (again.vaccinated, again.doses_given, again.doses_wasted) == (1, 1, 9)


def _race(jobs: list[Callable[[], object]]) -> list[object]:
    """Run the jobs at once, each in its own thread and connection; return results or errors."""
    start = threading.Barrier(len(jobs))
    results: list[object] = [None] * len(jobs)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = jobs[index]()
        except DomainError as error:
            results[index] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.mark.django_db(transaction=True)
def test_it_closes_once_when_two_managers_close_at_once(
    today_session: Session, manager: User, batch: Batch
) -> None:
    def close() -> object:
        session = Session.objects.get(pk=today_session.pk)
        return session_close(by=manager, session=session, unopened_vials={batch: 2})

    results = _race([close, close])

    assert sorted(str(r) if isinstance(r, str) else "closed" for r in results) == [
        "closed",
        "session_closed",
    ]
    assert StockMove.objects.filter(session=today_session, kind=StockMove.Kind.RETURN).count() == 1
    assert AuditEvent.objects.filter(action="session.close").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_dose_recorded_during_the_close_is_counted_or_refused(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)

    def close() -> object:
        session = Session.objects.get(pk=booked.session.pk)
        return session_close(by=manager, session=session, unopened_vials={})

    def give() -> object:
        appointment = Appointment.objects.select_related("session").get(pk=booked.pk)
        return record(appointment, vaccinator, batch)

    close_result, _given = _race([close, give])

    booked.refresh_from_db()
    account = SessionStock.objects.get(session=booked.session, batch=batch)
    if close_result == "people_waiting":
        # The close came first and saw the person waiting: nothing closed, the dose stands.
        assert booked.status == Appointment.Status.VACCINATED
        assert account.closed_at is None
        assert account.doses_given == 1
    else:
        # The dose landed first: the close counted it.
        assert booked.status == Appointment.Status.VACCINATED
        assert account.closed_at is not None
        consumed = StockMove.objects.get(session=booked.session, kind=StockMove.Kind.CONSUMPTION)
        assert consumed.doses == -1


def test_the_api_closes_once_per_idempotency_key_and_reads_the_summary(
    booked: Appointment, verifier: User, vaccinator: User, manager: User, batch: Batch
) -> None:
    check_in(booked, verifier, 1)
    record(booked, vaccinator, batch)
    client = signed_in(manager)
    path = f"sessions/{booked.session.public_id}/close"

    first = call(client, "post", path, {}, key="close-1")
    again = call(client, "post", path, {}, key="close-1")
    other = call(client, "post", path, {})
    read = call(client, "get", f"sessions/{booked.session.public_id}/summary")

    assert first.status_code == 200, first.json()
    body = first.json()
    assert body["status"] == "closed" and body["vaccinated"] == 1
    (line,) = body["batches"]
    assert (line["vials_opened"], line["doses_given"], line["doses_wasted"]) == (1, 1, 9)
    assert again.json() == body
    assert (other.status_code, error_code(other)) == (400, "session_closed")
    assert read.json() == body


def test_the_api_takes_the_vials_returned_and_refuses_out_of_scope(
    today_session: Session, manager: User, vaccinator: User, outsider: User, batch: Batch
) -> None:
    path = f"sessions/{today_session.public_id}/close"
    body = {"unopened_vials": [{"batch": batch.public_id, "vials": 1}]}

    hidden = call(signed_in(outsider), "post", path, body)
    not_closer = call(signed_in(vaccinator), "get", f"sessions/{today_session.public_id}/summary")
    unknown = call(
        signed_in(manager), "post", path, {"unopened_vials": [{"batch": "X", "vials": 1}]}
    )
    closed = call(signed_in(manager), "post", path, body)

    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert not_closer.status_code == 404
    assert error_code(unknown) == "batch_unknown"
    (line,) = closed.json()["batches"]
    assert (line["vials_returned"], line["vials_opened"], line["doses_wasted"]) == (1, 1, 10)
