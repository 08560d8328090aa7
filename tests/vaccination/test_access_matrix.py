"""Every staff endpoint of the facility day, every role, in and out of scope.

Two facilities run the same day: Hill Town PHC (A, North State's Hill District) and Sea Port
Hospital (B, South State). Each endpoint is called by every persona on A's objects and on B's.
A persona whose role the endpoint does not serve, or who works outside the object's scope,
gets 404, the same as for a missing object; everyone else gets past the access check (an
answer other than 404: the page, the write, or a refusal of the request itself).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, Role
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination import roles
from vaxnet.vaccination.aefi import aefi_report_by_staff
from vaxnet.vaccination.models import Aefi, Vaccination

from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import facility_store, make_batch, stocked
from .day import NOW, aadhaar, book, check_in, issue, make_day_session, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

PERSONAS = [
    "verifier",
    "vaccinator",
    "manager",
    "store_keeper",
    "district_admin",
    "state_admin",
    "national_admin",
    "outsider",
]
# Where each persona works: a facility role at A or B, or an administrator over a region.
ROLE_OF = {
    "verifier": Role.VERIFIER,
    "vaccinator": Role.VACCINATOR,
    "manager": Role.FACILITY_MANAGER,
    "store_keeper": Role.STORE_KEEPER,
    "district_admin": Role.DISTRICT_ADMIN,
    "state_admin": Role.STATE_ADMIN,
    "national_admin": Role.NATIONAL_ADMIN,
    "outsider": Role.VACCINATOR,
}
# Who reaches B (Sea Port Hospital, South State): its own vaccinator and the national admin.
OVER_B = {"outsider", "national_admin"}
OVER_A = set(PERSONAS) - {"outsider"}
MANAGERS = (Role.FACILITY_MANAGER, *roles.ADMINS)


@dataclass
class Side:
    """One facility's day: its session, a booked and a checked-in appointment, a dose, an AEFI."""

    facility: Facility
    session: Session
    booked: Appointment
    booked_seed: int
    waiting: Appointment
    vaccination: Vaccination
    person: Beneficiary
    batch: Batch
    aefi: Aefi


def _side(facility: Facility, seed: int, staff: User) -> Side:
    store = facility_store(facility)
    batch = stocked(store, make_batch(f"LOT-{facility.code}"), 100)
    session = make_day_session(facility)
    issue(session, batch, 2)
    country = facility.country
    people = [
        make_member(make_account(country, f"+91981230{seed + n:04d}"), seed + n) for n in range(3)
    ]
    booked = book(people[0], session)
    waiting = book(people[1], session)
    given = book(people[2], session)
    check_in(waiting, staff, seed + 1)
    check_in(given, staff, seed + 2)
    vaccination = record(given, staff, batch)
    aefi = aefi_report_by_staff(
        by=staff,
        vaccination=vaccination,
        onset_at=NOW,
        symptoms=["fever"],
        severity="minor",
        outcome="recovering",
    )
    return Side(facility, session, booked, seed, waiting, vaccination, people[2], batch, aefi)


@pytest.fixture
def world(
    hill_phc: Facility,
    sea_hospital: Facility,
    verifier: User,
    vaccinator: User,
    manager: User,
    store_keeper: User,
    district_admin: User,
    state_admin: User,
    national_admin: User,
    outsider: User,
) -> dict[str, Any]:
    users = {name: User.objects.get(username=name) for name in PERSONAS}
    return {
        "A": _side(hill_phc, 100, vaccinator),
        "B": _side(sea_hospital, 200, outsider),
        "users": users,
    }


@dataclass(frozen=True)
class Endpoint:
    """A staff endpoint: how to call it on one side's objects, and the roles it serves."""

    name: str
    roles: tuple[str, ...]
    call: Callable[[Client, Side], Any]
    # The facility manager's and the admins' management pages serve them, not by role set.
    api: bool = False


def _get(url: Callable[[Side], str]) -> Callable[[Client, Side], Any]:
    return lambda client, side: client.get(url(side))


def _post(url: Callable[[Side], str], data: Callable[[Side], dict[str, Any]]) -> Any:
    return lambda client, side: client.post(url(side), data(side))


def _api(method: str, url: Callable[[Side], str], body: Callable[[Side], Any] | None = None) -> Any:
    def call(client: Client, side: Side) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        if method == "get":
            return client.get(url(side), headers=headers)
        return client.post(
            url(side), body(side) if body else {}, content_type="application/json", headers=headers
        )

    return call


def _check_in(side: Side) -> dict[str, Any]:
    return {"security_code": side.booked.security_code, "id_number": aadhaar(side.booked_seed)}


def _walk_in(side: Side) -> dict[str, Any]:
    return {
        "name": "Walk In",
        "sex": "male",
        "birth_year": 1970,
        "id_type": "aadhaar",
        "id_number": aadhaar(side.booked_seed + 50),
    }


ENDPOINTS = [
    # Pages
    Endpoint("desk", roles.CHECKERS, _get(lambda s: f"/staff/day/sessions/{s.session.public_id}/")),
    Endpoint(
        "check-in",
        roles.CHECKERS,
        _post(
            lambda s: f"/staff/day/sessions/{s.session.public_id}/check-in/{s.booked.public_id}/",
            _check_in,
        ),
    ),
    Endpoint(
        "walk-in",
        roles.CHECKERS,
        _post(lambda s: f"/staff/day/sessions/{s.session.public_id}/walk-in/", _walk_in),
    ),
    Endpoint(
        "queue",
        roles.RECORDERS,
        _get(lambda s: f"/staff/day/sessions/{s.session.public_id}/queue/"),
    ),
    Endpoint(
        "record",
        roles.RECORDERS,
        _post(
            lambda s: f"/staff/day/sessions/{s.session.public_id}/record/{s.waiting.public_id}/",
            lambda s: {"batch": s.batch.public_id, "site": "left_arm"},
        ),
    ),
    Endpoint(
        "not-given",
        roles.RECORDERS,
        _post(
            lambda s: f"/staff/day/sessions/{s.session.public_id}/not-given/{s.waiting.public_id}/",
            lambda s: {"kind": "deferred", "reason": "unwell"},
        ),
    ),
    Endpoint(
        "close", roles.CLOSERS, _get(lambda s: f"/staff/day/sessions/{s.session.public_id}/close/")
    ),
    Endpoint(
        "record detail",
        roles.CORRECTORS,
        _get(lambda s: f"/staff/records/vaccinations/{s.vaccination.public_id}/"),
    ),
    Endpoint(
        "staff list", MANAGERS, _get(lambda s: f"/staff/manage/facility/{s.facility.code}/staff/")
    ),
    Endpoint(
        "sessions", MANAGERS, _get(lambda s: f"/staff/manage/facility/{s.facility.code}/sessions/")
    ),
    Endpoint("today", MANAGERS, _get(lambda s: f"/staff/manage/facility/{s.facility.code}/today/")),
    Endpoint(
        "open AEFIs", MANAGERS, _get(lambda s: f"/staff/manage/facility/{s.facility.code}/aefi/")
    ),
    Endpoint("AEFI", roles.AEFI_REPORTERS, _get(lambda s: f"/aefi/{s.aefi.public_id}/")),
    # API
    Endpoint(
        "api today",
        roles.FACILITY_STAFF,
        _api("get", lambda s: f"/api/v1/facilities/{s.facility.public_id}/sessions/today"),
        api=True,
    ),
    Endpoint(
        "api find",
        roles.CHECKERS,
        _api("get", lambda s: f"/api/v1/sessions/{s.session.public_id}/appointments?q=Member"),
        api=True,
    ),
    Endpoint(
        "api check-in",
        roles.CHECKERS,
        _api("post", lambda s: f"/api/v1/appointments/{s.booked.public_id}/check-in", _check_in),
        api=True,
    ),
    Endpoint(
        "api walk-in",
        roles.CHECKERS,
        _api("post", lambda s: f"/api/v1/sessions/{s.session.public_id}/walk-ins", _walk_in),
        api=True,
    ),
    Endpoint(
        "api queue",
        roles.RECORDERS,
        _api("get", lambda s: f"/api/v1/sessions/{s.session.public_id}/queue"),
        api=True,
    ),
    Endpoint(
        "api record",
        roles.RECORDERS,
        _api(
            "post",
            lambda s: f"/api/v1/appointments/{s.waiting.public_id}/vaccination",
            lambda s: {"batch": s.batch.public_id, "site": "left_arm"},
        ),
        api=True,
    ),
    Endpoint(
        "api not given",
        roles.RECORDERS,
        _api(
            "post",
            lambda s: f"/api/v1/appointments/{s.waiting.public_id}/not-given",
            lambda s: {"kind": "deferred", "reason": "unwell"},
        ),
        api=True,
    ),
    Endpoint(
        "api close",
        roles.CLOSERS,
        _api("post", lambda s: f"/api/v1/sessions/{s.session.public_id}/close", lambda s: {}),
        api=True,
    ),
    Endpoint(
        "api summary",
        roles.CLOSERS,
        _api("get", lambda s: f"/api/v1/sessions/{s.session.public_id}/summary"),
        api=True,
    ),
    Endpoint(
        "api entered in error",
        roles.CORRECTORS,
        _api(
            "post",
            lambda s: f"/api/v1/vaccinations/{s.vaccination.public_id}/entered-in-error",
            lambda s: {"reason": "recorded twice"},
        ),
        api=True,
    ),
    Endpoint(
        "api correction",
        roles.CORRECTORS,
        _api(
            "post",
            lambda s: f"/api/v1/vaccinations/{s.vaccination.public_id}/correction",
            lambda s: {"reason": "other arm", "site": "right_arm"},
        ),
        api=True,
    ),
    Endpoint(
        "api history",
        roles.CORRECTORS,
        _api("get", lambda s: f"/api/v1/beneficiaries/{s.person.reference}/history"),
        api=True,
    ),
    Endpoint(
        "api AEFI",
        roles.AEFI_REPORTERS,
        _api("get", lambda s: f"/api/v1/aefi/{s.aefi.public_id}"),
        api=True,
    ),
    Endpoint(
        "api AEFI follow-up",
        roles.AEFI_FOLLOWERS,
        _api(
            "post",
            lambda s: f"/api/v1/aefi/{s.aefi.public_id}/follow-up",
            lambda s: {"note": "called the family", "outcome": "recovered"},
        ),
        api=True,
    ),
]


def _reaches(persona: str, side: str, endpoint: Endpoint) -> bool:
    """Return whether the persona holds one of the endpoint's roles over that side's facility."""
    over = OVER_A if side == "A" else OVER_B
    return persona in over and ROLE_OF[persona] in endpoint.roles


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda endpoint: endpoint.name)
@pytest.mark.parametrize("side", ["A", "B"])
def test_every_role_in_and_out_of_scope(
    world: dict[str, Any], endpoint: Endpoint, side: str
) -> None:
    answers = {}
    for persona in PERSONAS:
        client = Client()
        client.force_login(world["users"][persona])
        # Each persona acts in a savepoint undone after its call: all see the same day.
        sid = transaction.savepoint()
        status = endpoint.call(client, world[side]).status_code
        transaction.savepoint_rollback(sid)
        answers[persona] = status
    expected = {
        persona: ("reached" if _reaches(persona, side, endpoint) else 404) for persona in PERSONAS
    }
    seen = {persona: ("reached" if status != 404 else 404) for persona, status in answers.items()}
    assert seen == expected, answers


def test_a_vaccinator_at_one_facility_can_neither_read_nor_record_at_another(
    world: dict[str, Any], outsider: User
) -> None:
    """Sea Port's vaccinator, on Hill Town's session: every read and write answers 404."""
    client = Client()
    client.force_login(outsider)
    hill: Side = world["A"]
    for endpoint in ENDPOINTS:
        assert endpoint.call(client, hill).status_code == 404, endpoint.name
    # And through the offline sync, item by item: refused as unknown, nothing recorded.
    item = {
        "client_id": str(uuid.uuid4()),
        "device_time": NOW.isoformat(),
        "session": hill.session.public_id,
        "appointment": hill.waiting.public_id,
        "batch": hill.batch.public_id,
        "site": "left_arm",
        "outcome": "vaccinated",
    }
    answer = client.post(
        "/api/v1/sync/vaccinations", {"items": [item]}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    (result,) = answer.json()["results"]
    assert result["result"] == "conflict"
    assert not Vaccination.objects.filter(session=hill.session, appointment=hill.waiting).exists()
