"""Staff sessions end when idle and after a fixed lifetime; citizens' sessions are left alone."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import caches
from django.test import Client, override_settings

from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.people.auth import SESSION_KEY as CITIZEN_SESSION_KEY
from vaxnet.people.models import Account

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
HILL = "/staff/facilities/TS-F1/sessions/"
IDLE_MESSAGE = "You were signed out after a while without activity. Please sign in again."
ENDED_MESSAGE = "Your session has ended. Please sign in again."


@pytest.fixture(autouse=True)
def _clock() -> Iterator[time_machine.Traveller]:
    caches["default"].clear()
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def _text(response: Any) -> str:
    return str(response.content.decode())


def _sign_in(client: Client) -> None:
    response = client.post("/staff/sign-in/", {"username": "manager", "password": PASSWORD})
    assert response.status_code == 302


def test_it_keeps_a_session_in_use_and_ends_it_after_thirty_idle_minutes(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    _sign_in(client)
    for _ in range(3):
        _clock.shift(timedelta(minutes=29))
        assert client.get(HILL).status_code == 200

    _clock.shift(timedelta(minutes=31))
    response = client.get(HILL)

    assert response.status_code == 302
    assert (
        response["Location"] == "/staff/sign-in/?next=%2Fstaff%2Ffacilities%2FTS-F1%2Fsessions%2F"
    )
    page = client.get(response["Location"])
    assert IDLE_MESSAGE in _text(page)
    assert client.get(HILL).status_code == 302  # signed out, not just redirected once


def test_it_ends_a_session_twelve_hours_after_signing_in_however_busy(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    _sign_in(client)
    for _ in range(35):
        _clock.shift(timedelta(minutes=20))
        assert client.get("/staff/").status_code == 200

    _clock.shift(timedelta(minutes=21))  # 12 hours and 1 minute
    response = client.get("/staff/")

    assert response.status_code == 302
    assert ENDED_MESSAGE in _text(client.get(response["Location"]))


@override_settings(VAXNET_STAFF_IDLE_MINUTES=5, VAXNET_STAFF_SESSION_HOURS=1)
def test_it_takes_the_limits_from_the_settings(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    _sign_in(client)
    _clock.shift(timedelta(minutes=6))
    assert client.get("/staff/").status_code == 302

    _sign_in(client)
    for _ in range(15):
        _clock.shift(timedelta(minutes=4))
        assert client.get("/staff/").status_code == 200
    _clock.shift(timedelta(minutes=1, seconds=1))
    assert client.get("/staff/").status_code == 302


def test_it_starts_the_clock_of_a_session_made_without_the_sign_in_page(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    client.force_login(manager)
    session = client.session
    for key in ("vaxnet_staff_signed_in_at", "vaxnet_staff_seen_at"):
        del session[key]
    session.save()

    assert client.get("/staff/").status_code == 200
    _clock.shift(timedelta(minutes=29))
    assert client.get("/staff/").status_code == 200
    _clock.shift(timedelta(minutes=31))
    assert client.get("/staff/").status_code == 302


def test_it_sends_an_expired_htmx_request_to_sign_in_with_a_full_navigation(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    client.force_login(manager)
    _clock.shift(timedelta(minutes=31))

    response = client.get("/staff/?q=hill", headers={"HX-Request": "true"})

    assert response["HX-Redirect"].startswith("/staff/sign-in/?next=")


def test_it_sends_an_expired_post_to_sign_in_without_coming_back_to_it(
    client: Client, manager: User, _clock: time_machine.Traveller
) -> None:
    client.force_login(manager)
    _clock.shift(timedelta(minutes=31))

    response = client.post(f"{HILL}new/", {})

    assert response.status_code == 302 and response["Location"] == "/staff/sign-in/"


def test_it_leaves_citizen_sessions_alone(
    client: Client, manager: User, country: Country, _clock: time_machine.Traveller
) -> None:
    account = Account.objects.create(country=country, phone="+919800000001")
    session = client.session
    session[CITIZEN_SESSION_KEY] = account.pk
    session.save()
    assert client.get("/account/").status_code == 200

    _clock.shift(timedelta(hours=13))

    assert client.get("/account/").status_code == 200
    assert "vaxnet_staff_seen_at" not in client.session
