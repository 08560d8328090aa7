"""Facility managers change planned sessions; no change may break a booking already made."""

import threading
from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from vaxnet.booking.models import Appointment, Session, SessionDose, Slot, WaitlistOffer
from vaxnet.booking.planning import SlotSpec, session_cancel, session_update
from vaxnet.booking.services import appointment_book, appointment_cancel
from vaxnet.booking.waitlist import waitlist_subscribe
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.models import Vaccine

from .test_appointments import NOW, make_account, make_member, make_session

pytestmark = pytest.mark.django_db

TOMORROW = (NOW + timedelta(days=1)).date()


def _plan(session: Session, **overrides: Any) -> dict[str, Any]:
    """Return the session's current plan as session_update takes it, with some changes."""
    session = Session.objects.get(pk=session.pk)
    plan: dict[str, Any] = {
        "on": session.date,
        "vaccine": session.vaccine,
        "capacity": {
            d.dose_number: (d.capacity_online, d.capacity_onsite) for d in session.doses.all()
        },
        "slots": [SlotSpec(s.starts_at, s.ends_at, s.capacity) for s in session.slots.all()],
        "release_at": session.release_at,
        "min_age_years": session.min_age_years,
        "max_age_years": session.max_age_years,
    }
    plan.update(overrides)
    return plan


def _update(session: Session, by: User | None = None, **overrides: Any) -> Session:
    return session_update(by=by, session=session, now=NOW, **_plan(session, **overrides))


def _refusal(session: Session, **overrides: Any) -> DomainError:
    with time_machine.travel(NOW, tick=False), pytest.raises(DomainError) as info:
        _update(session, **overrides)
    return info.value


def _doses(session: Session) -> dict[int, tuple[int, int, int]]:
    return {
        d.dose_number: (d.capacity_online, d.capacity_onsite, d.booked_online)
        for d in SessionDose.objects.filter(session=session)
    }


@pytest.fixture
def later(hill_phc: Facility) -> Session:
    """A session tomorrow whose booking opens only tomorrow morning."""
    return make_session(hill_phc, release_at=NOW + timedelta(hours=20))


@pytest.fixture
def open_session(hill_phc: Facility) -> Session:
    """A session tomorrow, open for booking: dose 1 and 2, 4 + 2 places each, two slots of 4."""
    return make_session(hill_phc)


@pytest.fixture
def asha(country: Country) -> Beneficiary:
    return make_member(make_account(country, "+919812345678"), 1, name="Asha")


def _book(member: Beneficiary, session: Session, starts: int = 9) -> Appointment:
    slot = Slot.objects.get(session=session, starts_at=time(starts))
    (appointment,) = appointment_book(beneficiaries=[member], session=session, slot=slot, now=NOW)
    return appointment


def test_it_changes_everything_while_nobody_has_booked(later: Session, manager: User) -> None:
    with time_machine.travel(NOW, tick=False):
        changed = _update(
            later,
            by=manager,
            on=TOMORROW + timedelta(days=1),
            vaccine=Vaccine.objects.get(code="COVAXIN"),
            capacity={1: (10, 5)},
            slots=[SlotSpec(time(10), time(12), 10)],
            release_at=NOW + timedelta(hours=2),
            min_age_years=45,
            max_age_years=60,
        )

    assert changed.date == TOMORROW + timedelta(days=1)
    assert changed.vaccine.code == "COVAXIN"
    assert (changed.min_age_years, changed.max_age_years) == (45, 60)
    assert changed.release_at == NOW + timedelta(hours=2)
    assert _doses(changed) == {1: (10, 5, 0)}
    assert [str(slot) for slot in changed.slots.all()] == ["10:00–12:00"]
    event = AuditEvent.objects.get(action="session.update", actor=manager)
    assert event.data["changes"]["vaccine"] == ["COVISHIELD", "COVAXIN"]
    assert event.data["changes"]["doses"] == ["1 2", "1"]


def test_it_keeps_the_terms_once_someone_has_booked(
    open_session: Session, asha: Beneficiary
) -> None:
    _book(asha, open_session)

    changes: list[tuple[dict[str, Any], str]] = [
        ({"on": TOMORROW + timedelta(days=1)}, "on"),
        ({"vaccine": Vaccine.objects.get(code="COVAXIN")}, "vaccine"),
        ({"capacity": {1: (8, 4)}, "slots": [SlotSpec(time(9), time(13), 8)]}, "dose_numbers"),
        ({"min_age_years": 45}, "min_age_years"),
        ({"fee": Decimal("100")}, "fee"),
    ]
    for overrides, field in changes:
        error = _refusal(open_session, **overrides)
        assert (error.code, error.field) == ("session_booked", field)
    assert _doses(open_session) == {1: (4, 2, 1), 2: (4, 2, 0)}


def test_it_never_takes_capacity_below_what_is_booked(
    open_session: Session, country: Country
) -> None:
    for n in range(3):
        _book(make_member(make_account(country, f"+91981234560{n}"), 10 + n), open_session)

    error = _refusal(
        open_session,
        capacity={1: (2, 2), 2: (4, 2)},
        slots=[SlotSpec(time(9), time(11), 2), SlotSpec(time(11), time(13), 4)],
    )
    assert (error.code, error.field) == ("capacity_below_booked", "capacity")
    error = _refusal(
        open_session,
        capacity={1: (3, 2), 2: (4, 2)},
        slots=[SlotSpec(time(9), time(11), 2), SlotSpec(time(11), time(13), 5)],
    )
    assert (error.code, error.field) == ("slot_below_booked", "slots")

    with time_machine.travel(NOW, tick=False):
        _update(
            open_session,
            capacity={1: (3, 0), 2: (4, 2)},
            slots=[SlotSpec(time(9), time(11), 3), SlotSpec(time(11), time(13), 4)],
        )
    assert _doses(open_session) == {1: (3, 0, 3), 2: (4, 2, 0)}


def test_it_keeps_the_times_of_booked_slots_and_moves_free_ones(
    open_session: Session, asha: Beneficiary
) -> None:
    _book(asha, open_session)

    error = _refusal(
        open_session, slots=[SlotSpec(time(9), time(10), 4), SlotSpec(time(11), time(13), 4)]
    )
    assert (error.code, error.field) == ("slot_in_use", "slots")
    error = _refusal(open_session, slots=[SlotSpec(time(11), time(13), 8)])
    assert error.code == "slot_in_use"

    with time_machine.travel(NOW, tick=False):
        _update(
            open_session, slots=[SlotSpec(time(9), time(11), 4), SlotSpec(time(12), time(14), 4)]
        )
    assert [str(s) for s in Slot.objects.filter(session=open_session)] == [
        "09:00–11:00",
        "12:00–14:00",
    ]


def test_it_refuses_to_remove_a_slot_with_past_bookings(
    open_session: Session, asha: Beneficiary
) -> None:
    appointment_cancel(appointment=_book(asha, open_session, starts=11))

    error = _refusal(open_session, slots=[SlotSpec(time(9), time(11), 8)])

    assert error.code == "slot_in_use"


def test_it_moves_the_opening_only_before_booking_opens(
    later: Session, open_session: Session
) -> None:
    error = _refusal(open_session, release_at=NOW + timedelta(hours=1))
    assert (error.code, error.field) == ("already_released", "release_at")
    # The same minute, as a form sends it back, is no change.
    with time_machine.travel(NOW, tick=False):
        _update(open_session, release_at=open_session.release_at.replace(second=0, microsecond=0))
        _update(later, release_at=NOW + timedelta(hours=3))
    later.refresh_from_db()
    assert later.release_at == NOW + timedelta(hours=3)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        (
            {"capacity": {1: (4, 2), 2: (4, 2)}, "slots": [SlotSpec(time(9), time(11), 4)]},
            "slot_capacity",
        ),
        ({"max_age_years": 10}, "age_window"),
        ({"fee": Decimal("-1")}, "fee_negative"),
        ({"on": NOW.date() - timedelta(days=1)}, "session_in_past"),
    ],
)
def test_it_refuses_a_plan_that_cannot_work(
    later: Session, overrides: dict[str, Any], code: str
) -> None:
    assert _refusal(later, **overrides).code == code


def test_it_refuses_to_change_a_cancelled_or_past_session(
    hill_phc: Facility, later: Session
) -> None:
    with time_machine.travel(NOW, tick=False):
        session_cancel(by=None, session=later, reason="No vaccine")
    assert _refusal(later).code == "session_not_planned"

    past = make_session(hill_phc, on=NOW.date())
    later_day = NOW + timedelta(days=1)
    with time_machine.travel(later_day, tick=False), pytest.raises(DomainError) as info:
        session_update(by=None, session=past, now=later_day, **_plan(past, on=later_day.date()))
    assert info.value.code == "session_over"


def test_it_offers_new_places_to_people_waiting(
    country: Country,
    hill_phc: Facility,
    django_capture_on_commit_callbacks: Any,
) -> None:
    session = make_session(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    first = make_member(make_account(country, "+919800000001"), 1)
    waiting = make_member(make_account(country, "+919800000002"), 2)
    _book(first, session)
    waitlist_subscribe(
        beneficiary=waiting, date_from=TOMORROW, date_to=TOMORROW, vaccine=session.vaccine, now=NOW
    )

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks(execute=True):
        _update(session, capacity={1: (2, 0)}, slots=[SlotSpec(time(9), time(11), 2)])

    offer = WaitlistOffer.objects.get(entry__beneficiary=waiting)
    assert offer.session_id == session.pk
    assert _doses(session) == {1: (2, 0, 2)}


# --- Edits racing bookings -------------------------------------------------------------------

BOOKERS = 12


@pytest.mark.django_db(transaction=True)
def test_it_never_leaves_more_booked_than_capacity_when_edits_race_bookings(
    country: Country, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, capacity={1: (10, 0)}, slots=[SlotSpec(time(9), time(11), 10)])
    members = [make_member(make_account(country, f"+9198000{n:05d}"), n) for n in range(BOOKERS)]
    slot = session.slots.get()
    # Editors shrink to 4, 6 and 8 places and grow back to 10, all at once with the bookers.
    sizes = [4, 6, 8, 10, 5, 7]
    results: list[str] = []
    start = threading.Barrier(BOOKERS + len(sizes))

    def book(member: Beneficiary) -> None:
        try:
            start.wait()
            appointment_book(beneficiaries=[member], session=session, slot=slot, now=NOW)
            results.append("booked")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    def edit(size: int) -> None:
        try:
            start.wait()
            session_update(
                by=None,
                session=Session.objects.get(pk=session.pk),
                now=NOW,
                **_plan(
                    session,
                    capacity={1: (size, 0)},
                    slots=[SlotSpec(time(9), time(11), size)],
                ),
            )
            results.append("edited")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(m,)) for m in members]
    threads += [threading.Thread(target=edit, args=(size,)) for size in sizes]
    with time_machine.travel(NOW, tick=False):
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert len(results) == len(threads)
    assert "booked" in results and "edited" in results
    assert set(results) <= {
        "booked",
        "edited",
        "dose_full",
        "slot_full",
        "capacity_below_booked",
        "slot_below_booked",
    }
    dose = SessionDose.objects.get(session=session)
    slot.refresh_from_db()
    booked = Appointment.objects.filter(session=session, status="booked").count()
    assert booked == results.count("booked") == dose.booked_online == slot.booked
    assert dose.booked_online <= dose.capacity_online
    assert slot.booked <= slot.capacity
    assert dose.capacity_online == slot.capacity


def test_it_uses_the_local_minute_for_the_opening(later: Session) -> None:
    local = timezone.localtime(later.release_at)
    with time_machine.travel(NOW, tick=False):
        _update(later, release_at=local.replace(second=30))
    assert not AuditEvent.objects.filter(action="session.update").exists()


def test_it_makes_cached_availability_stale_and_waits_for_release_to_offer(
    later: Session,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    changed: list[int] = []
    monkeypatch.setattr(
        "vaxnet.booking.planning.availability_changed", lambda session: changed.append(session.pk)
    )

    with time_machine.travel(NOW, tick=False), django_capture_on_commit_callbacks() as callbacks:
        _update(
            later,
            capacity={1: (8, 2), 2: (4, 2)},
            slots=[SlotSpec(time(9), time(11), 8), SlotSpec(time(11), time(13), 4)],
        )

    assert changed == [later.pk]
    assert callbacks == []  # not open for booking yet: the waiting list waits for the release


@pytest.mark.parametrize(
    "overrides",
    [{"min_age_years": 45}, {"vaccine": "COVAXIN"}, {"on": TOMORROW + timedelta(days=1)}],
)
def test_it_refuses_a_booking_checked_against_the_plan_before_a_change(
    open_session: Session, asha: Beneficiary, overrides: dict[str, Any]
) -> None:
    # The booking read the session (and checked eligibility) before the manager's change.
    seen = Session.objects.select_related("vaccine").get(pk=open_session.pk)
    if "vaccine" in overrides:
        overrides = {"vaccine": Vaccine.objects.get(code=overrides["vaccine"])}
    with time_machine.travel(NOW, tick=False):
        _update(open_session, **overrides)

    with pytest.raises(DomainError) as info:
        appointment_book(beneficiaries=[asha], session=seen, slot=seen.slots.first(), now=NOW)  # type: ignore[arg-type]

    assert info.value.code == "session_changed"
    assert not Appointment.objects.filter(session=open_session).exists()
    assert sum(d.booked_online for d in SessionDose.objects.filter(session=open_session)) == 0


def test_it_refuses_a_booking_checked_before_the_session_was_cancelled(
    open_session: Session, asha: Beneficiary
) -> None:
    seen = Session.objects.select_related("vaccine").get(pk=open_session.pk)
    session_cancel(by=None, session=open_session, reason="Vaccine not delivered")

    with pytest.raises(DomainError) as info:
        appointment_book(beneficiaries=[asha], session=seen, slot=seen.slots.first(), now=NOW)  # type: ignore[arg-type]

    assert info.value.code == "session_closed"
    assert not Appointment.objects.filter(session=open_session, status="booked").exists()
