"""GET /api/v1/sessions: age, dose and location filters, one member's view, and the cache."""

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.api.factories import TOMORROW, plan
from tests.booking.test_appointments import make_member
from vaxnet.api import v1_sessions
from vaxnet.booking import citizen_queries
from vaxnet.booking.availability import distance_km
from vaxnet.booking.services import appointment_book, appointment_cancel
from vaxnet.facilities.models import Facility
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.eligibility import PastDose

from .helpers import OTHER_PHONE, PHONE, call, error_code, sign_in

pytestmark = pytest.mark.django_db


def _find(client: Client, token: str = "", **params: str) -> Any:
    return call(client, "get", "sessions", params, token=token)


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [s["id"] for c in response.json()["centres"] for s in c["sessions"]]


def _codes(response: Any) -> list[str]:
    assert response.status_code == 200, response.json()
    return [c["code"] for c in response.json()["centres"]]


def _book(member: Beneficiary, session: Any) -> Any:
    slot = session.slots.order_by("starts_at").first()
    (appointment,) = appointment_book(beneficiaries=[member], session=session, slot=slot)
    return appointment


def _available(response: Any, code: str) -> int:
    (centre,) = [c for c in response.json()["centres"] if c["code"] == code]
    return int(centre["sessions"][0]["available"])


# Age and dose


def test_it_keeps_the_sessions_whose_age_window_admits_the_age(
    client: Client, hill_phc: Facility
) -> None:
    young = plan(hill_phc, min_age_years=18, max_age_years=44).public_id
    older = plan(hill_phc, min_age_years=45).public_id

    assert _ids(_find(client, district="TS-N-HIL", age="17")) == []
    assert _ids(_find(client, district="TS-N-HIL", age="18")) == [young]
    assert _ids(_find(client, district="TS-N-HIL", age="44")) == [young]
    assert _ids(_find(client, district="TS-N-HIL", age="45")) == [older]
    assert sorted(_ids(_find(client, district="TS-N-HIL"))) == sorted([young, older])


def test_it_keeps_the_sessions_that_offer_the_dose(client: Client, hill_phc: Facility) -> None:
    both = plan(hill_phc).public_id
    second = plan(hill_phc, capacity={2: (8, 0)}).public_id

    assert _ids(_find(client, district="TS-N-HIL", dose="1")) == [both]
    assert sorted(_ids(_find(client, district="TS-N-HIL", dose="2"))) == sorted([both, second])
    assert _ids(_find(client, district="TS-N-HIL", dose="3")) == []


# Location


def test_it_finds_the_nearest_centres_first_within_the_radius(
    client: Client, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    for facility in (hill_phc, river_clinic, sea_hospital):
        plan(facility)
    apart = distance_km(28.6, 77.2, 28.7, 77.1)

    default = _find(client, lat="28.6", long="77.2")
    wide = _find(client, lat="28.6", long="77.2", radius="20")
    from_river = _find(client, lat="28.7", lng="77.1", radius="20")

    assert _codes(default) == ["TS-F1"]  # 10 km unless asked
    assert _codes(wide) == ["TS-F1", "TS-F2"]
    assert [c["distance_km"] for c in wide.json()["centres"]] == [0.0, round(apart, 2)]
    assert _codes(from_river) == ["TS-F2", "TS-F1"]
    assert _find(client, district="TS-N-HIL").json()["centres"][0]["distance_km"] is None


def test_it_narrows_a_location_search_with_the_filters(
    client: Client, hill_phc: Facility, river_clinic: Facility
) -> None:
    plan(hill_phc, min_age_years=45)
    plan(river_clinic, vaccine="COVAXIN", capacity={2: (8, 0)})

    point = {"lat": "28.65", "long": "77.15", "radius": "50"}
    assert _codes(_find(client, **point, age="30")) == ["TS-F2"]
    assert _codes(_find(client, **point, dose="1")) == ["TS-F1"]
    assert _codes(_find(client, **point, vaccine="covaxin")) == ["TS-F2"]


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"district": "TS-N-HIL", "age": "-1"}, "age_invalid", "age"),
        ({"district": "TS-N-HIL", "age": "old"}, "age_invalid", "age"),
        ({"district": "TS-N-HIL", "age": "121"}, "age_invalid", "age"),
        ({"district": "TS-N-HIL", "dose": "0"}, "dose_invalid", "dose"),
        ({"district": "TS-N-HIL", "dose": "10"}, "dose_invalid", "dose"),
        ({"lat": "91", "long": "77"}, "location_invalid", "lat"),
        ({"lat": "28.6", "long": "-180.5"}, "location_invalid", "long"),
        ({"lat": "nan", "long": "77"}, "location_invalid", "lat"),
        ({"lat": "2e1", "long": "77"}, "location_invalid", "lat"),
        ({"lat": "28.6"}, "location_invalid", "long"),
        ({"lng": "77.2"}, "location_invalid", "lat"),
        ({"lat": "28.6", "long": "77.2", "radius": "0"}, "radius_invalid", "radius"),
        ({"lat": "28.6", "long": "77.2", "radius": "51"}, "radius_invalid", "radius"),
        ({"lat": "28.6", "long": "77.2", "radius": "ten"}, "radius_invalid", "radius"),
        ({"lat": "28.6", "long": "77.2", "age": "x" * 41}, "invalid_input", "age"),
    ],
)
def test_it_refuses_bad_filters_as_bad_input(
    client: Client, params: dict[str, str], code: str, field: str
) -> None:
    response = _find(client, **params)

    assert response.status_code == 422
    assert error_code(response) == code
    assert response.json()["error"]["field"] == field


def test_it_wants_exactly_one_place(client: Client) -> None:
    both = _find(client, district="TS-N-HIL", lat="28.6", long="77.2")
    none = _find(client, age="30")

    assert both.status_code == none.status_code == 400
    assert error_code(both) == error_code(none) == "place_required"


# One member's view


def _histories(member: object) -> list[PastDose]:
    if getattr(member, "name", "") == "Ravi":
        return [PastDose("COVISHIELD", "covid19", date(2026, 2, 1))]
    return []


def test_it_keeps_what_one_member_can_book_with_the_dose(
    client: Client, hill_phc: Facility, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        citizen_queries, "dose_histories", lambda members: {m.pk: _histories(m) for m in members}
    )
    token = sign_in(client)
    account = Account.objects.get(phone=PHONE)
    asha = make_member(account, 1, name="Asha")
    ravi = make_member(account, 2, name="Ravi")
    kiran = make_member(account, 3, name="Kiran", birth_year=2010)
    first = plan(hill_phc, capacity={1: (8, 0)}).public_id
    for_15 = plan(hill_phc, vaccine="COVAXIN", min_age_years=15).public_id
    second_due = date(2026, 2, 1) + timedelta(days=84)
    second = plan(hill_phc, capacity={2: (8, 0)}, on=second_due).public_id

    def sessions(member: Beneficiary, on: date = TOMORROW) -> list[tuple[str, int]]:
        response = _find(
            client, token, district="TS-N-HIL", beneficiary=member.reference, date=on.isoformat()
        )
        assert response.status_code == 200, response.json()
        return [
            (s["id"], s["beneficiary_dose"])
            for c in response.json()["centres"]
            for s in c["sessions"]
        ]

    assert sorted(sessions(asha)) == sorted([(first, 1), (for_15, 1)])
    assert sessions(ravi) == []
    assert sessions(ravi, second_due) == [(second, 2)]
    assert sessions(kiran) == [(for_15, 1)]
    assert (
        "beneficiary_dose"
        not in _find(client, district="TS-N-HIL").json()["centres"][0]["sessions"][0]
    )


def test_it_answers_404_for_another_accounts_member_and_401_without_a_token(
    client: Client, hill_phc: Facility, country: Any
) -> None:
    plan(hill_phc)
    token = sign_in(client)
    stranger = make_member(Account.objects.create(country=country, phone=OTHER_PHONE), 9)

    foreign = _find(client, token, district="TS-N-HIL", beneficiary=stranger.reference)
    missing = _find(client, token, district="TS-N-HIL", beneficiary="12345678901234")
    anonymous = _find(client, district="TS-N-HIL", beneficiary=stranger.reference)

    assert foreign.status_code == missing.status_code == 404
    assert error_code(foreign) == error_code(missing) == "not_found"
    assert foreign.json() == missing.json()
    assert anonymous.status_code == 401
    assert error_code(anonymous) == "unauthorized"


def test_it_never_serves_one_accounts_view_to_another(
    client: Client, hill_phc: Facility, country: Any
) -> None:
    plan(hill_phc, min_age_years=18)
    asha_token = sign_in(client)
    asha = make_member(Account.objects.get(phone=PHONE), 1, name="Asha")
    kiran_token = sign_in(client, OTHER_PHONE)
    kiran = make_member(Account.objects.get(phone=OTHER_PHONE), 3, birth_year=2012)

    for_asha = _find(client, asha_token, district="TS-N-HIL", beneficiary=asha.reference)
    for_kiran = _find(client, kiran_token, district="TS-N-HIL", beneficiary=kiran.reference)

    assert len(_ids(for_asha)) == 1
    assert _ids(for_kiran) == []


def test_it_counts_member_searches_against_the_account(
    client: Client, hill_phc: Facility, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(v1_sessions, "SESSIONS_PER_ACCOUNT", (2, 300))
    token = sign_in(client)
    asha = make_member(Account.objects.get(phone=PHONE), 1, name="Asha")

    answers = [
        _find(client, token, district="TS-N-HIL", beneficiary=asha.reference).status_code
        for _ in range(3)
    ]

    assert answers == [200, 200, 429]


# The cache


def test_it_keeps_filters_apart_in_the_cache(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc, min_age_years=45)

    assert _ids(_find(client, district="TS-N-HIL", age="50")) != []
    assert _ids(_find(client, district="TS-N-HIL", age="30")) == []
    assert _ids(_find(client, district="TS-N-HIL", age="30", dose="1")) == []
    assert _ids(_find(client, lat="28.6", long="77.2", age="50")) != []
    assert _ids(_find(client, lat="28.6", long="77.2", age="30")) == []


def test_a_booking_or_a_cancellation_shows_at_once_in_a_location_search(
    client: Client,
    hill_phc: Facility,
    river_clinic: Facility,
    citizen: Account,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan(hill_phc)
    at_river = plan(river_clinic)  # another district than Hill Town's
    member = make_member(citizen, 1)
    point = {"lat": "28.65", "long": "77.15", "radius": "20"}
    assert _available(_find(client, **point), "TS-F2") == 8

    with django_capture_on_commit_callbacks(execute=True):  # where the change is published
        appointment = _book(member, at_river)
    after_booking = _find(client, **point)
    with django_capture_on_commit_callbacks(execute=True):
        appointment_cancel(appointment=appointment)
    after_cancelling = _find(client, **point)

    assert _available(after_booking, "TS-F2") == 7
    assert _available(after_booking, "TS-F1") == 8
    assert _available(after_cancelling, "TS-F2") == 8


def test_a_session_planned_in_range_shows_at_once_in_a_location_search(
    client: Client,
    hill_phc: Facility,
    river_clinic: Facility,
    django_capture_on_commit_callbacks: Any,
) -> None:
    plan(hill_phc)
    point = {"lat": "28.6", "long": "77.2", "radius": "30"}
    assert _codes(_find(client, **point)) == ["TS-F1"]
    # A centre in range, in another district, that had no session when the answer was kept.
    with django_capture_on_commit_callbacks(execute=True):
        plan(river_clinic)

    assert _codes(_find(client, **point)) == ["TS-F1", "TS-F2"]


def test_it_serves_a_kept_location_answer_without_reading_sessions(
    client: Client, hill_phc: Facility
) -> None:
    plan(hill_phc)
    _find(client, lat="28.6", long="77.2")

    with CaptureQueriesContext(connection) as queries:
        again = _find(client, lat="28.6", long="77.2")

    assert _codes(again) == ["TS-F1"]
    assert not [q for q in queries.captured_queries if "booking_session" in q["sql"]]


@pytest.fixture
def citizen(country: Any) -> Account:
    return Account.objects.create(country=country, phone="+919833333333", language="en")
