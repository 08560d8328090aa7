"""vaxnet's data in CoWIN's v2 JSON: its field names, DD-MM-YYYY dates, 12-hour slots."""

from datetime import date, time
from decimal import Decimal
from typing import Any

from django.conf import settings

from vaxnet.booking.availability import (
    CentreAvailability,
    NearbyCentre,
    Place,
    SessionAvailability,
)
from vaxnet.booking.models import Appointment
from vaxnet.core.i18n import localized
from vaxnet.facilities.models import Facility
from vaxnet.geo.models import Region
from vaxnet.people.models import Beneficiary
from vaxnet.vaccines.eligibility import PastDose

# CoWIN told clients to keep location lists for a day.
TTL_HOURS = 24
# CoWIN's values, compared by clients: data, not text for people, so never translated.
GENDERS = {"male": "Male", "female": "Female", "other": "Others"}


def names(texts: dict[str, str], language: str) -> tuple[str, str]:
    """Return a name in the country's first language, and in the caller's ('' if none)."""
    return localized(texts, settings.LANGUAGE_CODE), texts.get(language, "")


def cowin_date(day: date) -> str:
    """Return a date as CoWIN wrote it: 31-05-2021."""
    return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"


def clock(moment: time | None) -> str:
    """Return a time of day as CoWIN wrote opening hours: 09:00:00."""
    moment = moment or time(0)
    return f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}"


def _twelve_hour(moment: time) -> str:
    hour = moment.hour % 12 or 12
    return f"{hour:02d}:{moment.minute:02d}{'AM' if moment.hour < 12 else 'PM'}"


def slot_label(starts_at: time, ends_at: time) -> str:
    """Return a slot as CoWIN wrote it: 09:00AM-11:00AM."""
    return f"{_twelve_hour(starts_at)}-{_twelve_hour(ends_at)}"


def money(amount: Decimal) -> str:
    """Return an amount as CoWIN's fee strings: "0", "780", "780.5"."""
    return f"{amount.normalize():f}"


def pincode(code: str) -> int | str:
    """Return a postal code as a number, as CoWIN did, unless a number would change it."""
    return int(code) if code.isascii() and code.isdigit() and not code.startswith("0") else code


def coordinate(value: Decimal | None) -> float:
    """Return a latitude or longitude as a number; 0 when unknown."""
    return float(value) if value is not None else 0.0


def _region(region: Region | None, field: str, language: str) -> dict[str, str]:
    name, name_l = names(region.names, language) if region is not None else ("", "")
    return {field: name, f"{field}_l": name_l}


def _centre(facility: Facility, place: Place, language: str) -> dict[str, Any]:
    name, name_l = names(facility.names, language)
    return {
        "center_id": facility.pk,
        "name": name,
        "name_l": name_l,
        "address": facility.address,
        # Addresses are kept in one language only.
        "address_l": "",
        **_region(place.state, "state_name", language),
        **_region(place.district, "district_name", language),
        **_region(place.block, "block_name", language),
        "pincode": pincode(facility.postal_code),
        "lat": coordinate(facility.latitude),
        "long": coordinate(facility.longitude),
    }


def _centre_with_hours(centre: CentreAvailability, language: str) -> dict[str, Any]:
    facility = centre.facility
    slots = [slot for item in centre.sessions for slot in item.slots]
    opens = facility.opens_at or min((slot.starts_at for slot in slots), default=None)
    closes = facility.closes_at or max((slot.ends_at for slot in slots), default=None)
    return {
        **_centre(facility, centre.place, language),
        "from": clock(opens),
        "to": clock(closes),
        "fee_type": _fee_type(facility),
    }


def _session(item: SessionAvailability) -> dict[str, Any]:
    session = item.session
    return {
        "session_id": session.public_id,
        "date": cowin_date(session.date),
        "available_capacity": item.total,
        "available_capacity_dose1": item.for_dose(1),
        "available_capacity_dose2": item.for_dose(2),
        "min_age_limit": session.min_age_years,
        "max_age_limit": session.max_age_years,
        "allow_all_age": session.max_age_years is None,
        "vaccine": session.vaccine.name,
    }


def flat_sessions(centres: tuple[CentreAvailability, ...], language: str) -> list[dict[str, Any]]:
    """Return each session with its centre's details, as findByPin and findByDistrict do."""
    listed = []
    for centre in centres:
        details = _centre_with_hours(centre, language)
        for item in centre.sessions:
            listed.append(
                {
                    **details,
                    "fee": money(item.session.fee),
                    **_session(item),
                    "slots": [slot_label(slot.starts_at, slot.ends_at) for slot in item.slots],
                }
            )
    return listed


def calendar_centre(centre: CentreAvailability, language: str) -> dict[str, Any]:
    """Return a centre with its sessions, as the calendar endpoints do."""
    details = _centre_with_hours(centre, language)
    if details["fee_type"] == "Paid":
        fees: dict[str, str] = {}
        for item in centre.sessions:
            fees.setdefault(item.session.vaccine.name, money(item.session.fee))
        details["vaccine_fees"] = [{"vaccine": name, "fee": fee} for name, fee in fees.items()]
    details["sessions"] = [
        {
            **_session(item),
            "slots": [
                {"time": slot_label(slot.starts_at, slot.ends_at), "seats": slot.seats}
                for slot in item.slots
            ],
        }
        for item in centre.sessions
    ]
    return details


def empty_calendar_centre(facility: Facility, place: Place, language: str) -> dict[str, Any]:
    """Return a centre without sessions in the seven days, as calendarByCenter does."""
    nothing = CentreAvailability(facility=facility, place=place, sessions=())
    return calendar_centre(nothing, language)


def nearby_centre(centre: NearbyCentre, language: str) -> dict[str, Any]:
    """Return a centre as findByLatLong does."""
    details = _centre(centre.facility, centre.place, language)
    return {
        "center_id": details["center_id"],
        "name": details["name"],
        "name_l": details["name_l"],
        "district_name": details["district_name"],
        "district_name_l": details["district_name_l"],
        "state_name": details["state_name"],
        "state_name_l": details["state_name_l"],
        "location": details["address"],
        "location_l": details["address_l"],
        "pincode": details["pincode"],
        "block_name": details["block_name"],
        "block_name_l": details["block_name_l"],
        "lat": details["lat"],
        "long": details["long"],
    }


def states(regions: list[Region], language: str) -> dict[str, Any]:
    """Return the states as /admin/location/states does."""
    listed = []
    for region in regions:
        name, name_l = names(region.names, language)
        listed.append({"state_id": region.number, "state_name": name, "state_name_l": name_l})
    return {"states": listed, "ttl": TTL_HOURS}


def districts(regions: list[Region], language: str) -> dict[str, Any]:
    """Return a state's districts as /admin/location/districts/{state_id} does."""
    listed = []
    for region in regions:
        name, name_l = names(region.names, language)
        listed.append(
            {"district_id": region.number, "district_name": name, "district_name_l": name_l}
        )
    return {"districts": listed, "ttl": TTL_HOURS}


def _fee_type(facility: Facility) -> str:
    return "Paid" if facility.kind == Facility.Kind.PRIVATE else "Free"


def appointment(booked: Appointment, place: Place, language: str) -> dict[str, Any]:
    """Return a live appointment as appointment/beneficiaries lists it, with its centre."""
    session = booked.session
    facility = session.facility
    slot = booked.slot
    opens = facility.opens_at or (slot.starts_at if slot is not None else None)
    closes = facility.closes_at or (slot.ends_at if slot is not None else None)
    return {
        "appointment_id": booked.public_id,
        **_centre(facility, place, language),
        "from": clock(opens),
        "to": clock(closes),
        "fee_type": _fee_type(facility),
        "dose": booked.dose_number,
        "session_id": session.public_id,
        "date": cowin_date(session.date),
        # An on-site appointment has no slot.
        "slot": slot_label(slot.starts_at, slot.ends_at) if slot is not None else "",
    }


def vaccination_status(doses: list[PastDose]) -> str:
    """Return CoWIN's vaccination status for the doses a person has received."""
    if not doses:
        return "Not Vaccinated"
    return "Partially Vaccinated" if len(doses) == 1 else "Vaccinated"


def beneficiary(
    person: Beneficiary,
    *,
    doses: list[PastDose],
    appointments: list[dict[str, Any]],
    phone: str,
) -> dict[str, Any]:
    """Return a beneficiary as appointment/beneficiaries lists it (ID and number masked)."""
    given = [cowin_date(dose.given_on) for dose in doses[:2]]
    return {
        "beneficiary_reference_id": person.reference,
        "name": person.name,
        "birth_year": str(person.birth_year),
        "gender": GENDERS.get(person.sex, "Others"),
        "mobile_number": phone[-4:],
        "photo_id_type": localized(person.id_type.names, settings.LANGUAGE_CODE),
        "photo_id_number": person.masked_id(),
        # vaxnet does not ask about comorbidities.
        "comorbidity_ind": "N",
        "vaccination_status": vaccination_status(doses),
        "vaccine": doses[0].vaccine_code if doses else "",
        "dose1_date": given[0] if given else "",
        "dose2_date": given[1] if len(given) > 1 else "",
        "appointments": appointments,
    }
