"""Helpers for the signed-in CoWIN v2 tests: calls as CoWIN clients make them, and sign-in."""

import hashlib
import json
from typing import Any

from django.test import Client

from tests.api_v1.helpers import last_code

PHONE = "+919812345678"
OTHER_PHONE = "+919822222222"
ADDRESS = "127.0.0.1"


def sha256(code: str) -> str:
    """Return what a CoWIN client sends for a code: its SHA-256 in hex."""
    return hashlib.sha256(code.encode()).hexdigest()


def call(
    client: Client,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str = "",
    key: str = "",
    language: str = "",
    address: str = ADDRESS,
    raw: str | None = None,
) -> Any:
    """Call /api/v2/<path> with a JSON body, a bearer token and an Idempotency-Key."""
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    if language:
        headers["Accept-Language"] = language
    url = f"/api/v2/{path}"
    if method == "get":
        return client.get(url, body or {}, headers=headers, REMOTE_ADDR=address)
    data = raw if raw is not None else json.dumps(body if body is not None else {})
    return client.post(
        url, data=data, content_type="application/json", headers=headers, REMOTE_ADDR=address
    )


def ask_code(client: Client, phone: str = PHONE, path: str = "auth/generateMobileOTP") -> str:
    """Ask for a sign-in code for a number (given as CoWIN clients do, 10 digits)."""
    response = call(client, "post", path, {"mobile": phone[3:], "secret": "U2FsdGVkX1+x"})
    assert response.status_code == 200, response.content
    txn: str = response.json()["txnId"]
    return txn


def sign_in(client: Client, phone: str = PHONE, address: str = ADDRESS) -> str:
    """Sign in as a CoWIN client does, reading the code from the SMS outbox; return the token."""
    txn = ask_code(client, phone)
    body = {"otp": sha256(last_code(phone)), "txnId": txn}
    response = call(client, "post", "auth/validateMobileOtp", body, address=address)
    assert response.status_code == 200, response.content
    token: str = response.json()["token"]
    return token


def refusal(response: Any) -> tuple[int, str]:
    """Return the status and errorCode of a refusal, checking CoWIN's shape."""
    body = response.json()
    assert set(body) == {"errorCode", "error"} and body["error"], body
    return response.status_code, body["errorCode"]
