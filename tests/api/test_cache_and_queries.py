"""A few queries whatever the number of centres; repeated requests come from the cache."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.factories import NOW, TOMORROW, add_centre, cowin, get, member, plan
from vaxnet.booking import availability
from vaxnet.booking.models import Session, SessionDose
from vaxnet.booking.services import appointment_book, appointment_cancel
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

DAY = cowin(TOMORROW)
ENDPOINTS = {
    "findByPin": ("appointment/sessions/public/findByPin", {"pincode": "110001", "date": DAY}),
    "findByDistrict": (
        "appointment/sessions/public/findByDistrict",
        {"district_id": "101", "date": DAY},
    ),
    "calendarByPin": (
        "appointment/sessions/public/calendarByPin",
        {"pincode": "110001", "date": DAY},
    ),
    "calendarByDistrict": (
        "appointment/sessions/public/calendarByDistrict",
        {"district_id": "101", "date": DAY},
    ),
    "findByLatLong": ("appointment/centers/public/findByLatLong", {"lat": "28.6", "long": "77.2"}),
    "states": ("admin/location/states", {}),
    "districts": ("admin/location/districts/1", {}),
}
# Queries to answer each endpoint when nothing is cached, however many centres it covers.
EXPECTED_QUERIES = {
    "findByPin": 6,  # country, the pin's districts, sessions, doses, slots, regions
    "findByDistrict": 5,  # district, sessions, doses, slots, regions
    "calendarByPin": 6,
    "calendarByDistrict": 5,
    "findByLatLong": 3,  # candidates in the box, the nearest centres, their regions
    "states": 1,
    "districts": 2,
}


def _add_centres(count: int, start: int = 0) -> None:
    for index in range(start, start + count):
        centre = add_centre(
            f"TS-Q{index:02d}", latitude=f"{28.6 + index * 0.001:.4f}", longitude="77.2"
        )
        plan(centre)
        plan(centre, on=TOMORROW + timedelta(days=1), vaccine="COVAXIN", min_age_years=15)


def _queries(client: Client, name: str) -> tuple[int, Any]:
    path, params = ENDPOINTS[name]
    availability.cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = get(client, path, **params)
    assert response.status_code == 200, response.content
    return len(queries), response.json()


def _size(body: Any) -> int:
    listed = body.get("sessions", body.get("centers", body.get("states", [])))
    return len(listed)


def test_it_answers_from_the_same_few_queries_for_2_and_20_centres(
    client: Client, hill_phc: Facility
) -> None:
    plan(hill_phc)
    _add_centres(1)
    small = {name: _queries(client, name) for name in ENDPOINTS}
    _add_centres(18, start=1)
    large = {name: _queries(client, name) for name in ENDPOINTS}

    assert {name: count for name, (count, _body) in small.items()} == EXPECTED_QUERIES
    assert {name: count for name, (count, _body) in large.items()} == EXPECTED_QUERIES
    assert _size(small["findByPin"][1]) == 2 and _size(large["findByPin"][1]) == 20
    assert _size(small["calendarByDistrict"][1]) == 2
    assert _size(large["calendarByDistrict"][1]) == 20
    assert _size(large["findByLatLong"][1]) == 20


@pytest.mark.parametrize("name", sorted(ENDPOINTS))
def test_it_answers_a_repeated_request_without_a_query(
    client: Client, hill_phc: Facility, name: str
) -> None:
    plan(hill_phc)
    path, params = ENDPOINTS[name]
    first = get(client, path, **params)

    with CaptureQueriesContext(connection) as queries:
        again = get(client, path, **params)

    assert len(queries) == 0
    assert again.content == first.content


def _dose1(client: Client, name: str = "findByDistrict") -> int:
    path, params = ENDPOINTS[name]
    body = get(client, path, **params).json()
    if "sessions" in body:
        return body["sessions"][0]["available_capacity_dose1"]
    return body["centers"][0]["sessions"][0]["available_capacity_dose1"]


def _book(country: Country, session: Session, seed: int = 1) -> Any:
    slot = session.slots.order_by("starts_at").first()
    assert slot is not None
    (appointment,) = appointment_book(
        beneficiaries=[member(country, seed)], session=session, slot=slot, now=NOW
    )
    return appointment


def test_it_shows_bookings_and_cancellations_at_once(
    client: Client, hill_phc: Facility, country: Country, django_capture_on_commit_callbacks: Any
) -> None:
    session = plan(hill_phc)
    names = ["findByPin", "findByDistrict", "calendarByPin", "calendarByDistrict"]
    before = [_dose1(client, name) for name in names]

    # The booking services call availability_changed themselves (it acts on commit).
    with django_capture_on_commit_callbacks(execute=True):
        appointment = _book(country, session)
    booked = [_dose1(client, name) for name in names]
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)
    cancelled = [_dose1(client, name) for name in names]

    assert before == [4, 4, 4, 4]
    assert booked == [3, 3, 3, 3]
    assert cancelled == [4, 4, 4, 4]


def test_it_keeps_answers_until_told_that_availability_changed(
    client: Client, hill_phc: Facility, country: Country, django_capture_on_commit_callbacks: Any
) -> None:
    session = plan(hill_phc)
    before = _dose1(client, "findByDistrict")
    # A change made behind the services' back is not seen until the call (or 30 seconds).
    SessionDose.objects.filter(session=session, dose_number=1).update(booked_online=2)

    stale = _dose1(client, "findByDistrict")
    with django_capture_on_commit_callbacks(execute=True):
        availability.availability_changed(session)

    assert (before, stale, _dose1(client, "findByDistrict")) == (4, 4, 2)


def test_it_refreshes_a_centres_calendar_and_its_slot_seats(
    client: Client, hill_phc: Facility, country: Country, django_capture_on_commit_callbacks: Any
) -> None:
    session = plan(hill_phc)
    params = {"center_id": str(hill_phc.pk), "date": DAY}

    def seats() -> list[int]:
        body = get(client, "appointment/sessions/public/calendarByCenter", **params).json()
        return [slot["seats"] for slot in body["centers"]["sessions"][0]["slots"]]

    before = seats()
    with django_capture_on_commit_callbacks(execute=True):
        _book(country, session)

    assert (before, seats()) == ([4, 4], [3, 4])


def test_it_keeps_answers_about_other_districts(
    client: Client, hill_phc: Facility, sea_hospital: Facility
) -> None:
    plan(hill_phc)
    elsewhere = plan(sea_hospital)
    path, params = ENDPOINTS["calendarByDistrict"]
    get(client, path, **params)

    availability.availability_changed(elsewhere)
    with CaptureQueriesContext(connection) as queries:
        get(client, path, **params)

    assert len(queries) == 0


def test_it_shows_places_once_a_session_is_released_without_being_told(
    client: Client, hill_phc: Facility
) -> None:
    plan(hill_phc, release_at=NOW + timedelta(seconds=10))

    before = _dose1(client)
    with time_machine.travel(NOW + timedelta(seconds=11), tick=False):
        after = _dose1(client)

    assert (before, after) == (0, 4)


def test_it_forgets_answers_after_thirty_seconds(client: Client, hill_phc: Facility) -> None:
    session = plan(hill_phc)
    _dose1(client)
    # A session made behind the services' back, so nothing tells the cache about it.
    Session.objects.create(
        facility=hill_phc,
        date=session.date,
        vaccine=Vaccine.objects.get(code="COVAXIN"),
        min_age_years=18,
        release_at=session.release_at,
    )
    path, params = ENDPOINTS["findByDistrict"]

    soon = get(client, path, **params).json()["sessions"]
    with time_machine.travel(NOW + timedelta(seconds=31), tick=False):
        later = get(client, path, **params).json()["sessions"]

    assert (len(soon), len(later)) == (1, 2)


def test_it_keeps_one_answer_per_language(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc)
    path, params = ENDPOINTS["findByPin"]

    english = get(client, path, **params).json()["sessions"][0]["name_l"]
    hindi = get(client, path, language="hi", **params).json()["sessions"][0]["name_l"]

    assert (english, hindi) == ("Hill Town Primary Health Centre", "हिल टाउन प्राथमिक स्वास्थ्य केंद्र")


def test_it_makes_answers_stale_again_when_the_transaction_commits(
    hill_phc: Facility,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    session = plan(hill_phc)

    with django_capture_on_commit_callbacks() as callbacks:
        availability.availability_changed(session)

    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "name", ["findByPin", "findByDistrict", "calendarByPin", "calendarByDistrict"]
)
def test_it_shows_a_change_made_through_another_process_in_the_next_answer(
    client: Client, hill_phc: Facility, name: str
) -> None:
    session = plan(hill_phc)
    before = _dose1(client, name)
    SessionDose.objects.filter(session=session, dose_number=1).update(booked_online=1)

    # What availability_changed does in the worker that booked: only the shared version
    # moves; this process still holds its own copy of the answer.
    cache.set(availability._version_key(availability.district_code(hill_phc.region_path)), "x")
    after = _dose1(client, name)

    assert (before, after) == (4, 3)


def test_it_answers_a_repeated_request_from_the_process_with_one_cache_read(
    client: Client, hill_phc: Facility, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan(hill_phc)
    path, params = ENDPOINTS["calendarByDistrict"]
    first = get(client, path, **params)
    fetched: list[str] = []
    real = cache.get

    def spy(key: str, *args: Any, **kwargs: Any) -> Any:
        fetched.append(key)
        return real(key, *args, **kwargs)

    monkeypatch.setattr(cache, "get", spy)
    again = get(client, path, **params)

    assert again.content == first.content
    # Only the versions are read (and the rate counted), never the kept answer itself.
    assert not [key for key in fetched if ":calendarByDistrict:" in key]
