"""The v1 AEFI API: staff reports, the admins' list, an event, follow-up; citizens' reports."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from vaxnet.api.v1_auth import api_token_issue, token_text
from vaxnet.booking.models import Appointment
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility, Role, StaffMembership
from vaxnet.people.models import Account, Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.models import Aefi, Vaccination

from ..api_v1.helpers import call, error_code
from ..booking.test_appointments import make_account, make_member
from ..stock.ledger_helpers import NOW, signed_in
from .day import check_in, record

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def dose(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    check_in(booked, verifier, 1)
    dose = record(booked, vaccinator, batch)
    return dose


@pytest.fixture(autouse=True)
def _later(clock: None, dose: Vaccination) -> Any:
    """Two hours after the dose was recorded."""
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        yield


def body(dose: Vaccination, **changes: Any) -> dict[str, Any]:
    return {
        "vaccination": dose.public_id,
        "onset_at": (NOW + timedelta(hours=1)).isoformat(),
        "symptoms": ["seizure"],
        "severity": "serious",
        "criteria": ["hospitalisation"],
        "outcome": "recovering",
        "description": "Febrile seizure, admitted.",
    } | changes


def test_staff_report_alerts_and_the_admin_follows_up(
    dose: Vaccination,
    vaccinator: User,
    district_admin: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    district_admin.email = "hill@example.org"
    district_admin.save()
    with django_capture_on_commit_callbacks(execute=True):
        made = call(signed_in(vaccinator), "post", "aefi", body(dose), key="k-1")
    assert made.status_code == 201, made.json()
    event = made.json()
    assert (event["severity"], event["status"], event["vaccine"]) == (
        "serious",
        "open",
        "COVISHIELD",
    )
    assert mail.outbox[0].to == ["hill@example.org"]

    admin = signed_in(district_admin)
    listed = call(admin, "get", "aefi", {"status": "open", "severity": "serious"})
    assert listed.status_code == 200
    assert listed.json()["open"] == {"minor": 0, "severe": 0, "serious": 1}
    assert [e["id"] for e in listed.json()["events"]] == [event["id"]]
    assert call(admin, "get", f"aefi/{event['id']}").json()["id"] == event["id"]

    closing = call(admin, "post", f"aefi/{event['id']}/close", {})
    assert (closing.status_code, error_code(closing)) == (400, "follow_up_required")
    followed = call(
        admin,
        "post",
        f"aefi/{event['id']}/follow-up",
        {"note": "Discharged, well.", "outcome": "recovered", "close": True},
    )
    assert followed.status_code == 200, followed.json()
    assert (followed.json()["status"], followed.json()["outcome"]) == ("closed", "recovered")


def test_staff_report_is_idempotent_and_refusals_are_coded(
    dose: Vaccination, vaccinator: User
) -> None:
    client = signed_in(vaccinator)
    first = call(client, "post", "aefi", body(dose), key="same")
    again = call(client, "post", "aefi", body(dose), key="same")
    assert first.json() == again.json()
    assert Aefi.objects.count() == 1

    future = (NOW + timedelta(hours=3)).isoformat()
    refused = call(client, "post", "aefi", body(dose, onset_at=future))
    assert (refused.status_code, error_code(refused)) == (400, "onset_future")
    refused = call(client, "post", "aefi", body(dose, criteria=[]))
    assert (refused.status_code, error_code(refused)) == (400, "criteria_required")
    bad = call(client, "post", "aefi", body(dose, symptoms="fever"))
    assert (bad.status_code, error_code(bad)) == (422, "invalid_input")
    assert Aefi.objects.count() == 1


def test_staff_report_through_a_person_in_scope(dose: Vaccination, verifier: User) -> None:
    client = signed_in(verifier)
    made = call(
        client,
        "post",
        "aefi",
        body(dose, beneficiary=dose.beneficiary.reference, severity="minor", criteria=[]),
    )
    assert made.status_code == 201, made.json()


def test_scope_answers_404_alike(
    dose: Vaccination, vaccinator: User, outsider: User, river_clinic: Facility
) -> None:
    made = call(signed_in(vaccinator), "post", "aefi", body(dose)).json()
    refused = call(signed_in(outsider), "post", "aefi", body(dose))
    assert (refused.status_code, error_code(refused)) == (404, "not_found")

    river = User.objects.create_user("river_admin")
    StaffMembership.objects.create(user=river, role=Role.DISTRICT_ADMIN, region=river_clinic.region)
    client = signed_in(river)
    assert call(client, "get", f"aefi/{made['id']}").status_code == 404
    follow = call(
        client, "post", f"aefi/{made['id']}/follow-up", {"note": "x", "outcome": "recovered"}
    )
    assert follow.status_code == 404
    assert call(client, "get", "aefi").json()["events"] == []
    # The vaccinator reports; only administrators follow up.
    own = call(
        signed_in(vaccinator),
        "post",
        f"aefi/{made['id']}/follow-up",
        {"note": "x", "outcome": "recovered"},
    )
    assert own.status_code == 404


def test_list_filters_are_checked(district_admin: User) -> None:
    client = signed_in(district_admin)
    wrong = call(client, "get", "aefi", {"status": "pending"})
    assert (wrong.status_code, error_code(wrong)) == (422, "status_unknown")
    wrong = call(client, "get", "aefi", {"severity": "mild"})
    assert (wrong.status_code, error_code(wrong)) == (422, "severity_unknown")
    assert call(client, "get", "aefi").status_code == 200


def test_staff_api_needs_a_session(dose: Vaccination) -> None:
    from django.test import Client

    refused = call(Client(), "post", "aefi", body(dose))
    assert (refused.status_code, error_code(refused)) == (401, "unauthorized")


def test_citizen_reports_for_a_member_with_a_bearer_token(
    dose: Vaccination, citizen: Account, asha: Beneficiary, country: Any
) -> None:
    from django.test import Client

    token = token_text(api_token_issue(account=citizen).public_id)
    path = f"beneficiaries/{asha.reference}/aefi"
    payload = body(dose, severity="minor", criteria=[], reporter_name="Asha")
    made = call(Client(), "post", path, payload, token=token, key="c-1")
    assert made.status_code == 201, made.json()
    assert made.json()["reporter"] == "citizen"

    nameless = call(Client(), "post", path, body(dose, reporter_name=" "), token=token)
    assert (nameless.status_code, error_code(nameless)) == (400, "reporter_required")
    sister = make_member(citizen, 2, name="Sita")
    wrong = call(Client(), "post", f"beneficiaries/{sister.reference}/aefi", payload, token=token)
    assert (wrong.status_code, error_code(wrong)) == (400, "vaccination_unknown")
    stranger = token_text(api_token_issue(account=make_account(country, "+919812322222")).public_id)
    hidden = call(Client(), "post", path, payload, token=stranger)
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert call(Client(), "post", path, payload).status_code == 401
    assert Aefi.objects.count() == 1
