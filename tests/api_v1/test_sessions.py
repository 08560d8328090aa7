"""Finding sessions (public): by district or postal code, refusals, and rate limits."""

from datetime import time
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.api.factories import RELEASED, TODAY, TOMORROW, add_centre, plan
from vaxnet.api import v1_sessions
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.models import Vaccine

from .helpers import call, error_code, sign_in

pytestmark = pytest.mark.django_db


def _find(client: Client, **params: str) -> Any:
    return call(client, "get", "sessions", params)


def test_it_finds_sessions_by_postal_code_with_fees_and_names_in_the_language(
    client: Client, hill_phc: Facility, river_clinic: Facility
) -> None:
    plan(hill_phc)
    session_create(
        by=None,
        facility=add_centre("TS-P1", kind=Facility.Kind.PRIVATE),
        on=TOMORROW,
        vaccine=Vaccine.objects.get(code="COVISHIELD"),
        capacity={1: (4, 0)},
        slots=[SlotSpec(time(9), time(11), 4)],
        release_at=RELEASED,
        fee=Decimal("780"),
    )

    everything = call(client, "get", "sessions", {"postal_code": "110001"}, language="hi")
    free = _find(client, postal_code="110001", fee="free")
    paid_only = _find(client, postal_code="110001", fee="paid")

    assert everything.status_code == 200
    names = {c["code"]: c["name"] for c in everything.json()["centres"]}
    assert names["TS-F1"] == "हिल टाउन प्राथमिक स्वास्थ्य केंद्र"
    assert [c["code"] for c in free.json()["centres"]] == ["TS-F1"]
    assert [c["code"] for c in paid_only.json()["centres"]] == ["TS-P1"]


def test_it_lists_the_days_asked_for(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc, on=TOMORROW)

    today_only = _find(client, district="TS-N-HIL", date=TODAY.isoformat(), days="1")
    week = _find(client, district="TS-N-HIL", date=TODAY.isoformat())

    assert today_only.json() == {
        "date_from": TODAY.isoformat(),
        "date_to": TODAY.isoformat(),
        "centres": [],
    }
    assert len(week.json()["centres"]) == 1


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "place_required"),
        ({"district": "TS-N-HIL", "postal_code": "110001"}, "place_required"),
        ({"district": "NOWHERE"}, "district_unknown"),
        ({"district": "TS-N"}, "district_unknown"),
        ({"postal_code": "ABC"}, "postal_code_invalid"),
        ({"district": "TS-N-HIL", "date": "2026-03-01"}, "date_past"),
    ],
)
def test_it_refuses_a_place_or_day_it_cannot_search(
    client: Client, params: dict[str, str], code: str
) -> None:
    response = _find(client, **params)

    assert response.status_code == 400
    assert error_code(response) == code


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"district": "TS-N-HIL", "date": "02-03-2026"}, "date_invalid"),
        ({"district": "TS-N-HIL", "date": "2026-02-30"}, "date_invalid"),
        ({"district": "TS-N-HIL", "days": "8"}, "days_invalid"),
        ({"district": "TS-N-HIL", "fee": "cheap"}, "fee_invalid"),
        ({"district": "TS-N-HIL", "vaccine": "<script>"}, "vaccine_invalid"),
    ],
)
def test_it_refuses_a_value_it_cannot_read_as_bad_input(
    client: Client, params: dict[str, str], code: str
) -> None:
    response = _find(client, **params)

    assert response.status_code == 422
    assert error_code(response) == code


def test_it_limits_anonymous_callers_per_address_with_retry_after(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v1_sessions, "SESSIONS_PER_CLIENT", (2, 300))
    for _ in range(2):
        assert _find(client, district="TS-N-HIL").status_code == 200

    refused = _find(client, district="TS-N-HIL")

    assert refused.status_code == 429
    assert error_code(refused) == "rate_limited"
    assert refused["Retry-After"] == "300"


def test_it_counts_signed_in_callers_per_account_not_per_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v1_sessions, "SESSIONS_PER_CLIENT", (1, 300))
    monkeypatch.setattr(v1_sessions, "SESSIONS_PER_ACCOUNT", (2, 300))
    token = sign_in(client)
    _find(client, district="TS-N-HIL")
    assert _find(client, district="TS-N-HIL").status_code == 429

    # A member of the same household, behind the same address, signed in: not locked out.
    answers = [
        call(client, "get", "sessions", {"district": "TS-N-HIL"}, token=token).status_code
        for _ in range(3)
    ]

    assert answers == [200, 200, 429]
