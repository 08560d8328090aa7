"""Malformed requests to every endpoint: always a 4xx (or a 2xx) in the error shape, never a 500."""

import json
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxnet.api.v1_auth import api_token_issue, token_text
from vaxnet.countries.models import Country
from vaxnet.people.models import Account

pytestmark = pytest.mark.django_db

FIELDS = [
    "phone",
    "language",
    "txn",
    "code",
    "name",
    "sex",
    "birth_year",
    "birth_date",
    "id_type",
    "id_number",
    "session",
    "slot",
    "beneficiaries",
]
ASCII = st.characters(min_codepoint=32, max_codepoint=126)
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30)
    | st.sampled_from(["\x00", "2026-02-30", "09:00", "12345678901234", "+919812345678"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), values).map(json.dumps),
    values.map(json.dumps),
    st.binary(max_size=80),
    st.text(max_size=80),
)
segments = st.text(max_size=20).map(lambda text: quote(text, safe=""))
posts = st.one_of(
    st.sampled_from(["auth/otp", "auth/token", "auth/sign-out", "beneficiaries", "appointments"]),
    segments.map(lambda ref: f"appointments/{ref}/cancel"),
    segments.map(lambda ref: f"appointments/{ref}/reschedule"),
)


def _check(response: Any) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400 and response["Content-Type"] == "application/json":
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@pytest.fixture
def token(country: Country) -> str:
    account = Account.objects.create(country=country, phone="+919812345678", language="en")
    return token_text(api_token_issue(account=account).public_id)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=posts,
    body=bodies,
    key=st.none() | st.text(ASCII, max_size=110),
    language=st.text(ASCII, max_size=30),
    signed_in=st.booleans(),
)
def test_it_never_fails_on_a_malformed_post(
    token: str, path: str, body: str | bytes, key: str | None, language: str, signed_in: bool
) -> None:
    headers = {"Accept-Language": language}
    if key is not None:
        headers["Idempotency-Key"] = key
    if signed_in:
        headers["Authorization"] = f"Bearer {token}"

    response = Client().post(
        f"/api/v1/{path}", data=body, content_type="application/json", headers=headers
    )

    _check(response)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reference=segments, body=bodies)
def test_it_never_fails_on_a_malformed_change(token: str, reference: str, body: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    client = Client()

    _check(
        client.patch(
            f"/api/v1/beneficiaries/{reference}",
            data=body,
            content_type="application/json",
            headers=headers,
        )
    )
    _check(client.delete(f"/api/v1/beneficiaries/{reference}", headers=headers))


@given(
    params=st.dictionaries(
        st.sampled_from(["district", "postal_code", "date", "days", "vaccine", "fee", "x"]),
        st.text(max_size=20) | st.sampled_from(["TS-N-HIL", "110001", "2026-03-03", "7"]),
    ),
    authorization=st.text(ASCII, max_size=60),
)
def test_it_never_fails_on_malformed_search_parameters(
    params: dict[str, str], authorization: str
) -> None:
    response = Client().get("/api/v1/sessions", params, headers={"Authorization": authorization})

    _check(response)
