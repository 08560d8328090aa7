"""The waiting list: a freed place is held for the first matching, eligible person waiting."""

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import time, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command

from vaxnet.booking.models import (
    Appointment,
    Session,
    SessionDose,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.booking.planning import SlotSpec
from vaxnet.booking.services import appointment_book, appointment_cancel
from vaxnet.booking.waitlist import (
    waitlist_leave,
    waitlist_offer_accept,
    waitlist_offers_expire,
    waitlist_subscribe,
    waitlist_sweep,
)
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.notifications.models import Message
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.models import Vaccine

from .test_appointments import NOW, make_account, make_member, make_session


def _phone(beneficiary: Beneficiary) -> str:
    """Return the mobile number of the person's account (every one here has an account)."""
    assert beneficiary.account is not None
    return beneficiary.account.phone


pytestmark = pytest.mark.django_db

Capture = Callable[..., AbstractContextManager[list[Callable[[], Any]]]]


@pytest.fixture(autouse=True)
def _at_now() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


def _person(country: Country, n: int, birth_year: int = 1980) -> Beneficiary:
    return make_member(
        make_account(country, f"+9196{n:08d}", language="en"), 100 + n, birth_year=birth_year
    )


def _wait(person: Beneficiary, **preferences: Any) -> WaitlistEntry:
    day = (NOW + timedelta(days=1)).date()
    return waitlist_subscribe(
        beneficiary=person,
        date_from=preferences.pop("date_from", day),
        date_to=preferences.pop("date_to", day + timedelta(days=3)),
        **preferences,
    )


def _full_session(facility: Facility, country: Country) -> tuple[Session, Appointment]:
    """Return a one-place session and the appointment that fills it."""
    session = make_session(facility, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    holder = _person(country, 99)
    (appointment,) = appointment_book(
        beneficiaries=[holder], session=session, slot=session.slots.get(), now=NOW
    )
    return session, appointment


def _booked(session: Session) -> int:
    return SessionDose.objects.get(session=session, dose_number=1).booked_online


def test_it_subscribes_with_preferences(country: Country, hill: Region) -> None:
    person = _person(country, 1)

    entry = _wait(
        person,
        postal_codes=[" 110001 "],
        region=hill,
        vaccine=Vaccine.objects.get(code="COVISHIELD"),
        dose_number=1,
    )

    assert entry.status == WaitlistEntry.Status.WAITING
    assert entry.postal_codes == ["110001"]
    assert entry.region_path == hill.path
    with pytest.raises(DomainError, match="already_waitlisted"):
        _wait(person)
    with pytest.raises(DomainError, match="postal_code_invalid"):
        _wait(_person(country, 2), postal_codes=["0123"])
    with pytest.raises(DomainError, match="waitlist_dates"):
        _wait(_person(country, 3), date_from=NOW.date(), date_to=NOW.date() - timedelta(days=1))
    waitlist_leave(entry=entry)
    _wait(person)


def test_a_cancellation_offers_the_place_to_the_first_match(
    country: Country,
    hill_phc: Facility,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    session, appointment = _full_session(hill_phc, country)
    elsewhere = _wait(_person(country, 1), postal_codes=["600001"])  # Sea Port only
    other_vaccine = _wait(_person(country, 2), vaccine=Vaccine.objects.get(code="COVAXIN"))
    first = _wait(_person(country, 3), postal_codes=["110001"])
    second = _wait(_person(country, 4))

    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)

    offer = WaitlistOffer.objects.get()
    assert offer.entry == first
    assert offer.session == session and offer.dose_number == 1
    assert offer.expires_at == NOW + timedelta(minutes=5)
    # The place is held: nobody else can book it meanwhile.
    assert _booked(session) == 1
    with pytest.raises(DomainError, match=r"dose_full|slot_full"):
        appointment_book(
            beneficiaries=[_person(country, 5)], session=session, slot=offer.slot, now=NOW
        )
    statuses = dict(WaitlistEntry.objects.values_list("pk", "status"))
    assert statuses[first.pk] == "offered"
    assert {statuses[e.pk] for e in (elsewhere, other_vaccine, second)} == {"waiting"}
    sms = Message.objects.get(template="waitlist_offer")
    assert sms.recipient == _phone(first.beneficiary)
    assert f"/waitlist/offers/{offer.public_id}/" in sms.body
    assert "5 minutes" in sms.body


def test_accepting_books_the_held_place(
    country: Country, hill_phc: Facility, django_capture_on_commit_callbacks: Capture
) -> None:
    session, appointment = _full_session(hill_phc, country)
    entry = _wait(_person(country, 1))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)
    offer = WaitlistOffer.objects.get()

    booked = waitlist_offer_accept(offer=offer, now=NOW + timedelta(minutes=4))

    assert booked.status == Appointment.Status.BOOKED
    assert booked.beneficiary == entry.beneficiary
    assert _booked(session) == 1
    assert Slot.objects.get(session=session).booked == 1
    entry.refresh_from_db()
    offer.refresh_from_db()
    assert (entry.status, offer.status, offer.appointment) == ("booked", "accepted", booked)
    assert Message.objects.filter(
        template="booking_confirmed", recipient=_phone(entry.beneficiary)
    ).exists()
    with pytest.raises(DomainError, match="offer_closed"):
        waitlist_offer_accept(offer=offer, now=NOW + timedelta(minutes=4))


def test_a_lapsed_offer_goes_to_the_next_person(
    country: Country, hill_phc: Facility, django_capture_on_commit_callbacks: Capture
) -> None:
    session, appointment = _full_session(hill_phc, country)
    first = _wait(_person(country, 1))
    second = _wait(_person(country, 2))
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)
    offer = WaitlistOffer.objects.get()

    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        with pytest.raises(DomainError, match="offer_closed"):
            waitlist_offer_accept(offer=offer)
        call_command("run_waitlist", stdout=StringIO())

    offer.refresh_from_db()
    first.refresh_from_db()
    assert (offer.status, first.status) == ("lapsed", "lapsed")
    passed_on = WaitlistOffer.objects.get(status="open")
    assert passed_on.entry == second
    assert _booked(session) == 1
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        assert waitlist_offers_expire() == 1
    # Nobody left waiting: the place is free for anyone.
    assert _booked(session) == 0
    assert Slot.objects.get(session=session).booked == 0


def test_it_offers_nothing_to_the_ineligible_or_already_booked(
    country: Country,
    hill_phc: Facility,
    sea_hospital: Facility,
    django_capture_on_commit_callbacks: Capture,
) -> None:
    session, appointment = _full_session(hill_phc, country)
    _wait(_person(country, 1, birth_year=2015))  # too young for the vaccine
    booked = _person(country, 2)
    _wait(booked)
    elsewhere = make_session(sea_hospital)
    appointment_book(
        beneficiaries=[booked], session=elsewhere, slot=elsewhere.slots.all()[0], now=NOW
    )

    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)

    assert not WaitlistOffer.objects.exists()
    assert _booked(session) == 0


def test_a_new_session_offers_its_places_to_the_people_waiting(
    country: Country, hill_phc: Facility
) -> None:
    people = [_wait(_person(country, n)) for n in range(3)]
    session = make_session(hill_phc, capacity={1: (2, 0)}, slots=[SlotSpec(time(9), time(11), 2)])

    assert waitlist_sweep() == 2

    offers = WaitlistOffer.objects.order_by("created_at", "pk")
    assert [o.entry for o in offers] == people[:2]
    assert {o.session for o in offers} == {session}
    assert _booked(session) == 2
    assert waitlist_sweep() == 0


def test_it_makes_no_offers_during_a_fair_window(country: Country, hill_phc: Facility) -> None:
    _wait(_person(country, 1))
    make_session(hill_phc, release_at=NOW - timedelta(minutes=5))

    assert waitlist_sweep() == 0
    assert not WaitlistOffer.objects.exists()
