"""Staff sign-in: the password, the lock-out per user name, the limit per client, the admin."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.db import connection
from django.test import Client, override_settings

from vaxnet.core.errors import DomainError
from vaxnet.core.models import AuditEvent, StaffSignInThrottle, User
from vaxnet.core.staff_auth import staff_password_check

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SIGN_IN = "/staff/sign-in/"
LOCKED = "Too many failed attempts. Sign-in is locked for a while: please try again later."


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _text(response: Any) -> str:
    return str(response.content.decode())


def _post(client: Client, username: str, password: str, **extra: str) -> Any:
    return client.post(SIGN_IN, {"username": username, "password": password, **extra})


def _actions(action: str) -> int:
    return AuditEvent.objects.filter(action=action).count()


def test_it_signs_staff_in_with_a_password_and_records_it(client: Client, manager: User) -> None:
    response = _post(client, "manager", PASSWORD, next="/staff/")

    assert response.status_code == 302 and response["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    event = AuditEvent.objects.get(action="staff.sign_in")
    assert event.actor == manager and event.data["second_factor"] is False


def test_it_changes_the_session_key_when_signing_in(client: Client, manager: User) -> None:
    client.get(SIGN_IN)
    client.cookies["sessionid"] = "fixed-by-an-attacker"
    _post(client, "manager", PASSWORD)

    assert client.cookies["sessionid"].value != "fixed-by-an-attacker"
    assert client.get("/staff/").status_code == 200


def test_it_refuses_a_wrong_password_and_records_the_failure(client: Client, manager: User) -> None:
    response = _post(client, "manager", "nope")

    assert response.status_code == 200
    assert 'role="alert"' in _text(response)
    assert "Enter a correct user name and password." in _text(response)
    event = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert event.data["username"] == "manager" and event.data["reason"] == "password"
    assert client.get("/staff/").status_code == 302


def test_it_locks_a_user_name_after_five_failures_even_for_the_right_password(
    client: Client, manager: User
) -> None:
    for _ in range(5):
        assert "Enter a correct" in _text(_post(client, "manager", "nope"))
    assert _actions("staff.locked") == 1

    response = _post(client, "Manager", PASSWORD)

    assert response.status_code == 429
    assert LOCKED in _text(response)
    assert client.get("/staff/").status_code == 302
    assert not AuditEvent.objects.filter(action="staff.sign_in").exists()
    refused = AuditEvent.objects.filter(action="staff.sign_in_failed").latest("id")
    assert refused.data["reason"] == "locked"


def test_it_answers_alike_for_a_user_name_nobody_has(client: Client, manager: User) -> None:
    for name in ("manager", "nobody"):
        for _ in range(5):
            _post(client, name, "nope")
    real = _post(client, "manager", PASSWORD)
    missing = _post(client, "nobody", PASSWORD)

    assert real.status_code == missing.status_code == 429
    assert LOCKED in _text(real) and LOCKED in _text(missing)
    assert _actions("staff.locked") == 2


def test_it_unlocks_after_the_lock_period(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    for _ in range(5):
        _post(client, "manager", "nope")
    _clock.shift(timedelta(minutes=14))
    assert _post(client, "manager", PASSWORD).status_code == 429

    _clock.shift(timedelta(minutes=2))
    assert _post(client, "manager", PASSWORD).status_code == 302
    assert StaffSignInThrottle.objects.get(username="manager").failures == 0


def test_it_forgets_failures_older_than_the_window(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    for _ in range(4):
        _post(client, "manager", "nope")
    _clock.shift(timedelta(minutes=16))
    _post(client, "manager", "nope")

    assert _actions("staff.locked") == 0
    assert StaffSignInThrottle.objects.get(username="manager").failures == 1
    assert _post(client, "manager", PASSWORD).status_code == 302


def test_it_clears_failures_on_a_completed_sign_in(client: Client, manager: User) -> None:
    for _ in range(4):
        _post(client, "manager", "nope")
    _post(client, "manager", PASSWORD)
    client.post("/staff/sign-out/")
    for _ in range(4):
        _post(client, "manager", "nope")

    assert _actions("staff.locked") == 0


@override_settings(
    VAXNET_STAFF_LOCKOUT_ATTEMPTS=2,
    VAXNET_STAFF_LOCKOUT_MINUTES=1,
    VAXNET_STAFF_LOCKOUT_WINDOW_MINUTES=1,
)
def test_it_takes_the_lock_out_from_the_settings(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    _post(client, "manager", "nope")
    _post(client, "manager", "nope")
    assert _post(client, "manager", PASSWORD).status_code == 429
    _clock.shift(timedelta(seconds=61))
    assert _post(client, "manager", PASSWORD).status_code == 302


@override_settings(VAXNET_STAFF_SIGN_IN_PER_CLIENT_PER_HOUR=3)
def test_it_limits_attempts_per_client_address(client: Client, manager: User) -> None:
    for name in ("a", "b", "c"):
        assert _post(client, name, "nope").status_code == 200

    response = _post(client, "manager", PASSWORD)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in _text(response)
    other = Client(REMOTE_ADDR="192.0.2.9")
    assert _post(other, "manager", PASSWORD).status_code == 302


def test_it_refuses_inactive_users_like_wrong_passwords(client: Client, manager: User) -> None:
    manager.is_active = False
    manager.save()

    assert "Enter a correct" in _text(_post(client, "manager", PASSWORD))


def test_it_sends_the_admin_sign_in_to_the_staff_sign_in(client: Client) -> None:
    User.objects.create_superuser(username="root", password=PASSWORD)

    response = client.get("/admin/")
    assert response.status_code == 302
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"] == "/staff/sign-in/?next=/admin/"

    signed_in = _post(client, "root", PASSWORD, next="/admin/")
    assert signed_in["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/login/?next=/admin/geo/region/")["Location"] == "/admin/geo/region/"


def test_it_keeps_staff_who_are_not_django_staff_out_of_the_admin(
    client: Client, manager: User
) -> None:
    client.force_login(manager)

    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_it_locks_the_admin_sign_in_too(client: Client) -> None:
    User.objects.create_superuser(username="root", password=PASSWORD)
    for _ in range(5):
        _post(client, "root", "nope", next="/admin/")

    assert _post(client, "root", PASSWORD, next="/admin/").status_code == 429
    assert client.get("/admin/").status_code == 302


# --- Simultaneous failures ----------------------------------------------------------------------


def _race(count: int, username: str, password: str) -> list[str]:
    """Try a password in `count` threads at once, each with its own connection."""
    results: list[str] = []
    start = threading.Barrier(count)

    def attempt(n: int) -> None:
        try:
            start.wait()
            staff_password_check(username=username, password=password, client=f"192.0.2.{n}")
            results.append("ok")
        except DomainError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@pytest.mark.django_db(transaction=True)
def test_it_counts_every_one_of_simultaneous_failures_and_locks_once(manager: User) -> None:
    # Five failures at once reach the limit only if none of them is lost to another.
    results = _race(5, "manager", "nope")

    assert results == ["sign_in_invalid"] * 5
    assert _actions("staff.sign_in_failed") == 5
    assert _actions("staff.locked") == 1
    throttle = StaffSignInThrottle.objects.get(username="manager")
    assert throttle.locked_until is not None and throttle.locked_until > NOW
    with pytest.raises(DomainError) as refused:
        staff_password_check(username="manager", password=PASSWORD, client="192.0.2.200")
    assert refused.value.code == "sign_in_locked"


@pytest.mark.django_db(transaction=True)
def test_it_locks_once_when_more_fail_at_once_than_the_limit(manager: User) -> None:
    results = _race(9, "nobody", "nope")

    assert set(results) <= {"sign_in_invalid", "sign_in_locked"}
    assert _actions("staff.locked") == 1
    assert StaffSignInThrottle.objects.get(username="nobody").locked_until is not None
