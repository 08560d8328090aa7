"""The dashboard's event facts: each service writes, as it goes, what a rebuild would count.

Every test makes the changes through the services, folds the facts they wrote, and checks
that `tallies_rebuild` then finds exactly the same tallies; and some numbers by hand.
"""

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, time, timedelta
from typing import Any

import pytest
import time_machine

from vaxnet.booking.draw import draw_close, draw_enter
from vaxnet.booking.models import Appointment, Draw, Session, Slot, WaitlistOffer
from vaxnet.booking.planning import SlotSpec, session_cancel, session_update
from vaxnet.booking.services import appointment_book, appointment_cancel, appointment_reschedule
from vaxnet.booking.waitlist import waitlist_offer_accept, waitlist_subscribe
from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.dashboard.facts import ALL_VACCINES
from vaxnet.dashboard.models import Tally, TallyChange
from vaxnet.dashboard.services import tallies_fold_all, tallies_rebuild
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.services import session_stock_close, stock_waste
from vaxnet.vaccination.aefi import aefi_follow_up, aefi_report_by_citizen, aefi_report_by_staff
from vaxnet.vaccination.close import session_close
from vaxnet.vaccination.corrections import vaccination_mark_in_error
from vaxnet.vaccination.services import Person, walk_in_register
from vaxnet.vaccination.sync import Item, vaccinations_sync
from vaxnet.vaccines.models import Vaccine

from ..booking.test_appointments import make_account, make_member, make_session
from ..stock.ledger_helpers import NOW, TODAY, facility_store, make_batch, stocked
from ..vaccination.day import aadhaar, at, book, check_in, issue, make_day_session, record

pytestmark = pytest.mark.django_db

TOMORROW = TODAY + timedelta(days=1)
LATER = NOW + timedelta(hours=3)

# metric, day, region, vaccine, breakdown, value, count
Row = tuple[str, date, int, str, str, str, int]


@pytest.fixture(autouse=True)
def clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def store(hill_phc: Facility) -> Store:
    return facility_store(hill_phc)


@pytest.fixture
def batch(store: Store) -> Batch:
    """200 doses of LOT-A (10-dose vials of COVISHIELD) received at Hill Town PHC."""
    return stocked(store, make_batch("LOT-A"), 200)


@pytest.fixture
def citizen(country: Country) -> Account:
    return make_account(country, "+919812345678")


@pytest.fixture
def asha(citizen: Account) -> Beneficiary:
    return make_member(citizen, 1, name="Asha")


@pytest.fixture
def ravi(citizen: Account) -> Beneficiary:
    return make_member(citizen, 2, name="Ravi")


def settled() -> set[Row]:
    """Fold the facts written, check that a rebuild counts the same, and return the tallies."""
    assert TallyChange.objects.exists()
    tallies_fold_all()
    folded = _tallies()
    tallies_rebuild()
    assert _tallies() == folded
    # Each tally of all vaccines together is the sum of the vaccines' own.
    each: Counter[tuple[Any, ...]] = Counter()
    together: Counter[tuple[Any, ...]] = Counter()
    for *cell, vaccine, count in Tally.objects.values_list(
        "metric", "span", "day", "region_id", "dim", "value", "vaccine", "count"
    ):
        (together if vaccine == ALL_VACCINES else each)[tuple(cell)] += count
    assert +together == +each and together
    return {row for row in folded if row[3] != ALL_VACCINES}


def _tallies() -> set[Row]:
    return set(
        Tally.objects.exclude(count=0).values_list(
            "metric", "day", "region_id", "vaccine", "dim", "value", "count"
        )
    )


def counted(
    tallies: set[Row], metric: str, day: date, region: int, **where: str
) -> dict[tuple[str, str, str], int]:
    """Return the counts of a metric on a day in a region, by (vaccine, breakdown, value)."""
    wanted = {"vaccine": None, "dim": None, "value": None} | where
    return {
        (vaccine, dim, value): count
        for name, on, place, vaccine, dim, value, count in tallies
        if (name, on, place) == (metric, day, region)
        and all(
            wanted[key] in (None, got)
            for key, got in (("vaccine", vaccine), ("dim", dim), ("value", value))
        )
    }


def _open_session(facility: Facility, *, vaccine: str = "COVISHIELD") -> Session:
    return make_session(facility, vaccine=vaccine)


def _first_slot(session: Session) -> Slot:
    slot = Slot.objects.filter(session=session).order_by("starts_at").first()
    assert slot is not None
    return slot


# Sessions


def test_it_counts_sessions_as_they_are_planned_moved_cancelled_and_closed(
    hill_phc: Facility, manager: User, asha: Beneficiary, ravi: Beneficiary
) -> None:
    planned = _open_session(hill_phc)
    moved = _open_session(hill_phc)
    (gone,) = appointment_book(beneficiaries=[asha], session=moved, slot=_first_slot(moved))
    appointment_cancel(appointment=gone)
    session_update(
        by=manager,
        session=moved,
        on=TOMORROW + timedelta(days=1),
        vaccine=Vaccine.objects.get(code="COVAXIN"),
        capacity={1: (4, 2)},
        slots=[SlotSpec(time(9), time(11), 4)],
        release_at=moved.release_at,
        min_age_years=18,
    )
    cancelled = _open_session(hill_phc)
    appointment_book(beneficiaries=[ravi], session=cancelled, slot=_first_slot(cancelled))
    session_cancel(by=manager, session=cancelled, reason="No vaccinator")
    closed = make_day_session(hill_phc)
    session_close(by=manager, session=closed, unopened_vials={})

    tallies = settled()

    hill = hill_phc.region_id
    assert planned.pk != cancelled.pk
    assert counted(tallies, "sessions", TOMORROW, hill) == {
        ("COVISHIELD", "status", "planned"): 1,
        ("COVISHIELD", "status", "cancelled"): 1,
    }
    assert counted(tallies, "sessions", TOMORROW + timedelta(days=1), hill) == {
        ("COVAXIN", "status", "planned"): 1
    }
    assert counted(tallies, "sessions", TODAY, hill) == {("COVISHIELD", "status", "closed"): 1}
    # Asha's booking and its cancellation count under the vaccine the session has now.
    assert counted(tallies, "bookings", TODAY, hill, dim="") == {
        ("COVAXIN", "", ""): 1,
        ("COVISHIELD", "", ""): 1,
    }
    assert counted(tallies, "cancellations", TODAY, hill) == {
        ("COVAXIN", "", ""): 1,
        ("COVISHIELD", "", ""): 1,
    }
    # And in every region above the centre.
    for above in ("TS-N", "TEST"):
        region = Region.objects.get(code=above).pk
        assert counted(tallies, "sessions", TOMORROW, region) == counted(
            tallies, "sessions", TOMORROW, hill
        )


# AEFI reports


def test_it_counts_aefi_reports_and_a_severity_a_follow_up_changes(
    hill_phc: Facility,
    verifier: User,
    vaccinator: User,
    state_admin: User,
    batch: Batch,
    citizen: Account,
    asha: Beneficiary,
) -> None:
    session = make_day_session(hill_phc)
    issue(session, batch, 1)
    appointment = book(asha, session)
    check_in(appointment, verifier, 1)
    dose = record(appointment, vaccinator, batch)
    report: dict[str, Any] = {
        "vaccination": dose,
        "onset_at": NOW + timedelta(hours=1),
        "symptoms": ["fever"],
        "outcome": "recovering",
        "now": LATER,
    }
    minor = aefi_report_by_staff(by=vaccinator, severity="minor", **report)
    aefi_report_by_citizen(
        account=citizen, beneficiary=asha, severity="severe", reporter_name="Asha", **report
    )
    aefi_follow_up(by=state_admin, aefi=minor, note="Died in hospital.", outcome="died")

    tallies = settled()

    assert counted(tallies, "aefi", TODAY, hill_phc.region_id) == {
        ("COVISHIELD", "", ""): 2,
        ("COVISHIELD", "severity", "serious"): 1,
        ("COVISHIELD", "severity", "severe"): 1,
    }


# Stock moves


def test_it_counts_every_stock_move_by_kind_in_doses(
    hill_phc: Facility,
    verifier: User,
    vaccinator: User,
    manager: User,
    store: Store,
    batch: Batch,
    asha: Beneficiary,
) -> None:
    session = make_day_session(hill_phc)
    issue(session, batch, 2)
    appointment = book(asha, session)
    check_in(appointment, verifier, 1)
    dose = record(appointment, vaccinator, batch)
    stock_waste(by=None, store=store, batch=batch, doses=10, reason="breakage", now=NOW)
    session_stock_close(by=manager, session=session, unopened_vials={batch: 1}, now=NOW)

    tallies = settled()

    region = store.region_id
    assert counted(tallies, "stock", TODAY, region) == {
        ("COVISHIELD", "kind", "receipt"): 200,
        ("COVISHIELD", "kind", "issue"): -20,
        ("COVISHIELD", "kind", "wastage_closed"): -10,
        ("COVISHIELD", "kind", "return"): 20,
        ("COVISHIELD", "kind", "consumption"): -1,
        ("COVISHIELD", "kind", "wastage_open"): -9,
    }

    # After the close a dose withdrawn moves from given to wasted (a pair of moves).
    vaccination_mark_in_error(by=manager, vaccination=dose, reason="wrong person")
    tallies = settled()

    kinds = counted(tallies, "stock", TODAY, region)
    assert ("COVISHIELD", "kind", "consumption") not in kinds
    assert kinds[("COVISHIELD", "kind", "wastage_open")] == -10


# Bookings and cancellations


def test_it_counts_bookings_cancellations_and_moves(
    hill_phc: Facility, river_clinic: Facility, asha: Beneficiary, ravi: Beneficiary
) -> None:
    first = _open_session(hill_phc)
    other = make_session(river_clinic, on=TOMORROW + timedelta(days=2))
    kept, gone = appointment_book(
        beneficiaries=[asha, ravi], session=first, slot=_first_slot(first)
    )
    appointment_cancel(appointment=gone)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        appointment_reschedule(appointment=kept, session=other, slot=_first_slot(other))

    tallies = settled()

    hill, river = hill_phc.region_id, river_clinic.region_id
    assert counted(tallies, "bookings", TODAY, hill) == {
        ("COVISHIELD", "", ""): 2,
        ("COVISHIELD", "dose", "1"): 2,
    }
    assert counted(tallies, "cancellations", TODAY, hill) == {("COVISHIELD", "", ""): 1}
    # The move: cancelled where it was, booked where it goes, on the day it was made.
    assert counted(tallies, "cancellations", TOMORROW, hill) == {("COVISHIELD", "", ""): 1}
    assert counted(tallies, "bookings", TOMORROW, river) == {
        ("COVISHIELD", "", ""): 1,
        ("COVISHIELD", "dose", "1"): 1,
    }


def test_it_counts_walk_ins_at_the_desk_and_from_offline_devices(
    hill_phc: Facility, vaccinator: User, batch: Batch, asha: Beneficiary
) -> None:
    session = make_day_session(hill_phc)
    issue(session, batch, 1)
    walk_in_register(
        by=vaccinator,
        session=session,
        person=Person(
            name="Walk-in",
            sex="female",
            birth_year=1980,
            id_type_code="aadhaar",
            id_number=aadhaar(7),
        ),
    )
    (outcome,) = vaccinations_sync(
        by=vaccinator,
        items=[
            Item(
                client_id=uuid.uuid4(),
                device_time=at(10),
                session=session.public_id,
                beneficiary=asha.reference,
                batch=batch.public_id,
                site="left_arm",
            )
        ],
    )
    assert outcome.result == "recorded"
    assert Appointment.objects.filter(session=session, channel="onsite").count() == 2

    tallies = settled()

    assert counted(tallies, "bookings", TODAY, hill_phc.region_id, dim="") == {
        ("COVISHIELD", "", ""): 2
    }


def test_it_counts_the_places_won_in_a_draw_and_taken_from_the_waiting_list(
    country: Country, hill_phc: Facility, django_capture_on_commit_callbacks: Any
) -> None:
    opens = NOW - timedelta(minutes=5)
    drawn = make_session(
        hill_phc, capacity={1: (2, 0)}, slots=[SlotSpec(time(9), time(11), 2)], release_at=opens
    )
    people = [make_member(make_account(country, f"+9197{n:08d}"), 10 + n) for n in range(3)]
    for person in people:
        draw_enter(beneficiaries=[person], session=drawn, slot=_first_slot(drawn), now=NOW)
    outcome = draw_close(draw=Draw.objects.get(session=drawn), now=opens + timedelta(minutes=10))
    assert outcome.winners == 2

    full = make_session(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    holder = make_member(make_account(country, "+919600000001"), 31)
    (held,) = appointment_book(beneficiaries=[holder], session=full, slot=_first_slot(full))
    waiting = make_member(make_account(country, "+919600000002"), 32)
    waitlist_subscribe(beneficiary=waiting, date_from=TOMORROW, date_to=TOMORROW)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=held)
    waitlist_offer_accept(offer=WaitlistOffer.objects.get(), now=NOW + timedelta(minutes=1))

    tallies = settled()

    assert counted(tallies, "bookings", TODAY, hill_phc.region_id, dim="") == {
        ("COVISHIELD", "", ""): 4  # two winners, the holder, the one who waited
    }
    assert counted(tallies, "cancellations", TODAY, hill_phc.region_id) == {
        ("COVISHIELD", "", ""): 1
    }
