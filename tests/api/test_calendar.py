"""calendarByPin, calendarByDistrict and calendarByCenter: seven days of sessions per centre."""

from datetime import time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from tests.api.factories import TOMORROW, cowin, get, plan
from vaxnet.api.cowin_v2_schemas import CalendarByCenterOut, CalendarOut
from vaxnet.booking.planning import SlotSpec
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_set_fee
from vaxnet.vaccines.models import Vaccine

pytestmark = pytest.mark.django_db

CENTRE_FIELDS = {
    "center_id", "name", "name_l", "address", "address_l", "state_name", "state_name_l",
    "district_name", "district_name_l", "block_name", "block_name_l", "pincode", "lat", "long",
    "from", "to", "fee_type", "sessions",
}  # fmt: skip
SESSION_FIELDS = {
    "session_id", "date", "available_capacity", "available_capacity_dose1",
    "available_capacity_dose2", "min_age_limit", "max_age_limit", "allow_all_age", "vaccine",
    "slots",
}  # fmt: skip


def _calendar(client: Client, path: str, language: str = "", **params: str) -> Any:
    response = get(client, f"appointment/sessions/public/{path}", language=language, **params)
    assert response.status_code == 200, response.content
    if path == "calendarByCenter":
        CalendarByCenterOut.model_validate(response.json())
    else:
        CalendarOut.model_validate(response.json())
    return response.json()["centers"]


def _charge(facility: Facility, amount: str, vaccine: str = "COVISHIELD") -> None:
    facility_set_fee(
        by=None,
        facility=facility,
        vaccine=Vaccine.objects.get(code=vaccine),
        amount=Decimal(amount),
    )


def test_it_lists_centres_with_their_sessions(client: Client, hill_phc: Facility) -> None:
    session = plan(hill_phc)

    (centre,) = _calendar(client, "calendarByPin", pincode="110001", date=cowin(TOMORROW))

    assert set(centre) == CENTRE_FIELDS
    assert centre["center_id"] == hill_phc.pk
    assert (centre["fee_type"], centre["from"], centre["to"]) == ("Free", "09:00:00", "17:00:00")
    (found,) = centre["sessions"]
    assert set(found) == SESSION_FIELDS
    assert found == {
        "session_id": session.public_id,
        "date": "03-03-2026",
        "available_capacity": 8,
        "available_capacity_dose1": 4,
        "available_capacity_dose2": 4,
        "min_age_limit": 18,
        "max_age_limit": None,
        "allow_all_age": True,
        "vaccine": "COVISHIELD",
        "slots": [
            {"time": "09:00AM-11:00AM", "seats": 4},
            {"time": "11:00AM-01:00PM", "seats": 4},
        ],
    }


def test_it_covers_the_seven_days_from_the_date(client: Client, hill_phc: Facility) -> None:
    for offset in range(9):
        plan(hill_phc, on=TOMORROW + timedelta(days=offset - 1))

    (centre,) = _calendar(client, "calendarByDistrict", district_id="101", date=cowin(TOMORROW))

    assert [s["date"] for s in centre["sessions"]] == [
        cowin(TOMORROW + timedelta(days=offset)) for offset in range(7)
    ]


def test_it_lists_only_centres_with_sessions_in_the_week(
    client: Client, hill_phc: Facility, river_clinic: Facility, sea_hospital: Facility
) -> None:
    plan(hill_phc)
    plan(river_clinic, on=TOMORROW + timedelta(days=7))
    plan(sea_hospital)

    north = _calendar(client, "calendarByDistrict", district_id="102", date=cowin(TOMORROW))
    hill = _calendar(client, "calendarByDistrict", district_id="101", date=cowin(TOMORROW))

    assert north == []
    assert [c["center_id"] for c in hill] == [hill_phc.pk]


def test_it_gives_the_vaccine_fees_of_a_private_centre(
    client: Client, river_clinic: Facility, hill_phc: Facility
) -> None:
    _charge(river_clinic, "780")
    _charge(river_clinic, "1410.50", vaccine="COVAXIN")
    plan(river_clinic)
    plan(river_clinic, vaccine="COVAXIN", on=TOMORROW + timedelta(days=2), min_age_years=15)
    plan(hill_phc)

    (river,) = _calendar(client, "calendarByPin", pincode="120001", date=cowin(TOMORROW))
    (hill,) = _calendar(client, "calendarByPin", pincode="110001", date=cowin(TOMORROW))

    assert river["fee_type"] == "Paid"
    assert river["vaccine_fees"] == [
        {"vaccine": "COVISHIELD", "fee": "780"},
        {"vaccine": "COVAXIN", "fee": "1410.5"},
    ]
    assert set(river) == CENTRE_FIELDS | {"vaccine_fees"}
    assert hill["fee_type"] == "Free"
    assert "vaccine_fees" not in hill


def test_it_filters_by_vaccine(client: Client, hill_phc: Facility) -> None:
    plan(hill_phc)
    covaxin = plan(hill_phc, vaccine="COVAXIN", slots=[SlotSpec(time(14), time(16), 8)])

    (centre,) = _calendar(
        client, "calendarByPin", pincode="110001", date=cowin(TOMORROW), vaccine="covaxin"
    )
    nothing = _calendar(
        client, "calendarByPin", pincode="110001", date=cowin(TOMORROW), vaccine="SPUTNIK V"
    )

    assert [s["session_id"] for s in centre["sessions"]] == [covaxin.public_id]
    assert nothing == []


def test_it_gives_one_centre_as_a_single_object(client: Client, sea_hospital: Facility) -> None:
    plan(sea_hospital)
    plan(sea_hospital, on=TOMORROW + timedelta(days=3))

    centre = _calendar(
        client,
        "calendarByCenter",
        language="ta",
        center_id=str(sea_hospital.pk),
        date=cowin(TOMORROW),
    )

    assert isinstance(centre, dict)
    assert set(centre) == CENTRE_FIELDS
    assert centre["name_l"] == "கடல் துறைமுக மருத்துவமனை"
    assert len(centre["sessions"]) == 2


def test_it_gives_a_centre_without_sessions_with_an_empty_list(
    client: Client, hill_phc: Facility
) -> None:
    plan(hill_phc, on=TOMORROW + timedelta(days=7))

    centre = _calendar(client, "calendarByCenter", center_id=str(hill_phc.pk), date=cowin(TOMORROW))

    assert centre["center_id"] == hill_phc.pk
    assert centre["sessions"] == []
    assert (centre["from"], centre["to"]) == ("09:00:00", "17:00:00")


def test_it_takes_opening_hours_from_the_slots_when_the_centre_has_none(
    client: Client, hill_phc: Facility
) -> None:
    Facility.objects.filter(pk=hill_phc.pk).update(opens_at=None, closes_at=None)
    hill_phc.refresh_from_db()
    plan(hill_phc, slots=[SlotSpec(time(7, 30), time(11), 4), SlotSpec(time(18), time(20), 4)])

    (centre,) = _calendar(client, "calendarByPin", pincode="110001", date=cowin(TOMORROW))

    assert (centre["from"], centre["to"]) == ("07:30:00", "20:00:00")
    assert [slot["time"] for slot in centre["sessions"][0]["slots"]] == [
        "07:30AM-11:00AM",
        "06:00PM-08:00PM",
    ]


def test_it_refuses_an_inactive_centre(client: Client, hill_phc: Facility) -> None:
    Facility.objects.filter(pk=hill_phc.pk).update(active=False)

    response = get(
        client,
        "appointment/sessions/public/calendarByCenter",
        center_id=str(hill_phc.pk),
        date=cowin(TOMORROW),
    )

    assert response.status_code == 400
    assert response.json()["errorCode"] == "USRRES0012"
