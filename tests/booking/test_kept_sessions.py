"""The booking API keeps sessions in the process; a changed session is never booked as it was."""

from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.factories import NOW, plan
from tests.api_v1.helpers import call, error_code, person, sign_in
from tests.booking.test_session_update import _plan
from vaxnet.booking.citizen_queries import kept_session_for_booking, session_forget
from vaxnet.booking.models import Appointment, Session, SessionDose, Slot
from vaxnet.booking.planning import SlotSpec, session_cancel, session_update
from vaxnet.booking.services import appointment_book
from vaxnet.core.errors import DomainError
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


@pytest.fixture
def session(hill_phc: Facility) -> Iterator[Session]:
    session = plan(hill_phc)
    yield session
    session_forget(session.public_id)


def _member(client: Client, token: str, seed: int, **changes: Any) -> str:
    response = call(client, "post", "beneficiaries", person(seed, **changes), token=token)
    assert response.status_code == 201, response.json()
    reference: str = response.json()["reference"]
    return reference


def _book(client: Client, token: str, session: Session, slot: str, member: str) -> Any:
    body = {"session": session.public_id, "slot": slot, "beneficiaries": [member]}
    return call(client, "post", "appointments", body, token=token)


def _session_reads(queries: CaptureQueriesContext) -> int:
    return sum('FROM "booking_session"' in query["sql"] for query in queries.captured_queries)


def test_it_books_from_the_kept_copy_without_reading_the_session_again(
    client: Client, token: str, session: Session
) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2)
    assert _book(client, token, session, "09:00", first).status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = _book(client, token, session, "09:00", second)

    assert response.status_code == 201
    assert _session_reads(queries) == 0  # the plan is re-read by the hold, from its own SQL
    assert SessionDose.objects.get(session=session, dose_number=1).booked_online == 2
    assert Slot.objects.get(session=session, starts_at=time(9)).booked == 2


def test_it_honours_a_session_update_made_in_the_same_process(
    client: Client, token: str, session: Session
) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2)
    assert _book(client, token, session, "09:00", first).status_code == 201
    slots = [SlotSpec(time(9), time(11), 4), SlotSpec(time(11), time(12), 4)]

    session_update(by=None, session=session, **_plan(session, slots=slots))
    with CaptureQueriesContext(connection) as queries:
        response = _book(client, token, session, "11:00", second)

    assert response.status_code == 201, response.json()
    assert _session_reads(queries) == 1  # read afresh once, not tried from the old copy
    assert response.json()["appointments"][0]["slot_end"] == "12:00"


def test_it_honours_a_session_cancel_made_in_the_same_process(
    client: Client, token: str, session: Session
) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2)
    assert _book(client, token, session, "09:00", first).status_code == 201

    session_cancel(by=None, session=session, reason="No vaccinator today")
    response = _book(client, token, session, "09:00", second)

    assert (response.status_code, error_code(response)) == (400, "session_closed")
    assert not Appointment.objects.filter(session=session, status=Appointment.Status.BOOKED)


def test_a_stale_copy_is_read_again_and_the_booking_follows_the_new_plan(
    client: Client, token: str, session: Session
) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2)
    assert _book(client, token, session, "09:00", first).status_code == 201
    # Another process changes the plan: this process's copy is not told.
    new_day = session.date + timedelta(days=1)
    Session.objects.filter(pk=session.pk).update(date=new_day)
    Slot.objects.filter(session=session, starts_at=time(11)).update(ends_at=time(12))

    response = _book(client, token, session, "11:00", second)

    assert response.status_code == 201, response.json()
    (booked,) = response.json()["appointments"]
    assert (booked["date"], booked["slot_end"]) == (new_day.isoformat(), "12:00")


def test_a_stale_copy_that_would_now_be_refused_is_refused(
    client: Client, token: str, session: Session
) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2, birth_year=1990)
    assert _book(client, token, session, "09:00", first).status_code == 201
    Session.objects.filter(pk=session.pk).update(min_age_years=45)

    response = _book(client, token, session, "09:00", second)

    assert (response.status_code, error_code(response)) == (400, "age_not_in_session")
    assert Appointment.objects.filter(session=session).count() == 1
    assert SessionDose.objects.get(session=session, dose_number=1).booked_online == 1


@pytest.mark.parametrize(
    "change",
    [
        {"min_age_years": 45},
        {"release_at": NOW - timedelta(hours=2)},
        {"status": Session.Status.CANCELLED},
    ],
)
def test_the_service_refuses_a_copy_that_no_longer_matches_and_takes_nothing(
    session: Session, change: dict[str, Any]
) -> None:
    account = Account.objects.create(country=session.facility.country, phone="+919800000001")
    member = Beneficiary.objects.create(
        account=account,
        country=account.country,
        reference="12345678901234",
        name="Asha",
        sex="female",
        birth_year=1960,
        id_type=session.facility.country.id_types.get(code="aadhaar"),
        id_hash="x" * 64,
        id_last4="1234",
    )
    copy, _kept = kept_session_for_booking(session.facility.country, session.public_id)
    assert copy is not None
    slot = next(s for s in copy.slots.all() if s.starts_at == time(9))
    Session.objects.filter(pk=session.pk).update(**change)

    with pytest.raises(DomainError) as refused:
        appointment_book(beneficiaries=[member], session=copy, slot=slot)

    assert refused.value.code in ("session_changed", "session_closed")
    assert not Appointment.objects.exists()
    assert SessionDose.objects.get(session=session, dose_number=1).booked_online == 0
    assert Slot.objects.get(pk=slot.pk).booked == 0


def test_it_keeps_a_unique_violation_as_a_refusal_under_an_idempotency_key(
    client: Client, token: str, session: Session
) -> None:
    # The appointment insert has no savepoint of its own: the booking's block rolls back to
    # the one it takes inside the idempotency record's transaction, which stays usable.
    member = _member(client, token, 1)
    assert _book(client, token, session, "09:00", member).status_code == 201
    body = {"session": session.public_id, "slot": "11:00", "beneficiaries": [member]}

    refused = call(client, "post", "appointments", body, token=token, key="again-1")
    replayed = call(client, "post", "appointments", body, token=token, key="again-1")

    assert (refused.status_code, error_code(refused)) == (400, "already_booked")
    assert (replayed.status_code, replayed.json()) == (400, refused.json())
    assert SessionDose.objects.get(session=session, dose_number=1).booked_online == 1
    assert Slot.objects.get(session=session, starts_at=time(11)).booked == 0
