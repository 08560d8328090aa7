"""Bad requests get CoWIN's 400 {"errorCode", "error"}, never a server error."""

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.factories import TOMORROW, cowin, get
from vaxnet.api.cowin_v2_schemas import CowinErrorOut

pytestmark = pytest.mark.django_db

DAY = cowin(TOMORROW)
FIND_BY_PIN = "appointment/sessions/public/findByPin"
FIND_BY_DISTRICT = "appointment/sessions/public/findByDistrict"
CALENDAR_BY_PIN = "appointment/sessions/public/calendarByPin"
CALENDAR_BY_DISTRICT = "appointment/sessions/public/calendarByDistrict"
CALENDAR_BY_CENTER = "appointment/sessions/public/calendarByCenter"
FIND_BY_LAT_LONG = "appointment/centers/public/findByLatLong"

MISSING = ("USRRES0001", "Input parameter missing")
BAD_DATE = ("APPOIN0044", "Please enter valid date")
BAD_PIN = ("APPOIN0018", "Invalid Pincode")
BAD_DISTRICT = ("USRRES0011", "Invalid district_id")
BAD_CENTER = ("USRRES0012", "Invalid center_id")
BAD_LOCATION = ("USRRES0013", "Invalid lat or long")
BAD_VACCINE = ("USRRES0014", "Invalid vaccine")

CASES: list[tuple[str, dict[str, str], tuple[str, str]]] = [
    # Missing or empty parameters.
    (FIND_BY_PIN, {}, MISSING),
    (FIND_BY_PIN, {"pincode": "110001"}, MISSING),
    (FIND_BY_PIN, {"date": DAY}, MISSING),
    (FIND_BY_PIN, {"pincode": "", "date": DAY}, MISSING),
    (FIND_BY_PIN, {"pincode": "  ", "date": "  "}, MISSING),
    (FIND_BY_DISTRICT, {"district_id": "101"}, MISSING),
    (CALENDAR_BY_PIN, {"date": DAY}, MISSING),
    (CALENDAR_BY_DISTRICT, {"district_id": "", "date": DAY}, MISSING),
    (CALENDAR_BY_CENTER, {"date": DAY}, MISSING),
    (FIND_BY_LAT_LONG, {"lat": "28.6"}, MISSING),
    (FIND_BY_LAT_LONG, {}, MISSING),
    # Dates.
    (FIND_BY_PIN, {"pincode": "110001", "date": "2026-03-03"}, BAD_DATE),
    (FIND_BY_PIN, {"pincode": "110001", "date": "03/03/2026"}, BAD_DATE),
    (FIND_BY_PIN, {"pincode": "110001", "date": "03-03-26"}, BAD_DATE),
    (FIND_BY_PIN, {"pincode": "110001", "date": "31-02-2026"}, BAD_DATE),
    (FIND_BY_PIN, {"pincode": "110001", "date": "00-01-2026"}, BAD_DATE),
    (FIND_BY_DISTRICT, {"district_id": "101", "date": "99-99-9999"}, BAD_DATE),
    (CALENDAR_BY_DISTRICT, {"district_id": "101", "date": "31-12-9999"}, BAD_DATE),
    (CALENDAR_BY_PIN, {"pincode": "110001", "date": "03-03-2026x"}, BAD_DATE),
    (CALENDAR_BY_PIN, {"pincode": "110001", "date": "०३-०३-२०२६"}, BAD_DATE),
    (CALENDAR_BY_CENTER, {"center_id": "1", "date": "3" * 5000}, BAD_DATE),
    # Postal codes.
    (FIND_BY_PIN, {"pincode": "12ab", "date": DAY}, BAD_PIN),
    (FIND_BY_PIN, {"pincode": "011001", "date": DAY}, BAD_PIN),
    (FIND_BY_PIN, {"pincode": "1100011", "date": DAY}, BAD_PIN),
    (FIND_BY_PIN, {"pincode": "-110001", "date": DAY}, BAD_PIN),
    (FIND_BY_PIN, {"pincode": "110001' OR 1=1", "date": DAY}, BAD_PIN),
    (CALENDAR_BY_PIN, {"pincode": "1" * 5000, "date": DAY}, BAD_PIN),
    # Districts.
    (FIND_BY_DISTRICT, {"district_id": "-1", "date": DAY}, BAD_DISTRICT),
    (FIND_BY_DISTRICT, {"district_id": "0", "date": DAY}, BAD_DISTRICT),
    (FIND_BY_DISTRICT, {"district_id": "1", "date": DAY}, BAD_DISTRICT),  # a state
    (FIND_BY_DISTRICT, {"district_id": "999", "date": DAY}, BAD_DISTRICT),
    (FIND_BY_DISTRICT, {"district_id": "abc", "date": DAY}, BAD_DISTRICT),
    (FIND_BY_DISTRICT, {"district_id": "101.0", "date": DAY}, BAD_DISTRICT),
    (CALENDAR_BY_DISTRICT, {"district_id": "9" * 19, "date": DAY}, BAD_DISTRICT),
    (CALENDAR_BY_DISTRICT, {"district_id": "9" * 5000, "date": DAY}, BAD_DISTRICT),
    # Centres.
    (CALENDAR_BY_CENTER, {"center_id": "-1", "date": DAY}, BAD_CENTER),
    (CALENDAR_BY_CENTER, {"center_id": "0", "date": DAY}, BAD_CENTER),
    (CALENDAR_BY_CENTER, {"center_id": "987654", "date": DAY}, BAD_CENTER),
    (CALENDAR_BY_CENTER, {"center_id": "9" * 19, "date": DAY}, BAD_CENTER),
    (CALENDAR_BY_CENTER, {"center_id": "TS-F1", "date": DAY}, BAD_CENTER),
    # Coordinates.
    (FIND_BY_LAT_LONG, {"lat": "abc", "long": "77.2"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "90.5", "long": "77.2"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "28.6", "long": "-180.1"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "nan", "long": "77.2"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "28.6", "long": "inf"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "2.86e1", "long": "77.2"}, BAD_LOCATION),
    (FIND_BY_LAT_LONG, {"lat": "28." + "6" * 5000, "long": "77.2"}, BAD_LOCATION),
    # Vaccines.
    (CALENDAR_BY_PIN, {"pincode": "110001", "date": DAY, "vaccine": "X" * 41}, BAD_VACCINE),
    (CALENDAR_BY_DISTRICT, {"district_id": "101", "date": DAY, "vaccine": "%'"}, BAD_VACCINE),
]


@pytest.mark.parametrize(("path", "params", "error"), CASES)
def test_it_refuses_bad_parameters_in_cowins_shape(
    client: Client, path: str, params: dict[str, str], error: tuple[str, str]
) -> None:
    response = get(client, path, **params)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"errorCode": error[0], "error": error[1]}
    CowinErrorOut.model_validate(response.json())


def test_it_keeps_cowins_english_messages_in_every_language(client: Client) -> None:
    response = get(client, FIND_BY_PIN, language="hi_IN", pincode="12ab", date=DAY)

    assert response.json() == {"errorCode": "APPOIN0018", "error": "Invalid Pincode"}


def test_it_checks_for_missing_parameters_first(client: Client) -> None:
    response = get(client, FIND_BY_PIN, date="not a date")

    assert response.json()["errorCode"] == "USRRES0001"


def test_it_answers_unknown_paths_with_not_found(client: Client) -> None:
    assert get(client, "appointment/sessions/public/findByNothing").status_code == 404
    assert get(client, "admin/location/districts/").status_code == 404


def test_it_refuses_other_methods(client: Client) -> None:
    response = client.post(f"/api/v2/{FIND_BY_PIN}?pincode=110001&date={DAY}")

    assert response.status_code == 405


TEXT = st.text(max_size=60) | st.from_regex(r"-?[0-9]{1,25}(\.[0-9]{0,8})?", fullmatch=True)
PATHS = {
    FIND_BY_PIN: ("pincode", "date"),
    FIND_BY_DISTRICT: ("district_id", "date"),
    CALENDAR_BY_PIN: ("pincode", "date", "vaccine"),
    CALENDAR_BY_DISTRICT: ("district_id", "date", "vaccine"),
    CALENDAR_BY_CENTER: ("center_id", "date", "vaccine"),
    FIND_BY_LAT_LONG: ("lat", "long"),
}


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(sorted(PATHS)),
    values=st.lists(TEXT | st.sampled_from([DAY, "110001", "101", "1"]), min_size=3, max_size=3),
    language=st.text(max_size=30),
)
def test_it_never_fails_on_any_input(
    client: Client, path: str, values: list[str], language: str
) -> None:
    cache.clear()  # each example is a new client: 150 calls would pass the rate limit
    params = dict(zip(PATHS[path], values, strict=False))
    header = "".join(ch for ch in language if " " <= ch <= "~")

    response: Any = get(client, path, language=header, **params)

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert set(response.json()) == {"errorCode", "error"}
