"""The corrections API: entered in error, correction, a person's history, merges."""

import json

import pytest

from vaxnet.booking.models import Appointment
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.stock.models import Batch
from vaxnet.vaccination.models import Vaccination

from ..stock.ledger_helpers import signed_in
from .day import check_in, record
from .test_corrections import person

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


@pytest.fixture
def given(booked: Appointment, verifier: User, vaccinator: User, batch: Batch) -> Vaccination:
    check_in(booked, verifier, 1)
    return record(booked, vaccinator, batch)


def _post(client: object, url: str, body: dict, key: str = "") -> object:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(url, json.dumps(body), content_type="application/json", **headers)  # type: ignore[attr-defined]


def test_it_marks_in_error_once_per_key_and_refuses_a_second_mark(
    given: Vaccination, manager: User, vaccinator: User
) -> None:
    url = f"/api/v1/vaccinations/{given.public_id}/entered-in-error"
    assert _post(signed_in(vaccinator), url, {"reason": "x"}).status_code == 404  # type: ignore[attr-defined]
    client = signed_in(manager)
    first = _post(client, url, {"reason": "twice"}, key="k1")
    assert first.status_code == 200 and first.json()["status"] == "entered_in_error"  # type: ignore[attr-defined]
    replay = _post(client, url, {"reason": "twice"}, key="k1")
    assert replay.json() == first.json()  # type: ignore[attr-defined]
    again = _post(client, url, {"reason": "twice"}, key="k2")
    assert again.status_code == 409  # type: ignore[attr-defined]
    assert again.json()["error"]["code"] == "already_in_error"  # type: ignore[attr-defined]


def test_csrf_is_needed_for_a_correction(given: Vaccination, manager: User) -> None:
    url = f"/api/v1/vaccinations/{given.public_id}/correction"
    answer = _post(signed_in(manager, csrf=True), url, {"reason": "x", "site": "right_arm"})
    assert answer.status_code == 403  # type: ignore[attr-defined]


def test_it_corrects_and_shows_the_history(given: Vaccination, manager: User) -> None:
    client = signed_in(manager)
    url = f"/api/v1/vaccinations/{given.public_id}/correction"
    answer = _post(client, url, {"reason": "arm", "site": "right_arm"})
    assert answer.status_code == 201  # type: ignore[attr-defined]
    body = answer.json()  # type: ignore[attr-defined]
    assert (body["replaces"], body["site"], body["dose_number"]) == (
        given.public_id,
        "right_arm",
        1,
    )
    history = client.get(f"/api/v1/beneficiaries/{given.beneficiary.reference}/history").json()
    assert [r["status"] for r in history["records"]] == ["entered_in_error", "valid"]


def test_merges_and_undo_through_the_api(
    asha: Beneficiary,
    booked: Appointment,
    country: object,
    district_admin: User,
    manager: User,
    verifier: User,
    vaccinator: User,
    batch: Batch,
    today_session: object,
) -> None:
    from .test_corrections import vaccinated

    twin = person(country, 2)
    vaccinated(twin, 2, today_session, verifier, vaccinator, batch)  # type: ignore[arg-type]
    body = {"kept": asha.reference, "merged": twin.reference, "reason": "same"}
    assert _post(signed_in(manager), "/api/v1/merges", body).status_code == 404  # type: ignore[attr-defined]
    client = signed_in(district_admin)
    made = _post(client, "/api/v1/merges", body)
    assert made.status_code == 201  # type: ignore[attr-defined]
    merge_id = made.json()["id"]  # type: ignore[attr-defined]
    assert _post(client, "/api/v1/merges", body).json()["error"]["code"] == "already_merged"  # type: ignore[attr-defined]
    undone = _post(client, f"/api/v1/merges/{merge_id}/undo", {"reason": "no"})
    assert undone.status_code == 200 and undone.json()["undone_at"]  # type: ignore[attr-defined]
