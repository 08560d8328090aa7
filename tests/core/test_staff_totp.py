"""The TOTP second factor: codes, set-up, signing in with it, removal, and when it is required."""

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings
from django.utils import timezone

from vaxnet.core import totp
from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, StaffSecurity, User
from vaxnet.core.staff_auth import staff_code_check, totp_enrol_begin, totp_enrol_confirm

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, 10, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SIGN_IN = "/staff/sign-in/"
CODE = "/staff/sign-in/code/"
ENROL = "/staff/authenticator/"
DISABLE = "/staff/authenticator/remove/"
RFC_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890", RFC 6238's SHA-1 key


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _text(response: Any) -> str:
    return str(response.content.decode())


def _enrolled(user: User) -> str:
    """Set TOTP up for a user; return the secret (the step of now is used by the set-up)."""
    secret = totp_enrol_begin(user=user)
    totp_enrol_confirm(user=user, code=totp.code_at(secret, timezone.now()))
    return secret


def _password(client: Client, username: str, next_url: str = "") -> Any:
    return client.post(SIGN_IN, {"username": username, "password": PASSWORD, "next": next_url})


# --- The codes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "code"),
    [(59, "287082"), (1111111109, "081804"), (1234567890, "005924"), (2000000000, "279037")],
)
def test_it_computes_the_rfc_6238_codes(seconds: int, code: str) -> None:
    assert totp.code_at(RFC_SECRET, datetime.fromtimestamp(seconds, UTC)) == code


def test_it_accepts_one_step_either_side_and_no_more() -> None:
    at = datetime.fromtimestamp(1111111109, UTC)
    step = totp.time_step(at)
    for offset in (-1, 0, 1):
        assert totp.matching_step(RFC_SECRET, totp.hotp(RFC_SECRET, step + offset), at=at) == (
            step + offset
        )
    for offset in (-2, 2):
        assert totp.matching_step(RFC_SECRET, totp.hotp(RFC_SECRET, step + offset), at=at) is None
    assert totp.matching_step(RFC_SECRET, "12345", at=at) is None
    assert totp.matching_step(RFC_SECRET, "٠٨١٨٠٤", at=at) is None  # Arabic-Indic digits


def test_it_seals_secrets_for_their_owner_only() -> None:
    sealed = totp.seal(RFC_SECRET, owner="7")

    assert RFC_SECRET not in sealed
    assert totp.unseal(sealed, owner="7") == RFC_SECRET
    assert totp.seal(RFC_SECRET, owner="7") != sealed  # a fresh nonce each time
    with pytest.raises(ValueError, match="does not open"):
        totp.unseal(sealed, owner="8")


def test_it_opens_secrets_sealed_before_a_key_rotation() -> None:
    with override_settings(SECRET_KEY="the-old-key-" + "x" * 40):
        sealed = totp.seal(RFC_SECRET, owner="7")
    with override_settings(SECRET_KEY_FALLBACKS=["the-old-key-" + "x" * 40]):
        assert totp.unseal(sealed, owner="7") == RFC_SECRET
    with pytest.raises(ValueError):
        totp.unseal(sealed, owner="7")


def test_it_makes_the_uri_authenticator_apps_read() -> None:
    uri = totp.provisioning_uri(RFC_SECRET, account="asha", issuer="vaxnet")

    assert uri == (
        "otpauth://totp/vaxnet:asha?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
        "&issuer=vaxnet&algorithm=SHA1&digits=6&period=30"
    )


# --- Setting it up ------------------------------------------------------------------------------


def test_it_sets_up_an_authenticator_with_a_qr_code_and_a_first_code(
    client: Client, manager: User
) -> None:
    client.force_login(manager)

    page = client.get(ENROL)
    text = _text(page)
    assert page.status_code == 200
    assert "<svg" in text and "<title>QR code for your authenticator app</title>" in text
    assert 'autocomplete="one-time-code"' in text and 'inputmode="numeric"' in text
    shown = re.search(r'<code id="totp-secret" translate="no">([A-Z2-7 ]+)</code>', text)
    assert shown is not None
    secret = shown.group(1).replace(" ", "")
    assert shown.group(0) in _text(client.get(ENROL))  # a reload shows the same secret
    stored = StaffSecurity.objects.get(user=manager)
    assert secret not in stored.totp_secret and not stored.totp_enabled

    wrong = client.post(ENROL, {"code": "000000" if totp.code_at(secret, NOW) != "000000" else "1"})
    assert 'role="alert"' in _text(wrong) and "This code is not correct." in _text(wrong)
    assert not StaffSecurity.objects.get(user=manager).totp_enabled

    done = client.post(ENROL, {"code": totp.code_at(secret, NOW)})
    assert done.status_code == 302 and done["Location"] == "/staff/"
    assert StaffSecurity.objects.get(user=manager).totp_enabled
    assert AuditEvent.objects.filter(action="staff.totp_enabled", actor=manager).exists()
    # The secret is never shown again.
    again = client.get(ENROL)
    assert again.status_code == 302 and secret not in _text(client.get("/staff/"))


def test_it_asks_visitors_to_sign_in_before_setting_up(client: Client) -> None:
    response = client.get(ENROL)

    assert response.status_code == 302 and response["Location"].startswith(SIGN_IN)


# --- Signing in with it -------------------------------------------------------------------------


def test_it_asks_for_the_code_after_the_password(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(manager)
    _clock.shift(timedelta(seconds=30))

    response = _password(client, "manager", "/staff/facilities/TS-F1/sessions/")
    assert response["Location"] == CODE
    assert client.get("/staff/").status_code == 302  # not signed in by the password alone
    page = _text(client.get(CODE))
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page

    wrong = client.post(CODE, {"code": "12345"})
    assert "This code is not correct." in _text(wrong) and 'role="alert"' in _text(wrong)

    signed_in = client.post(CODE, {"code": totp.code_at(secret, timezone.now())})
    assert signed_in["Location"] == "/staff/facilities/TS-F1/sessions/"
    assert client.get("/staff/").status_code == 200
    assert AuditEvent.objects.get(action="staff.sign_in").data["second_factor"] is True


def test_it_refuses_a_code_used_before(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(manager)
    _clock.shift(timedelta(seconds=30))
    code = totp.code_at(secret, timezone.now())
    _password(client, "manager")
    assert client.post(CODE, {"code": code}).status_code == 302

    other = Client()
    _password(other, "manager")
    replayed = other.post(CODE, {"code": code})

    assert "This code is not correct." in _text(replayed)
    assert other.get("/staff/").status_code == 302
    # Nor is the code of the step before accepted once a later one was used.
    earlier = totp.hotp(secret, totp.time_step(timezone.now()) - 1)
    assert "This code is not correct." in _text(other.post(CODE, {"code": earlier}))


def test_it_counts_wrong_codes_towards_the_lock_out(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(manager)
    _clock.shift(timedelta(seconds=30))
    _password(client, "manager")
    for _ in range(5):
        client.post(CODE, {"code": "99999"})

    locked = client.post(CODE, {"code": totp.code_at(secret, timezone.now())})

    assert locked.status_code == 429
    assert "locked" in _text(locked)
    assert AuditEvent.objects.filter(action="staff.locked").count() == 1
    assert client.get("/staff/").status_code == 302


def test_it_forgets_a_pending_sign_in_after_ten_minutes(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(manager)
    _password(client, "manager")
    _clock.shift(timedelta(minutes=11))

    response = client.post(CODE, {"code": totp.code_at(secret, timezone.now())})

    assert response.status_code == 302 and response["Location"] == SIGN_IN
    assert client.get("/staff/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_it_accepts_a_code_once_when_sent_twice_at_once(manager: User) -> None:
    secret = _enrolled(manager)
    code = totp.hotp(secret, totp.time_step(timezone.now()) + 1)
    results: list[str] = []
    start = threading.Barrier(2)

    def attempt(n: int) -> None:
        try:
            start.wait()
            staff_code_check(user=manager, code=code, client=f"192.0.2.{n}")
            results.append("ok")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) == ["ok", "totp_invalid"]


# --- Removing it --------------------------------------------------------------------------------


def test_it_removes_the_authenticator_with_a_current_code(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(manager)
    _clock.shift(timedelta(seconds=30))
    _password(client, "manager")
    client.post(CODE, {"code": totp.code_at(secret, timezone.now())})
    _clock.shift(timedelta(seconds=30))

    page = client.get(DISABLE)
    assert page.status_code == 200 and 'autocomplete="one-time-code"' in _text(page)
    wrong = client.post(DISABLE, {"code": "99999"})
    assert "This code is not correct." in _text(wrong)
    assert StaffSecurity.objects.get(user=manager).totp_enabled

    done = client.post(DISABLE, {"code": totp.code_at(secret, timezone.now())})
    assert done.status_code == 302
    security = StaffSecurity.objects.get(user=manager)
    assert not security.totp_enabled and security.totp_secret == ""
    assert AuditEvent.objects.filter(action="staff.totp_disabled").exists()
    client.post("/staff/sign-out/")
    assert _password(client, "manager")["Location"] == "/staff/"


# --- Required of administrators -----------------------------------------------------------------


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
def test_it_makes_an_administrator_set_up_totp_before_any_staff_page(
    client: Client, district_admin: User, _clock: time_machine.Traveller
) -> None:
    response = _password(client, "district_admin", "/staff/")
    assert response["Location"] == ENROL
    assert client.get("/staff/").status_code == 302  # not signed in yet
    assert client.get("/stock/").status_code == 302
    text = _text(client.get(ENROL))
    assert "Administrators sign in with a password and a code" in text
    shown = re.search(r'<code id="totp-secret" translate="no">([A-Z2-7 ]+)</code>', text)
    assert shown is not None
    secret = shown.group(1).replace(" ", "")

    done = client.post(ENROL, {"code": totp.code_at(secret, timezone.now())})

    assert done["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    # And from now on the code is asked for at every sign-in.
    client.post("/staff/sign-out/")
    _clock.shift(timedelta(seconds=30))
    assert _password(client, "district_admin")["Location"] == CODE


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
@pytest.mark.parametrize("persona", ["district_admin", "state_admin", "national_admin"])
def test_it_sends_signed_in_administrators_without_totp_to_set_it_up(
    client: Client, persona: str, request: pytest.FixtureRequest
) -> None:
    client.force_login(request.getfixturevalue(persona))

    response = client.get("/staff/")
    htmx = client.get("/staff/", headers={"HX-Request": "true"})

    assert response.status_code == 302 and response["Location"] == ENROL
    assert htmx["HX-Redirect"] == ENROL


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
def test_it_asks_a_session_without_the_code_to_sign_in_again(
    client: Client, district_admin: User
) -> None:
    _enrolled(district_admin)
    client.force_login(district_admin)

    response = client.get("/staff/")

    assert response.status_code == 302 and response["Location"].startswith(SIGN_IN)
    assert client.get("/staff/").status_code == 302


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
def test_it_requires_totp_of_django_staff_in_the_admin(client: Client) -> None:
    User.objects.create_superuser(username="root", password=PASSWORD)

    assert _password(client, "root", "/admin/")["Location"] == ENROL
    assert client.get("/admin/").status_code == 302
    client.force_login(User.objects.get(username="root"))
    assert client.get("/admin/").status_code == 302
    assert client.get("/admin/login/?next=/admin/")["Location"] == ENROL


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
def test_it_does_not_require_totp_of_facility_staff(client: Client, verifier: User) -> None:
    assert _password(client, "verifier")["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


@override_settings(VAXNET_STAFF_TOTP_REQUIRED=True)
def test_it_keeps_administrators_from_removing_totp(
    client: Client, district_admin: User, _clock: time_machine.Traveller
) -> None:
    secret = _enrolled(district_admin)
    _clock.shift(timedelta(seconds=30))
    _password(client, "district_admin")
    client.post(CODE, {"code": totp.code_at(secret, timezone.now())})
    _clock.shift(timedelta(seconds=30))

    response = client.post(DISABLE, {"code": totp.code_at(secret, timezone.now())})

    assert "it cannot be turned off" in _text(response)
    assert StaffSecurity.objects.get(user=district_admin).totp_enabled
