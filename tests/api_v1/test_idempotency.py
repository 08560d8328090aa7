"""Idempotency-Key: a retry gets the first answer, the work is done once, even in a race."""

import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from tests.api.factories import plan
from vaxnet.api.models import IdempotentRequest
from vaxnet.api.v1_auth import api_token_issue, token_text
from vaxnet.booking.models import Appointment, Session
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account

from .helpers import OTHER_PHONE, call, error_code, last_code, person, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    return plan(hill_phc)


def _booking(client: Client, token: str, session: Session) -> dict[str, Any]:
    added = call(client, "post", "beneficiaries", person(1), token=token)
    return {
        "session": session.public_id,
        "slot": "09:00",
        "beneficiaries": [added.json()["reference"]],
    }


def test_it_replays_a_booking_without_booking_again(
    client: Client, token: str, session: Session
) -> None:
    body = _booking(client, token, session)

    first = call(client, "post", "appointments", body, token=token, key="book-1")
    again = call(client, "post", "appointments", body, token=token, key="book-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Appointment.objects.count() == 1
    assert Message.objects.filter(template="booking_confirmed").count() == 1


def test_it_refuses_a_key_reused_for_another_request(
    client: Client, token: str, session: Session
) -> None:
    body = _booking(client, token, session)
    call(client, "post", "appointments", body, token=token, key="book-1")

    other = call(
        client, "post", "appointments", {**body, "slot": "11:00"}, token=token, key="book-1"
    )
    cancel = call(client, "post", "appointments/ABC/cancel", token=token, key="book-1")

    assert (other.status_code, error_code(other)) == (422, "idempotency_key_reused")
    assert error_code(cancel) == "idempotency_key_reused"
    assert Appointment.objects.get().slot.starts_at.hour == 9  # type: ignore[union-attr]


def test_it_replays_a_refusal_too(client: Client, token: str, session: Session) -> None:
    body = {**_booking(client, token, session), "slot": "07:00"}

    first = call(client, "post", "appointments", body, token=token, key="k")
    again = call(client, "post", "appointments", body, token=token, key="k")

    assert first.status_code == again.status_code == 400
    assert first.json() == again.json()
    assert error_code(again) == "slot_unknown"


def test_it_keeps_keys_apart_per_account(client: Client, token: str, session: Session) -> None:
    other = sign_in(client, OTHER_PHONE, address="10.0.0.9")
    mine = call(client, "post", "beneficiaries", person(1), token=token, key="same")
    theirs = call(client, "post", "beneficiaries", person(2), token=other, key="same")

    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["reference"] != theirs.json()["reference"]


def test_it_refuses_a_malformed_key(client: Client, token: str) -> None:
    response = call(client, "post", "beneficiaries", person(1), token=token, key="x" * 101)

    assert (response.status_code, error_code(response)) == (422, "idempotency_key_invalid")


def test_it_replays_a_code_request_without_a_second_sms(client: Client) -> None:
    body = {"phone": "+919812345678", "language": "en"}

    first = call(client, "post", "auth/otp", body, key="otp-1")
    again = call(client, "post", "auth/otp", body, key="otp-1")

    assert first.json() == again.json()
    assert Message.objects.filter(template="otp").count() == 1


def test_it_replays_a_sign_in_with_the_same_token_but_never_stores_it(client: Client) -> None:
    otp = call(client, "post", "auth/otp", {"phone": "+919812345678", "language": "en"})
    body = {"txn": otp.json()["txn"], "code": last_code()}

    first = call(client, "post", "auth/token", body, key="tok-1")
    again = call(client, "post", "auth/token", body, key="tok-1")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    token = first.json()["token"]
    assert call(client, "get", "beneficiaries", token=token).status_code == 200
    assert token not in IdempotentRequest.objects.get(key="tok-1").body


@pytest.mark.django_db(transaction=True)
def test_it_books_once_when_two_identical_requests_race(hill_phc: Facility) -> None:
    client = Client()
    # Committed messages are sent and masked at once: sign in through the token service.
    account = Account.objects.create(
        country=Country.objects.get(code="TEST"), phone="+919812345678", language="en"
    )
    token = token_text(api_token_issue(account=account).public_id)
    session = plan(hill_phc)
    body = _booking(client, token, session)
    start = threading.Barrier(2)
    answers: list[tuple[int, Any]] = []

    def retry() -> None:
        try:
            start.wait()
            response = call(Client(), "post", "appointments", body, token=token, key="race")
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert [status for status, _body in answers] == [201, 201]
    assert answers[0][1] == answers[1][1]
    assert Appointment.objects.filter(status="booked").count() == 1
    assert Message.objects.filter(template="booking_confirmed").count() == 1
