"""CoWIN booking: beneficiaries, schedule, reschedule, cancel and the slip, through our services."""

from datetime import time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.cowin_client import OTHER_PHONE, PHONE, call, refusal, sign_in
from tests.api.factories import NOW, TOMORROW, cowin, member, plan
from vaxnet.api import cowin_v2_auth
from vaxnet.booking.models import Appointment, Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary

pytestmark = pytest.mark.django_db

MORNING = "09:00AM-11:00AM"
LATE_MORNING = "11:00AM-01:00PM"


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


@pytest.fixture
def session(hill_phc: Facility) -> Session:
    return plan(hill_phc)


@pytest.fixture
def first(country: Country, token: str) -> Beneficiary:
    return member(country, 1, phone=PHONE)


@pytest.fixture
def second(country: Country, token: str) -> Beneficiary:
    return member(country, 2, phone=PHONE)


def _schedule(
    client: Client, token: str, session: Session, *people: Beneficiary, key: str = "", **extra: Any
) -> Any:
    body = {
        "dose": 1,
        "session_id": session.public_id,
        "slot": MORNING,
        "beneficiaries": [person.reference for person in people],
        **extra,
    }
    return call(client, "post", "appointment/schedule", body, token=token, key=key)


def _listed(client: Client, token: str) -> list[dict[str, Any]]:
    response = call(client, "get", "appointment/beneficiaries", token=token)
    assert response.status_code == 200, response.content
    listed: list[dict[str, Any]] = response.json()["beneficiaries"]
    return listed


def test_it_lists_the_accounts_people_in_cowins_shape(
    client: Client, token: str, first: Beneficiary
) -> None:
    (listed,) = _listed(client, token)

    assert listed == {
        "beneficiary_reference_id": first.reference,
        "name": "Member 1",
        "birth_year": "1980",
        "gender": "Female",
        "mobile_number": "5678",
        "photo_id_type": listed["photo_id_type"],
        "photo_id_number": first.masked_id(),
        "comorbidity_ind": "N",
        "vaccination_status": "Not Vaccinated",
        "vaccine": "",
        "dose1_date": "",
        "dose2_date": "",
        "appointments": [],
    }
    assert listed["photo_id_type"]
    assert first.id_last4 in listed["photo_id_number"]
    assert len(listed["photo_id_number"].replace(" ", "").strip("X")) == 4


def test_it_books_several_people_together_with_one_confirmation(
    client: Client, token: str, session: Session, first: Beneficiary, second: Beneficiary
) -> None:
    response = _schedule(
        client, token, session, first, second, center_id=session.facility_id, captcha="x1y2"
    )

    assert response.status_code == 200, response.content
    (confirmation,) = response.json().values()
    booked = Appointment.objects.filter(session=session, status=Appointment.Status.BOOKED)
    assert booked.count() == 2
    assert confirmation in {a.public_id for a in booked}
    listed = _listed(client, token)
    appointment = listed[0]["appointments"][0]
    assert {
        key: appointment[key] for key in ("center_id", "session_id", "date", "slot", "dose")
    } == {
        "center_id": session.facility_id,
        "session_id": session.public_id,
        "date": cowin(TOMORROW),
        "slot": MORNING,
        "dose": 1,
    }
    # The centre's hours, or the slot's when the centre has none on record.
    hours = (session.facility.opens_at or time(9), session.facility.closes_at or time(11))
    assert (appointment["from"], appointment["to"]) == tuple(f"{t:%H:%M:%S}" for t in hours)
    assert appointment["state_name"] and appointment["district_name"]
    assert [len(person["appointments"]) for person in listed] == [1, 1]


def test_it_takes_the_slot_label_as_the_public_reads_render_it(
    client: Client, token: str, session: Session, first: Beneficiary
) -> None:
    found = call(
        client,
        "get",
        "appointment/sessions/public/findByPin",
        {"pincode": "110001", "date": cowin(TOMORROW)},
    ).json()["sessions"]
    label = next(s for s in found if s["session_id"] == session.public_id)["slots"][1]

    response = _schedule(client, token, session, first, slot=label.lower())

    assert label == LATE_MORNING
    assert response.status_code == 200, response.content
    slot = Appointment.objects.get(beneficiary=first).slot
    assert slot is not None and slot.starts_at == time(11)


def test_it_refuses_with_stable_codes(
    client: Client, token: str, session: Session, first: Beneficiary, hill_phc: Facility
) -> None:
    country = first.country
    child = Beneficiary.objects.get(pk=member(country, 3, phone=PHONE).pk)
    Beneficiary.objects.filter(pk=child.pk).update(birth_year=2020)
    unreleased = plan(hill_phc, release_at=NOW + timedelta(hours=5))
    drawing = plan(hill_phc, release_at=NOW - timedelta(minutes=5))

    cases = {
        "APPOIN0102": _schedule(client, token, session, first, slot="10:00AM-12:00PM"),
        "APPOIN0101": _schedule(client, token, session, first, session_id="NOSUCHSESSION"),
        "APPOIN0101 centre": _schedule(client, token, session, first, center_id=987654),
        "APPOIN0103": _schedule(client, token, session, first, dose=2),
        "APPOIN0104": _schedule(client, token, unreleased, first),
        "APPOIN0105": _schedule(client, token, drawing, first),
        "APPOIN0120": _schedule(client, token, session, child),
        "APPOIN0113": _schedule(client, token, session),
    }
    assert not Appointment.objects.exists()  # the dose mismatch was undone
    _schedule(client, token, session, first)
    cases["APPOIN0022"] = _schedule(client, token, session, first, slot=LATE_MORNING)

    for name, response in cases.items():
        assert refusal(response) == (400, name.split()[0]), name


def test_it_answers_a_full_slot_with_409_as_cowin_did(
    client: Client, token: str, hill_phc: Facility, first: Beneficiary, second: Beneficiary
) -> None:
    small = plan(hill_phc, capacity={1: (1, 0)}, slots=[SlotSpec(time(9), time(11), 1)])
    _schedule(client, token, small, first)

    response = _schedule(client, token, small, second)

    assert refusal(response) == (409, "APPOIN0040")


def test_it_books_once_for_a_retried_request(
    client: Client, token: str, session: Session, first: Beneficiary
) -> None:
    once = _schedule(client, token, session, first, key="book-1")
    again = _schedule(client, token, session, first, key="book-1")
    other_body = _schedule(client, token, session, first, key="book-1", slot=LATE_MORNING)

    assert once.status_code == again.status_code == 200
    assert once.json() == again.json()
    assert Appointment.objects.filter(beneficiary=first).count() == 1
    assert refusal(other_body) == (422, "USRRES0104")


def test_it_moves_and_cancels_appointments(
    client: Client, token: str, session: Session, first: Beneficiary, second: Beneficiary
) -> None:
    _schedule(client, token, session, first, second)
    mine = Appointment.objects.get(beneficiary=first)
    theirs = Appointment.objects.get(beneficiary=second)

    moved = call(
        client,
        "post",
        "appointment/reschedule",
        {"appointment_id": mine.public_id, "session_id": session.public_id, "slot": LATE_MORNING},
        token=token,
    )
    new = Appointment.objects.get(beneficiary=first, status=Appointment.Status.BOOKED)
    cancelled = call(
        client,
        "post",
        "appointment/cancel",
        {
            "appointment_id": theirs.public_id,
            "beneficiariesToCancel": [first.reference, second.reference],
        },
        token=token,
    )
    twice = call(
        client, "post", "appointment/cancel", {"appointment_id": theirs.public_id}, token=token
    )

    assert moved.status_code == 204 and moved.content == b""
    assert new.slot is not None and new.slot.starts_at == time(11)
    assert cancelled.status_code == 204
    assert not Appointment.objects.filter(status=Appointment.Status.BOOKED).exists()
    assert [person["appointments"] for person in _listed(client, token)] == [[], []]
    assert refusal(twice) == (400, "APPOIN0110")


def test_it_downloads_the_slip(
    client: Client, token: str, session: Session, first: Beneficiary
) -> None:
    confirmation = _schedule(client, token, session, first).json()["appointment_confirmation_no"]

    response = call(
        client,
        "get",
        "appointment/appointmentslip/download",
        {"appointment_id": confirmation},
        token=token,
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert confirmation in response["Content-Disposition"]


def test_it_answers_for_anothers_people_exactly_as_for_missing_ones(
    client: Client, token: str, session: Session, first: Beneficiary, country: Country
) -> None:
    _schedule(client, token, session, first)
    mine = Appointment.objects.get(beneficiary=first)
    stranger = sign_in(client, OTHER_PHONE)
    theirs = member(country, 9, phone=OTHER_PHONE)

    def attempts(appointment_id: str, reference: str) -> list[Any]:
        return [
            _schedule(client, token, session, Beneficiary(reference=reference)),
            call(
                client,
                "post",
                "appointment/cancel",
                {"appointment_id": appointment_id},
                token=stranger,
            ),
            call(
                client,
                "post",
                "appointment/reschedule",
                {
                    "appointment_id": appointment_id,
                    "session_id": session.public_id,
                    "slot": MORNING,
                },
                token=stranger,
            ),
            call(
                client,
                "get",
                "appointment/appointmentslip/download",
                {"appointment_id": appointment_id},
                token=stranger,
            ),
        ]

    others = attempts(mine.public_id, theirs.reference)
    missing = attempts("NOSUCHAPPT", "12345678901234")

    assert [(r.status_code, r.content) for r in others] == [
        (r.status_code, r.content) for r in missing
    ]
    assert {refusal(r) for r in others} == {(404, "USRRES0101")}
    assert Appointment.objects.get(pk=mine.pk).status == Appointment.Status.BOOKED


def test_it_maps_every_documented_code_once() -> None:
    codes = cowin_v2_auth.COWIN_CODES

    shared = {"APPOIN0040"}  # a full dose and a full slot are one thing to a CoWIN client
    values = [code for code in codes.values() if code not in shared]
    assert len(values) == len(set(values))
    assert all(
        len(code) == 10 and code[:6].isupper() and code[6:].isdigit() for code in codes.values()
    )


def test_it_lists_people_with_the_same_few_queries_however_many(
    client: Client, token: str, session: Session, first: Beneficiary, country: Country
) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert call(client, "get", "appointment/beneficiaries", token=token).status_code == 200
        return len(captured)

    _schedule(client, token, session, first)
    one = queries()
    others = [member(country, seed, phone=PHONE) for seed in (2, 3, 4)]
    _schedule(client, token, session, *others)

    assert queries() == one
