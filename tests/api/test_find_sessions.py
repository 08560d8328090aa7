"""findByPin and findByDistrict: one day's sessions, flat, with their centres' details."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tests.api.factories import NOW, TODAY, TOMORROW, cowin, get, plan
from vaxnet.api.cowin_v2_schemas import SessionsOut
from vaxnet.booking.models import Session
from vaxnet.booking.planning import SlotSpec
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_set_fee
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

FLAT_FIELDS = {
    "center_id", "name", "name_l", "address", "address_l", "state_name", "state_name_l",
    "district_name", "district_name_l", "block_name", "block_name_l", "pincode", "lat", "long",
    "from", "to", "fee_type", "fee", "session_id", "date", "available_capacity",
    "available_capacity_dose1", "available_capacity_dose2", "min_age_limit", "max_age_limit",
    "allow_all_age", "vaccine", "slots",
}  # fmt: skip


def _sessions(client: Client, path: str, language: str = "", **params: str) -> list[dict]:
    response = get(client, f"appointment/sessions/public/{path}", language=language, **params)
    assert response.status_code == 200, response.content
    SessionsOut.model_validate(response.json())
    return response.json()["sessions"]


def test_it_finds_the_sessions_of_a_day_by_pin(client: Client, hill_phc: Facility) -> None:
    session = plan(hill_phc)

    (found,) = _sessions(client, "findByPin", pincode="110001", date=cowin(TOMORROW))

    assert set(found) == FLAT_FIELDS
    assert found == {
        "center_id": hill_phc.pk,
        "name": "Hill Town Primary Health Centre",
        "name_l": "Hill Town Primary Health Centre",
        "address": "1 Main Road",
        "address_l": "",
        "state_name": "North State",
        "state_name_l": "North State",
        "district_name": "Hill District",
        "district_name_l": "Hill District",
        "block_name": "",
        "block_name_l": "",
        "pincode": 110001,
        "lat": 28.6,
        "long": 77.2,
        "from": "09:00:00",
        "to": "17:00:00",
        "fee_type": "Free",
        "fee": "0",
        "session_id": session.public_id,
        "date": "03-03-2026",
        "available_capacity": 8,
        "available_capacity_dose1": 4,
        "available_capacity_dose2": 4,
        "min_age_limit": 18,
        "max_age_limit": None,
        "allow_all_age": True,
        "vaccine": "COVISHIELD",
        "slots": ["09:00AM-11:00AM", "11:00AM-01:00PM"],
    }


def test_it_finds_the_sessions_of_a_day_by_district(
    client: Client, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    plan(hill_phc)
    plan(river_clinic)
    plan(sea_hospital)
    plan(hill_phc, on=TOMORROW + timedelta(days=1))

    hill = _sessions(client, "findByDistrict", district_id="101", date=cowin(TOMORROW))
    sea = _sessions(client, "findByDistrict", district_id="201", date=cowin(TOMORROW))

    assert [s["center_id"] for s in hill] == [hill_phc.pk]
    assert [s["center_id"] for s in sea] == [sea_hospital.pk]
    assert sea[0]["state_name"] == "South State"
    assert sea[0]["pincode"] == 600001


def test_it_lists_every_session_of_a_centre_on_the_day(client: Client, hill_phc: Facility) -> None:
    first = plan(hill_phc, vaccine="COVISHIELD")
    second = plan(
        hill_phc,
        vaccine="COVAXIN",
        capacity={1: (3, 0)},
        slots=[SlotSpec(time(14), time(16), 3)],
        min_age_years=15,
        max_age_years=17,
    )

    found = _sessions(client, "findByPin", pincode="110001", date=cowin(TOMORROW))

    assert [s["session_id"] for s in found] == [second.public_id, first.public_id]
    covaxin = found[0]
    assert covaxin["vaccine"] == "COVAXIN"
    assert covaxin["available_capacity"] == covaxin["available_capacity_dose1"] == 3
    assert covaxin["available_capacity_dose2"] == 0
    assert (covaxin["min_age_limit"], covaxin["max_age_limit"]) == (15, 17)
    assert covaxin["allow_all_age"] is False
    assert covaxin["slots"] == ["02:00PM-04:00PM"]


def test_it_shows_the_fee_of_a_private_centre(client: Client, river_clinic: Facility) -> None:
    facility_set_fee(
        by=None,
        facility=river_clinic,
        vaccine=Vaccine.objects.get(code="COVISHIELD"),
        amount=Decimal("780"),
    )
    plan(river_clinic)

    (found,) = _sessions(client, "findByPin", pincode="120001", date=cowin(TOMORROW))

    assert (found["fee_type"], found["fee"]) == ("Paid", "780")
    assert (found["from"], found["to"]) == ("08:00:00", "20:00:00")


def test_it_names_places_in_the_language_asked_for(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc)

    (found,) = _sessions(
        client, "findByDistrict", language="hi_IN", district_id="101", date=cowin(TOMORROW)
    )

    assert found["name"] == "Hill Town Primary Health Centre"
    assert found["name_l"] == "हिल टाउन प्राथमिक स्वास्थ्य केंद्र"
    assert found["state_name_l"] == "उत्तर राज्य"
    assert found["district_name_l"] == "पहाड़ी ज़िला"


def test_it_shows_sessions_not_yet_open_for_booking_with_no_places(
    client: Client, hill_phc: Facility
) -> None:
    plan(hill_phc, release_at=NOW + timedelta(hours=7))

    (found,) = _sessions(client, "findByPin", pincode="110001", date=cowin(TOMORROW))

    assert found["available_capacity"] == 0
    assert found["available_capacity_dose1"] == found["available_capacity_dose2"] == 0
    assert found["slots"] == ["09:00AM-11:00AM", "11:00AM-01:00PM"]


def test_it_closes_todays_sessions_at_the_cut_off_hour(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc, on=TODAY, slots=[SlotSpec(time(15), time(17), 8)])
    params = {"pincode": "110001", "date": cowin(TODAY)}

    before = _sessions(client, "findByPin", **params)[0]["available_capacity"]
    late = timezone.make_aware(datetime.combine(TODAY, time(15)))
    with time_machine.travel(late, tick=False):
        after = _sessions(client, "findByPin", **params)[0]["available_capacity"]

    assert (before, after) == (8, 0)


def test_it_leaves_out_cancelled_sessions(client: Client, hill_phc: Facility) -> None:
    session = plan(hill_phc)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.CANCELLED)

    assert _sessions(client, "findByPin", pincode="110001", date=cowin(TOMORROW)) == []


def test_it_leaves_out_inactive_centres(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc)
    Facility.objects.filter(pk=hill_phc.pk).update(active=False)

    assert _sessions(client, "findByDistrict", district_id="101", date=cowin(TOMORROW)) == []


def test_it_answers_a_well_formed_pin_without_centres_with_no_sessions(client: Client) -> None:
    assert _sessions(client, "findByPin", pincode="110002", date=cowin(TOMORROW)) == []
    assert _sessions(client, "findByPin", pincode="999999", date=cowin(TOMORROW)) == []


def test_it_accepts_single_digit_days_and_months(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc)

    found = _sessions(client, "findByPin", pincode=" 110001 ", date="3-3-2026")

    assert [s["date"] for s in found] == ["03-03-2026"]
