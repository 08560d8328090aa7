"""Helpers for the v1 API tests: signing in through the SMS outbox, and calling the API."""

import json
import re
from typing import Any

from django.test import Client

from vaxnet.core.checksums import verhoeff_digit
from vaxnet.notifications.models import Message

PHONE = "+919812345678"
OTHER_PHONE = "+919822222222"


def call(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = "",
    key: str = "",
    language: str = "",
    raw: bytes | str | None = None,
    address: str = "127.0.0.1",
) -> Any:
    """Call /api/v1/<path> with a JSON body, a bearer token and an Idempotency-Key."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    if language:
        headers["Accept-Language"] = language
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    url = f"/api/v1/{path}"
    if method == "get":
        return client.get(url, body or {}, headers=headers, REMOTE_ADDR=address)
    return getattr(client, method)(
        url, data=data, content_type="application/json", headers=headers, REMOTE_ADDR=address
    )


def last_code(phone: str = PHONE) -> str:
    """Return the sign-in code of the latest SMS to a number."""
    message = Message.objects.filter(recipient=phone, template="otp").latest("created_at")
    found = re.search(r"\b(\d{6})\b", message.body)
    assert found, message.body
    return found.group(1)


def sign_in(client: Client, phone: str = PHONE, address: str = "127.0.0.1") -> str:
    """Sign in with an OTP read from the SMS outbox; return the bearer token."""
    otp = call(client, "post", "auth/otp", {"phone": phone, "language": "en"}, address=address)
    assert otp.status_code == 200, otp.json()
    code = last_code(phone)
    answer = call(
        client, "post", "auth/token", {"txn": otp.json()["txn"], "code": code}, address=address
    )
    assert answer.status_code == 200, answer.json()
    token: str = answer.json()["token"]
    return token


def aadhaar(seed: int) -> str:
    """Return a valid Aadhaar-shaped number (with its Verhoeff check digit)."""
    body = str(23456789000 + seed)
    return body + verhoeff_digit(body)


def person(seed: int, **changes: Any) -> dict[str, Any]:
    """Return a new member's details for POST /beneficiaries."""
    return {
        "name": f"Member {seed}",
        "sex": "female",
        "birth_year": 1980,
        "id_type": "aadhaar",
        "id_number": aadhaar(seed),
        **changes,
    }


def error_code(response: Any) -> str:
    """Return the code of an error answer, checking its shape."""
    error = response.json()["error"]
    assert set(error) <= {"code", "message", "field"} and error["message"]
    code: str = error["code"]
    return code
