"""Many clients race for a small session: exactly its capacity is booked, nobody twice."""

import threading
from collections.abc import Sequence
from datetime import time

import pytest
from django.db import connection

from vaxnet.booking.models import Appointment, SessionDose, Slot
from vaxnet.booking.planning import SlotSpec
from vaxnet.booking.services import appointment_book
from vaxnet.core.errors import DomainError
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary

from .test_appointments import NOW, make_account, make_member, make_session

CLIENTS = 24
CAPACITY = 5


def _race(jobs: Sequence[Sequence[Beneficiary]], session: object, slot: Slot) -> list[str]:
    """Run one booking per job in its own thread and database connection, all at once."""
    results: list[str] = []
    start = threading.Barrier(len(jobs))

    def client(members: Sequence[Beneficiary]) -> None:
        try:
            start.wait()
            appointment_book(beneficiaries=list(members), session=session, slot=slot, now=NOW)  # type: ignore[arg-type]
            results.append("booked")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_it_never_books_over_capacity(country: Country, hill_phc: Facility) -> None:
    session = make_session(
        hill_phc, capacity={1: (CAPACITY, 0)}, slots=[SlotSpec(time(9), time(11), CAPACITY)]
    )
    slot = session.slots.get()
    members = [(make_member(make_account(country, f"+9198000{n:05d}"), n),) for n in range(CLIENTS)]

    results = _race(members, session, slot)

    assert results.count("booked") == CAPACITY
    assert set(results) <= {"booked", "dose_full", "slot_full"}
    assert Appointment.objects.filter(session=session, status="booked").count() == CAPACITY
    assert SessionDose.objects.get(session=session).booked_online == CAPACITY
    slot.refresh_from_db()
    assert slot.booked == CAPACITY


@pytest.mark.django_db(transaction=True)
def test_it_books_one_person_once_when_they_click_many_times(
    country: Country, hill_phc: Facility
) -> None:
    session = make_session(hill_phc, capacity={1: (20, 0)}, slots=[SlotSpec(time(9), time(11), 20)])
    slot = session.slots.get()
    member = make_member(make_account(country, "+919811111111"), 1)

    results = _race([(member,)] * 8, session, slot)

    assert results.count("booked") == 1
    assert set(results) == {"booked", "already_booked"}
    assert Appointment.objects.filter(beneficiary=member, status="booked").count() == 1
    assert SessionDose.objects.get(session=session).booked_online == 1
