"""A citizen's whole journey through the API: sign in, add a member, find, book, move, cancel."""

import pytest
from django.test import Client

from tests.api.factories import TOMORROW, plan
from vaxnet.booking.models import Appointment
from vaxnet.facilities.models import Facility
from vaxnet.notifications.models import Message

from .helpers import call, last_code, person

pytestmark = pytest.mark.django_db


def test_it_signs_in_adds_a_member_finds_books_moves_and_cancels(
    client: Client, hill_phc: Facility
) -> None:
    session = plan(hill_phc)
    later = plan(hill_phc, on=TOMORROW.replace(day=TOMORROW.day + 1))

    otp = call(client, "post", "auth/otp", {"phone": "98123 45678", "language": "hi"})
    assert otp.status_code == 200
    assert otp.json()["expires_in"] == 180
    signed_in = call(client, "post", "auth/token", {"txn": otp.json()["txn"], "code": last_code()})
    assert signed_in.status_code == 200
    assert signed_in.json()["expires_in"] == 1800
    token = signed_in.json()["token"]

    added = call(client, "post", "beneficiaries", person(1), token=token)
    assert added.status_code == 201
    member = added.json()
    assert member["id_number"].endswith(person(1)["id_number"][-4:])
    assert person(1)["id_number"] not in added.content.decode()
    listed = call(client, "get", "beneficiaries", token=token).json()["beneficiaries"]
    assert [m["reference"] for m in listed] == [member["reference"]]

    found = call(client, "get", "sessions", {"district": "TS-N-HIL", "days": "3"})
    assert found.status_code == 200
    (centre,) = found.json()["centres"]
    assert centre["code"] == "TS-F1"
    offered = {s["id"]: s for s in centre["sessions"]}
    assert offered[session.public_id]["slots"][0] == {"start": "09:00", "end": "11:00", "seats": 4}

    booked = call(
        client,
        "post",
        "appointments",
        {"session": session.public_id, "slot": "09:00", "beneficiaries": [member["reference"]]},
        token=token,
    )
    assert booked.status_code == 201, booked.json()
    (appointment,) = booked.json()["appointments"]
    assert appointment["status"] == "booked" and appointment["dose"] == 1
    assert len(appointment["security_code"]) == 4
    assert Message.objects.filter(template="booking_confirmed").count() == 1

    mine = call(client, "get", "appointments", token=token).json()["appointments"]
    assert [a["id"] for a in mine] == [appointment["id"]]

    moved = call(
        client,
        "post",
        f"appointments/{appointment['id']}/reschedule",
        {"session": later.public_id, "slot": "11:00"},
        token=token,
    )
    assert moved.status_code == 200, moved.json()
    assert moved.json()["session"] == later.public_id
    assert moved.json()["slot_start"] == "11:00"

    cancelled = call(client, "post", f"appointments/{moved.json()['id']}/cancel", token=token)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert not Appointment.objects.filter(status="booked").exists()

    assert call(client, "post", "auth/sign-out", token=token).status_code == 204
    assert call(client, "get", "appointments", token=token).status_code == 401
