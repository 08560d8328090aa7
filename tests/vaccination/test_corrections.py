"""Corrections: a wrong record is marked entered in error, and the right one made, never edited."""

import random
import threading
from datetime import time, timedelta

import pytest
import time_machine
from django.db import connection
from django.db.models import Sum

from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch, SessionStock, StockMove
from vaxnet.stock.services import session_stock_close
from vaxnet.vaccination.corrections import vaccination_correct, vaccination_mark_in_error
from vaxnet.vaccination.models import Vaccination

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import NOW, make_batch, refusal_code, stocked
from .day import book, check_in, issue, make_day_session, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def person(country: object, seed: int) -> Beneficiary:
    """Register person number `seed` on an account of their own."""
    account: Account = make_account(country, f"+9198100{seed:05d}")  # type: ignore[arg-type]
    return make_member(account, seed, name=f"Person {seed}")


def vaccinated(
    beneficiary: Beneficiary,
    seed: int,
    session: Session,
    verifier: User,
    vaccinator: User,
    batch: Batch,
) -> Vaccination:
    appointment = book(beneficiary, session)
    check_in(appointment, verifier, seed)
    return record(appointment, vaccinator, batch)


@pytest.fixture
def given(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    check_in(booked, verifier, 1)
    return record(booked, vaccinator, batch)


def _given(session: Session, batch: Batch) -> int:
    return SessionStock.objects.get(session=session, batch=batch).doses_given


def test_it_marks_a_record_in_error_with_why_and_gives_the_dose_back(
    given: Vaccination, manager: User, batch: Batch
) -> None:
    vaccination_mark_in_error(by=manager, vaccination=given, reason="  recorded twice ")

    given.refresh_from_db()
    assert given.status == Vaccination.Status.ENTERED_IN_ERROR
    assert (given.error_reason, given.error_by, given.error_at) == ("recorded twice", manager, NOW)
    assert _given(given.session, batch) == 0
    event = AuditEvent.objects.get(action="vaccination.entered_in_error")
    assert event.data["reason"] == "recorded twice"
    assert not given.beneficiary.has_doses()
    # Still today and planned: the person can be given the right dose on the same appointment.
    appointment = Appointment.objects.get(vaccinations=given)
    assert appointment.status == Appointment.Status.CHECKED_IN
    again = record(appointment, manager, batch)
    assert again.dose_number == 1


def test_it_refuses_a_second_mark_and_an_empty_reason(given: Vaccination, manager: User) -> None:
    assert refusal_code(vaccination_mark_in_error, by=manager, vaccination=given, reason=" ") == (
        "reason_required"
    )
    vaccination_mark_in_error(by=manager, vaccination=given, reason="wrong")
    stale = Vaccination.objects.get(pk=given.pk)
    stale.status = Vaccination.Status.VALID
    assert refusal_code(vaccination_mark_in_error, by=manager, vaccination=stale, reason="x") == (
        "already_in_error"
    )
    assert AuditEvent.objects.filter(action="vaccination.entered_in_error").count() == 1


def test_on_another_day_the_appointment_stays_vaccinated(given: Vaccination, manager: User) -> None:
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        vaccination_mark_in_error(by=manager, vaccination=given, reason="wrong")
    assert Appointment.objects.get(vaccinations=given).status == "vaccinated"


def test_after_the_close_the_dose_moves_from_given_to_wasted(
    given: Vaccination, manager: User, batch: Batch
) -> None:
    session_stock_close(by=manager, session=given.session, unopened_vials={batch: 1})
    vaccination_mark_in_error(by=manager, vaccination=given, reason="not given after all")

    moves = StockMove.objects.filter(session=given.session, batch=batch)
    assert moves.filter(kind="consumption").aggregate(d=Sum("doses"))["d"] == 0
    assert moves.filter(kind="wastage").aggregate(d=Sum("doses"))["d"] == -10


def test_it_corrects_the_site_and_the_time_with_a_new_record_that_replaces_the_old(
    given: Vaccination, manager: User, batch: Batch
) -> None:
    new = vaccination_correct(
        by=manager,
        vaccination=given,
        reason="right arm",
        site="right_arm",
        given_at=NOW - timedelta(minutes=30),
    )
    given.refresh_from_db()
    assert given.status == "entered_in_error"
    assert (new.replaces, new.source, new.site, new.dose_number) == (
        given,
        "correction",
        "right_arm",
        1,
    )
    assert new.appointment_id == given.appointment_id
    assert new.given_at == NOW - timedelta(minutes=30)
    assert _given(given.session, batch) == 1
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"vaccination.entered_in_error", "vaccination.correct"} <= actions
    assert Appointment.objects.get(vaccinations=given).status == "vaccinated"


def test_it_corrects_the_batch_to_another_issued_to_the_session(
    given: Vaccination, manager: User, batch: Batch, phc_store: object
) -> None:
    other = stocked(phc_store, make_batch("LOT-B"), 100)  # type: ignore[arg-type]
    never = stocked(phc_store, make_batch("LOT-N"), 100)  # type: ignore[arg-type]
    covaxin = make_batch("LOT-C", vaccine="COVAXIN")
    assert refusal_code(
        vaccination_correct, by=manager, vaccination=given, reason="x", batch=never
    ) == ("batch_not_issued")
    assert refusal_code(
        vaccination_correct, by=manager, vaccination=given, reason="x", batch=covaxin
    ) == ("wrong_vaccine")
    given.refresh_from_db()
    assert given.is_valid()
    issue(given.session, other, 1)

    new = vaccination_correct(by=manager, vaccination=given, reason="lot B", batch=other)

    assert new.batch == other
    assert (_given(given.session, batch), _given(given.session, other)) == (0, 1)


def test_it_corrects_the_person_to_one_of_the_session_with_the_engines_dose_number(
    given: Vaccination, country: object, manager: User, verifier: User, today_session: Session
) -> None:
    ravi = person(country, 7)
    own = book(ravi, today_session)
    check_in(own, verifier, 7)

    new = vaccination_correct(
        by=manager, vaccination=given, reason="wrong person", beneficiary=ravi
    )

    assert (new.beneficiary, new.dose_number, new.appointment_id) == (ravi, 1, own.pk)
    assert Appointment.objects.get(pk=own.pk).status == "vaccinated"
    # The wrong person is still checked in and can have their own dose today.
    assert Appointment.objects.get(vaccinations=given).status == "checked_in"
    assert not given.beneficiary.has_doses()


def test_it_refuses_a_person_never_seen_at_the_facility_or_nothing_to_change(
    given: Vaccination, country: object, manager: User
) -> None:
    stranger = person(country, 8)
    assert (
        refusal_code(
            vaccination_correct, by=manager, vaccination=given, reason="x", beneficiary=stranger
        )
        == "beneficiary_elsewhere"
    )
    assert refusal_code(vaccination_correct, by=manager, vaccination=given, reason="x") == (
        "nothing_to_correct"
    )
    assert (
        refusal_code(
            vaccination_correct,
            by=manager,
            vaccination=given,
            reason="x",
            given_at=NOW + timedelta(hours=1),
        )
        == "given_in_future"
    )
    assert (
        refusal_code(
            vaccination_correct,
            by=manager,
            vaccination=given,
            reason="x",
            given_at=NOW - timedelta(days=1),
        )
        == "session_not_that_day"
    )
    assert (
        refusal_code(vaccination_correct, by=manager, vaccination=given, reason="x", site="ear")
        == "site_unknown"
    )
    given.refresh_from_db()
    assert given.is_valid()
    assert Vaccination.objects.count() == 1


def test_it_refuses_a_person_the_engine_says_has_had_the_dose(
    given: Vaccination,
    country: object,
    manager: User,
    verifier: User,
    vaccinator: User,
    batch: Batch,
    today_session: Session,
) -> None:
    ravi = person(country, 7)
    vaccinated(ravi, 7, today_session, verifier, vaccinator, batch)
    # Ravi's dose 1 is recorded: dose 2 is not due today, so the engine refuses.
    code = refusal_code(
        vaccination_correct, by=manager, vaccination=given, reason="x", beneficiary=ravi
    )
    assert code not in ("", "dose_already_recorded")
    given.refresh_from_db()
    assert given.is_valid()
    assert _given(given.session, given.batch) == 2


OPERATIONS = ("record", "mark", "batch", "site", "person")


def _check_books(session: Session, batches: list[Batch], closed: bool) -> None:
    for batch in batches:
        valid = Vaccination.objects.filter(session=session, batch=batch, status="valid").count()
        assert _given(session, batch) == valid
        if closed:
            consumed = StockMove.objects.filter(
                session=session, batch=batch, kind="consumption"
            ).aggregate(d=Sum("doses"))["d"]
            assert (consumed or 0) == -valid


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_books_match_the_valid_records_after_any_corrections(
    seed: int,
    country: object,
    hill_phc: Facility,
    batch: Batch,
    phc_store: object,
    verifier: User,
    vaccinator: User,
    manager: User,
) -> None:
    rng = random.Random(seed)
    today_session = make_day_session(
        hill_phc, capacity={1: (8, 2)}, slots=[SlotSpec(time(9), time(13), 8)]
    )
    issue(today_session, batch, 2)
    other = stocked(phc_store, make_batch("LOT-B"), 100)  # type: ignore[arg-type]
    issue(today_session, other, 2)
    batches = [batch, other]
    people = [person(country, 10 + i) for i in range(8)]
    appointments = {p.pk: book(p, today_session) for p in people}
    for i, p in enumerate(people):
        check_in(appointments[p.pk], verifier, 10 + i)
    closed = False
    for step in range(40):
        if step == 25:
            session_stock_close(by=manager, session=today_session)
            closed = True
        operation = rng.choice(OPERATIONS)
        valid = list(Vaccination.objects.filter(session=today_session, status="valid"))
        try:
            if operation == "record" or not valid:
                waiting = list(
                    Appointment.objects.filter(session=today_session, status="checked_in")
                )
                if waiting:
                    record(rng.choice(waiting), vaccinator, rng.choice(batches))
            elif operation == "mark":
                vaccination_mark_in_error(by=manager, vaccination=rng.choice(valid), reason="m")
            elif operation == "batch":
                old = rng.choice(valid)
                new_batch = other if old.batch_id == batch.pk else batch
                vaccination_correct(by=manager, vaccination=old, reason="b", batch=new_batch)
            elif operation == "site":
                old = rng.choice(valid)
                site = "right_arm" if old.site == "left_arm" else "left_arm"
                vaccination_correct(by=manager, vaccination=old, reason="s", site=site)
            else:
                old = rng.choice(valid)
                target = rng.choice(people)
                vaccination_correct(by=manager, vaccination=old, reason="p", beneficiary=target)
        except DomainError:
            pass
        _check_books(today_session, batches, closed)
    assert Vaccination.objects.filter(session=today_session, source="correction").exists()


@pytest.mark.django_db(transaction=True)
def test_two_admins_marking_the_same_record_at_once_one_wins(
    given: Vaccination, manager: User, district_admin: User, batch: Batch
) -> None:
    results: list[str] = []
    start = threading.Barrier(2)

    def mark(user: User) -> None:
        try:
            start.wait()
            vaccination_mark_in_error(
                by=user, vaccination=Vaccination.objects.get(pk=given.pk), reason="race"
            )
            results.append("marked")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=mark, args=(u,)) for u in (manager, district_admin)]
    with time_machine.travel(NOW, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    assert sorted(results) == ["already_in_error", "marked"]
    assert _given(given.session, batch) == 0
    assert AuditEvent.objects.filter(action="vaccination.entered_in_error").count() == 1
