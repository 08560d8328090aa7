"""Bearer tokens: 30 minutes, refused when forged, expired or signed out; errors in one shape."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client

from vaxnet.api.v1_auth import token_text

from .helpers import call, error_code, last_code, sign_in

pytestmark = pytest.mark.django_db


def test_it_refuses_a_request_without_a_token(client: Client) -> None:
    response = call(client, "get", "beneficiaries")

    assert response.status_code == 401
    assert error_code(response) == "unauthorized"
    assert response["WWW-Authenticate"] == "Bearer"


def test_it_refuses_a_forged_token(client: Client) -> None:
    token = sign_in(client)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")

    assert call(client, "get", "beneficiaries", token=forged).status_code == 401
    assert call(client, "get", "beneficiaries", token="not-a-token").status_code == 401
    # A well-signed id that was never handed out is refused too.
    assert call(client, "get", "beneficiaries", token=token_text("x" * 24)).status_code == 401


def test_it_refuses_an_expired_token(client: Client, _clock: time_machine.Traveller) -> None:
    token = sign_in(client)
    _clock.shift(timedelta(minutes=29))
    assert call(client, "get", "beneficiaries", token=token).status_code == 200

    _clock.shift(timedelta(minutes=1))

    assert call(client, "get", "beneficiaries", token=token).status_code == 401


def test_it_refuses_a_token_after_sign_out_but_not_another(
    client: Client, _clock: time_machine.Traveller
) -> None:
    first = sign_in(client)
    _clock.shift(timedelta(seconds=31))  # the cool-down between codes to one number
    second = sign_in(client, address="10.0.0.2")  # another device of the same account

    assert call(client, "post", "auth/sign-out", token=first).status_code == 204

    assert call(client, "get", "beneficiaries", token=first).status_code == 401
    assert call(client, "get", "beneficiaries", token=second).status_code == 200


def test_it_refuses_a_wrong_code_in_the_callers_language(client: Client) -> None:
    otp = call(client, "post", "auth/otp", {"phone": "+919812345678", "language": "en"})
    wrong = "000000" if last_code() != "000000" else "111111"

    english = call(client, "post", "auth/token", {"txn": otp.json()["txn"], "code": wrong})
    hindi = call(
        client,
        "post",
        "auth/token",
        {"txn": otp.json()["txn"], "code": wrong},
        language="hi-IN,hi;q=0.9",
    )

    assert english.status_code == hindi.status_code == 400
    assert error_code(english) == error_code(hindi) == "otp_invalid"
    assert english.json()["error"]["message"] != hindi.json()["error"]["message"]
    assert english.json()["error"]["field"] == "code"


def test_it_refuses_an_invalid_phone_number(client: Client) -> None:
    response = call(client, "post", "auth/otp", {"phone": "12", "language": "en"})

    assert response.status_code == 400
    assert error_code(response) == "phone_invalid"


def test_it_answers_in_the_accounts_language_without_a_header(client: Client) -> None:
    otp = call(client, "post", "auth/otp", {"phone": "+919812345678", "language": "hi"})
    answer = call(client, "post", "auth/token", {"txn": otp.json()["txn"], "code": last_code()})
    token = answer.json()["token"]

    response = call(client, "delete", "beneficiaries/12345678901234", token=token)

    assert response.status_code == 404
    assert response.json()["error"] == {"code": "not_found", "message": "नहीं मिला।"}
    english = call(client, "delete", "beneficiaries/12345678901234", token=token, language="en")
    assert english.json()["error"]["message"] == "Not found."


def test_it_limits_codes_per_number_with_retry_after(client: Client) -> None:
    call(client, "post", "auth/otp", {"phone": "+919812345678", "language": "en"})

    again = call(client, "post", "auth/otp", {"phone": "+919812345678", "language": "en"})

    assert again.status_code == 429
    assert error_code(again) == "rate_limited"
    assert int(again["Retry-After"]) == 30
