"""Rate limits on every v2 call: per address, per account once signed in; 429 with Retry-After."""

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.cowin_client import OTHER_PHONE, PHONE, call, refusal, sign_in
from tests.api.factories import TOMORROW, cowin, member, plan
from vaxnet.api import cowin_v2_auth
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility

pytestmark = pytest.mark.django_db

STATES = "admin/location/states"
FIND_BY_DISTRICT = "appointment/sessions/public/findByDistrict"
NEIGHBOUR = "198.51.100.9"


def _limit(monkeypatch: pytest.MonkeyPatch, name: str, hits: int, seconds: int = 300) -> None:
    monkeypatch.setattr(cowin_v2_auth, name, (hits, seconds))


def _throttled(response: Any, window: int = 300) -> None:
    assert refusal(response) == (429, "USRRES0102")
    assert window - 60 <= int(response["Retry-After"]) <= window


def test_it_allows_100_public_reads_per_5_minutes_per_address(client: Client) -> None:
    params = {"district_id": "101", "date": cowin(TOMORROW)}
    answers = [call(client, "get", FIND_BY_DISTRICT, params) for _ in range(100)]

    over = call(client, "get", FIND_BY_DISTRICT, params)
    neighbour = call(client, "get", FIND_BY_DISTRICT, params, address=NEIGHBOUR)

    assert {response.status_code for response in answers} == {200}
    _throttled(over)
    assert neighbour.status_code == 200


def test_it_counts_a_public_read_with_one_cache_counter_and_no_query(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[str] = []
    real = cowin_v2_auth.check_rate

    def spy(key: str, limit: int, window: int, **kwargs: Any) -> Any:
        counted.append(key)
        return real(key, limit, window, **kwargs)

    monkeypatch.setattr(cowin_v2_auth, "check_rate", spy)
    call(client, "get", STATES)  # fills the answer cache
    counted.clear()
    with CaptureQueriesContext(connection) as queries:
        response = call(client, "get", STATES)

    assert response.status_code == 200
    assert counted == ["api:v2:public:client:127.0.0.1"]
    assert len(queries) == 0


def test_it_counts_bad_requests_too(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    _limit(monkeypatch, "PUBLIC_PER_CLIENT", 2)
    call(client, "get", FIND_BY_DISTRICT, {"date": "x"})  # missing district_id
    call(client, "get", FIND_BY_DISTRICT, {"district_id": "abc", "date": "x"})

    _throttled(call(client, "get", STATES))


def test_it_counts_public_reads_with_a_token_per_account(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = sign_in(client)
    _limit(monkeypatch, "PUBLIC_PER_CLIENT", 1)
    call(client, "get", STATES)

    anonymous = call(client, "get", STATES)
    signed_in = call(client, "get", STATES, token=token)

    _throttled(anonymous)
    assert signed_in.status_code == 200


def test_it_counts_signed_in_calls_per_account_so_a_household_is_not_locked_out(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine, theirs = sign_in(client, PHONE), sign_in(client, OTHER_PHONE)
    _limit(monkeypatch, "READS_PER_ACCOUNT", 2)
    for _ in range(2):
        call(client, "get", "appointment/beneficiaries", token=mine)

    over = call(client, "get", "appointment/beneficiaries", token=mine)
    neighbour = call(client, "get", "appointment/beneficiaries", token=theirs)

    _throttled(over)
    assert neighbour.status_code == 200


def test_it_caps_calls_from_one_address_even_without_a_valid_token(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limit(monkeypatch, "SIGNED_IN_PER_CLIENT", 2)
    for _ in range(2):
        assert call(client, "get", "appointment/beneficiaries", token="forged").status_code == 401

    _throttled(call(client, "get", "appointment/beneficiaries", token="forged"))


def test_it_limits_bookings_per_account_and_does_not_keep_the_refusal(
    client: Client, monkeypatch: pytest.MonkeyPatch, country: Country, hill_phc: Facility
) -> None:
    token = sign_in(client)
    person = member(country, 1, phone=PHONE)
    session = plan(hill_phc)
    body = {
        "dose": 1,
        "session_id": session.public_id,
        "slot": "09:00AM-11:00AM",
        "beneficiaries": [person.reference],
    }
    _limit(monkeypatch, "BOOKING_PER_ACCOUNT", 1, 3600)
    call(client, "post", "appointment/cancel", {"appointment_id": "NOSUCH"}, token=token)

    over = call(client, "post", "appointment/schedule", body, token=token, key="k1")
    _limit(monkeypatch, "BOOKING_PER_ACCOUNT", 10, 3600)
    retried = call(client, "post", "appointment/schedule", body, token=token, key="k1")

    _throttled(over, 3600)
    assert retried.status_code == 200, retried.content


def test_it_limits_sign_in_calls_per_address(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    _limit(monkeypatch, "OTP_PER_CLIENT", 1, 3600)
    call(client, "post", "auth/generateMobileOTP", {"mobile": PHONE[3:]})

    over = call(client, "post", "auth/validateMobileOtp", {"otp": "0" * 64, "txnId": "x"})
    elsewhere = call(
        client, "post", "auth/generateMobileOTP", {"mobile": OTHER_PHONE[3:]}, address=NEIGHBOUR
    )

    _throttled(over, 3600)
    assert elsewhere.status_code == 200
