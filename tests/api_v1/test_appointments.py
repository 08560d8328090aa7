"""Booking through the API: refusals with their codes, others' appointments not found, limits."""

from typing import Any

import pytest
from django.test import Client

from tests.api.factories import NOW, plan
from vaxnet.api import v1
from vaxnet.booking.models import Session
from vaxnet.facilities.models import Facility

from .helpers import OTHER_PHONE, call, error_code, person, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    return plan(hill_phc)


def _member(client: Client, token: str, seed: int = 1, **changes: Any) -> str:
    response = call(client, "post", "beneficiaries", person(seed, **changes), token=token)
    assert response.status_code == 201, response.json()
    reference: str = response.json()["reference"]
    return reference


def _book(client: Client, token: str, session: str, slot: str, *members: str, key: str = "") -> Any:
    body = {"session": session, "slot": slot, "beneficiaries": list(members)}
    return call(client, "post", "appointments", body, token=token, key=key)


def test_it_books_several_members_at_once(client: Client, token: str, session: Session) -> None:
    first, second = _member(client, token, 1), _member(client, token, 2)

    response = _book(client, token, session.public_id, "11:00", first, second)

    assert response.status_code == 201
    assert sorted(a["beneficiary"] for a in response.json()["appointments"]) == sorted(
        [first, second]
    )


def test_it_refuses_with_the_reason(
    client: Client, token: str, session: Session, hill_phc: Facility
) -> None:
    member = _member(client, token)
    child = _member(client, token, 2, birth_year=2020)
    unreleased = plan(hill_phc, release_at=NOW.replace(hour=23))

    cases = {
        "slot_unknown": _book(client, token, session.public_id, "10:00", member),
        "session_unknown": _book(client, token, "NOSUCHSESSION", "09:00", member),
        "not_released": _book(client, token, unreleased.public_id, "09:00", member),
        "too_young": _book(client, token, session.public_id, "09:00", child),
    }
    _book(client, token, session.public_id, "09:00", member)
    cases["already_booked"] = _book(client, token, session.public_id, "11:00", member)

    for code, response in cases.items():
        assert (response.status_code, error_code(response)) == (400, code), code


def test_it_refuses_a_full_slot(client: Client, token: str, hill_phc: Facility) -> None:
    from datetime import time

    from vaxnet.booking.planning import SlotSpec

    small = plan(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    _book(client, token, small.public_id, "09:00", _member(client, token, 1))

    response = _book(client, token, small.public_id, "09:00", _member(client, token, 2))

    assert error_code(response) == "dose_full"


def test_it_refuses_to_cancel_twice(client: Client, token: str, session: Session) -> None:
    booked = _book(client, token, session.public_id, "09:00", _member(client, token))
    path = f"appointments/{booked.json()['appointments'][0]['id']}/cancel"
    call(client, "post", path, token=token)

    again = call(client, "post", path, token=token)

    assert (again.status_code, error_code(again)) == (400, "not_cancellable")


def test_it_hides_other_accounts_appointments_and_members(
    client: Client, token: str, session: Session
) -> None:
    other = sign_in(client, OTHER_PHONE, address="10.0.0.9")
    theirs = _member(client, other, 7)
    booked = _book(client, other, session.public_id, "09:00", theirs).json()["appointments"][0]

    cancel = call(client, "post", f"appointments/{booked['id']}/cancel", token=token)
    move = call(
        client,
        "post",
        f"appointments/{booked['id']}/reschedule",
        {"session": session.public_id, "slot": "11:00"},
        token=token,
    )
    missing = call(client, "post", "appointments/NOSUCH123456/cancel", token=token)
    book_theirs = _book(client, token, session.public_id, "09:00", theirs)

    assert cancel.status_code == move.status_code == missing.status_code == 404
    assert cancel.json() == missing.json()
    assert (book_theirs.status_code, error_code(book_theirs)) == (404, "not_found")
    assert call(client, "get", "appointments", token=token).json() == {"appointments": []}


def test_it_keeps_the_old_place_when_a_move_is_refused(
    client: Client, token: str, session: Session
) -> None:
    booked = _book(client, token, session.public_id, "09:00", _member(client, token))
    appointment = booked.json()["appointments"][0]

    refused = call(
        client,
        "post",
        f"appointments/{appointment['id']}/reschedule",
        {"session": session.public_id, "slot": "07:00"},
        token=token,
    )

    assert error_code(refused) == "slot_unknown"
    listed = call(client, "get", "appointments", token=token).json()["appointments"]
    assert [(a["id"], a["status"]) for a in listed] == [(appointment["id"], "booked")]


def test_it_limits_booking_per_account_with_retry_after(
    client: Client, token: str, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v1, "BOOKING_PER_ACCOUNT", (1, 3600))
    member = _member(client, token)
    _book(client, token, session.public_id, "09:00", member)

    refused = _book(client, token, session.public_id, "09:00", member)

    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    assert refused["Retry-After"] == "3600"
