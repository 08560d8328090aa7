"""The facility day through the v1 API: today's sessions, finding people, check-in, doses."""

from typing import Any

import pytest
from django.test import Client

from tests.api_v1.helpers import call, error_code
from tests.stock.ledger_helpers import signed_in
from vaxnet.booking.models import Appointment, Session
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch, SessionStock
from vaxnet.vaccination.models import Vaccination

from .day import aadhaar

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _check_in(client: Client, appointment: Appointment, seed: int = 1, key: str = "k1") -> Any:
    return call(
        client,
        "post",
        f"appointments/{appointment.public_id}/check-in",
        {"id_number": aadhaar(seed), "security_code": appointment.security_code},
        key=key,
    )


def test_it_runs_the_day_from_search_to_dose(
    booked: Appointment, verifier: User, vaccinator: User, batch: Batch, hill_phc: Facility
) -> None:
    desk, bench = signed_in(verifier), signed_in(vaccinator)
    session = booked.session
    today = call(desk, "get", f"facilities/{hill_phc.public_id}/sessions/today").json()
    by_name = call(desk, "get", f"sessions/{session.public_id}/appointments?q=ash").json()
    by_phone = call(desk, "get", f"sessions/{session.public_id}/appointments?q=5678").json()
    checked = _check_in(desk, booked)
    queue = call(bench, "get", f"sessions/{session.public_id}/queue").json()
    given = call(
        bench,
        "post",
        f"appointments/{booked.public_id}/vaccination",
        {"batch": batch.public_id, "site": "left_arm"},
        key="dose-1",
    )
    again = call(
        bench,
        "post",
        f"appointments/{booked.public_id}/vaccination",
        {"batch": batch.public_id, "site": "left_arm"},
        key="dose-1",
    )

    (day,) = today["sessions"]
    assert (day["booked"], day["checked_in"], day["vaccinated"]) == (1, 0, 0)
    assert day["batches"][0]["doses_left"] == 20
    assert day["suggested_batch"] == batch.public_id
    (found,) = by_name["appointments"]
    assert found["id_number"].startswith("XXXX") and aadhaar(1) not in str(by_name)
    assert "+91" not in str(by_name)
    assert by_phone["appointments"][0]["id"] == booked.public_id
    assert checked.status_code == 200, checked.json()
    assert [(q["id"], q["dose"]) for q in queue["queue"]] == [(booked.public_id, 1)]
    assert given.status_code == 201, given.json()
    assert again.json() == given.json()
    assert given.json()["dose"] == 1
    assert Vaccination.objects.count() == 1
    assert SessionStock.objects.get(session=session, batch=batch).doses_given == 1


def test_it_registers_walk_ins_and_records_doses_not_given(
    today_session: Session, verifier: User, vaccinator: User
) -> None:
    desk = signed_in(verifier)
    walked = call(
        desk,
        "post",
        f"sessions/{today_session.public_id}/walk-ins",
        {
            "name": "Ravi",
            "sex": "male",
            "birth_year": 1970,
            "id_type": "aadhaar",
            "id_number": aadhaar(7),
        },
        key="w1",
    )
    assert walked.status_code == 201, walked.json()
    appointment = walked.json()["id"]
    refused = call(
        signed_in(vaccinator),
        "post",
        f"appointments/{appointment}/not-given",
        {"kind": "refused", "reason": "personal"},
        key="n1",
    )

    assert refused.status_code == 201, refused.json()
    assert Appointment.objects.get(public_id=appointment).status == "not_given"
    assert Beneficiary.objects.get(name="Ravi").account is None


def test_it_answers_refusals_and_hides_what_is_out_of_scope(
    booked: Appointment, verifier: User, outsider: User, batch: Batch, hill_phc: Facility
) -> None:
    desk = signed_in(verifier)
    wrong_id = _check_in(desk, booked, seed=2)
    not_yet = call(
        signed_in(verifier),
        "post",
        f"appointments/{booked.public_id}/vaccination",
        {"batch": batch.public_id, "site": "left_arm"},
        key="v1",
    )
    out = signed_in(outsider)
    hidden = [
        call(out, "get", f"facilities/{hill_phc.public_id}/sessions/today"),
        call(out, "get", f"sessions/{booked.session.public_id}/queue"),
        _check_in(out, booked, key="o1"),
    ]

    assert (wrong_id.status_code, error_code(wrong_id)) == (400, "id_mismatch")
    assert not_yet.status_code == 404  # a verifier does not record doses
    assert [r.status_code for r in hidden] == [404, 404, 404]


def test_writes_need_a_staff_session_and_the_csrf_token(
    booked: Appointment, vaccinator: User, batch: Batch
) -> None:
    anonymous = _check_in(Client(), booked)
    no_csrf = call(
        signed_in(vaccinator, csrf=True),
        "post",
        f"appointments/{booked.public_id}/vaccination",
        {"batch": batch.public_id, "site": "left_arm"},
    )

    assert anonymous.status_code == 401
    assert (no_csrf.status_code, error_code(no_csrf)) == (403, "csrf_failed")
