"""CoWIN sign-in: the SHA-256 of the SMS code gives a bearer token; refusals in CoWIN's shape."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.cowin_client import OTHER_PHONE, PHONE, ask_code, call, refusal, sha256, sign_in
from tests.api.factories import NOW
from tests.api_v1.helpers import last_code
from vaxnet.api.cowin_v2_auth import public_token_account
from vaxnet.notifications.models import Message
from vaxnet.people.models import Account, OtpChallenge

pytestmark = pytest.mark.django_db


def _validate(client: Client, txn: str, otp: str, key: str = "") -> Any:
    return call(client, "post", "auth/validateMobileOtp", {"otp": otp, "txnId": txn}, key=key)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_it_signs_in_with_the_sha256_of_the_code(client: Client) -> None:
    txn = ask_code(client)

    response = _validate(client, txn, sha256(last_code()))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "isNewAccount"}
    assert body["isNewAccount"] == "Y"
    assert Account.objects.filter(phone=PHONE).exists()
    assert OtpChallenge.objects.get(public_id=txn).code_hash != sha256(last_code())
    members = call(client, "get", "appointment/beneficiaries", token=body["token"])
    assert members.status_code == 200
    assert members.json() == {"beneficiaries": []}


def test_it_says_the_account_is_not_new_on_the_next_sign_in(client: Client) -> None:
    sign_in(client)
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        txn = ask_code(client)
        response = _validate(client, txn, sha256(last_code()).upper())

    assert response.json()["isNewAccount"] == "N"


def test_it_gives_a_token_that_the_v1_api_takes_too(client: Client) -> None:
    token = sign_in(client)

    response = client.get("/api/v1/beneficiaries", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_it_refuses_a_wrong_code_a_plain_code_and_then_locks(client: Client) -> None:
    txn = ask_code(client)
    code = last_code()

    wrong = _validate(client, txn, sha256(_wrong(code)))
    plain = _validate(client, txn, code)
    for _ in range(3):
        _validate(client, txn, "f" * 64)
    locked = _validate(client, txn, sha256(code))

    assert refusal(wrong) == (400, "USRAUT0014")
    assert "4 more times" in wrong.json()["error"]
    assert refusal(plain) == (400, "USRAUT0014")
    assert refusal(locked) == (400, "USRAUT0103")


def test_it_refuses_a_used_or_expired_code(client: Client) -> None:
    txn = ask_code(client)
    code = last_code()
    _validate(client, txn, sha256(code))

    again = _validate(client, txn, sha256(code))
    with time_machine.travel(NOW + timedelta(minutes=1), tick=False) as traveller:
        late = ask_code(client)
        late_code = last_code()
        traveller.shift(timedelta(minutes=3))
        expired = _validate(client, late, sha256(late_code))

    assert refusal(again) == (400, "USRAUT0102")
    assert refusal(expired) == (400, "USRAUT0101")


def test_it_refuses_an_unknown_transaction_like_a_wrong_code(client: Client) -> None:
    response = _validate(client, "X" * 20, sha256("123456"))

    assert refusal(response) == (400, "USRAUT0014")


def test_it_refuses_a_bad_number_and_bad_bodies_in_cowins_shape(client: Client) -> None:
    path = "auth/generateMobileOTP"

    bad_number = call(client, "post", path, {"mobile": "12345"})
    missing = call(client, "post", path, {})
    not_json = call(client, "post", path, raw="{mobile")
    nul = call(client, "post", path, {"mobile": "98123\x0045678"})
    too_long = call(client, "post", "auth/validateMobileOtp", {"otp": "a" * 500, "txnId": "x"})

    assert refusal(bad_number) == (400, "USRAUT0104")
    assert refusal(missing) == (400, "USRRES0001")
    assert refusal(not_json) == (400, "USRRES0001")
    assert refusal(nul) == (400, "USRRES0001")
    assert refusal(too_long) == (400, "USRRES0001")


def test_it_answers_refusals_in_the_callers_language(client: Client) -> None:
    response = call(client, "post", "auth/generateMobileOTP", {"mobile": "12"}, language="hi_IN")

    assert refusal(response) == (400, "USRAUT0104")
    assert response.json()["error"] != "Enter a valid mobile number."


def test_it_sends_one_sms_for_a_retried_request(client: Client) -> None:
    body = {"mobile": PHONE[3:]}
    first = call(client, "post", "auth/generateMobileOTP", body, key="otp-1")
    again = call(client, "post", "auth/generateMobileOTP", body, key="otp-1")

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert Message.objects.filter(recipient=PHONE, template="otp").count() == 1


def test_it_replays_the_same_token_for_a_retried_sign_in(client: Client) -> None:
    txn = ask_code(client)
    otp = sha256(last_code())

    first = _validate(client, txn, otp, key="sign-in-1")
    again = _validate(client, txn, otp, key="sign-in-1")

    assert first.json() == again.json()
    assert first.json()["token"]


def test_it_refuses_missing_forged_and_other_tokens_with_401(client: Client) -> None:
    token = sign_in(client)

    missing = call(client, "get", "appointment/beneficiaries")
    forged = call(client, "get", "appointment/beneficiaries", token=token + "x")

    for response in (missing, forged):
        assert refusal(response) == (401, "USRAUT0106")
        assert response["WWW-Authenticate"] == "Bearer"


def test_it_gives_a_public_token_that_books_nothing(client: Client) -> None:
    txn = ask_code(client, OTHER_PHONE, path="auth/public/generateOTP")
    body = {"otp": sha256(last_code(OTHER_PHONE)), "txnId": txn}

    response = call(client, "post", "auth/public/confirmOTP", body)

    assert response.status_code == 200
    token = response.json()["token"]
    assert set(response.json()) == {"token"}
    assert public_token_account(token) == Account.objects.get(phone=OTHER_PHONE)
    refused = call(client, "get", "appointment/beneficiaries", token=token)
    assert refusal(refused) == (401, "USRAUT0106")
    assert public_token_account(sign_in(client)) is None


@pytest.fixture
def token(client: Client) -> str:
    return sign_in(client)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
POSTS = [
    "auth/public/generateOTP",
    "auth/public/confirmOTP",
    "auth/generateMobileOTP",
    "auth/validateMobileOtp",
    "appointment/schedule",
    "appointment/reschedule",
    "appointment/cancel",
]
FIELDS = [
    "mobile",
    "otp",
    "txnId",
    "dose",
    "session_id",
    "slot",
    "beneficiaries",
    "center_id",
    "appointment_id",
    "beneficiariesToCancel",
]


@settings(max_examples=80, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(POSTS),
    body=st.dictionaries(
        st.sampled_from([*FIELDS, "appointment_id", "beneficiariesToCancel"]), JSON
    )
    | JSON,
)
def test_it_never_fails_on_any_body(client: Client, token: str, path: str, body: Any) -> None:
    cache.clear()  # rate counters: each example is a new client

    signed_in = token if path.startswith("appointment/") else ""
    response = call(client, "post", path, body, token=signed_in)

    assert response.status_code in (200, 204, 400, 404, 409, 422), response.content
    if response.status_code >= 400:
        assert set(response.json()) == {"errorCode", "error"}
