"""Helpers for the CoWIN v2 API tests: a fixed day, sessions, centres and requests."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.test import Client

from vaxnet.booking.models import Session
from vaxnet.booking.planning import SlotSpec, session_create
from vaxnet.core.checksums import verhoeff_digit
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.services import facility_create
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.people.services import beneficiary_add
from vaxnet.vaccines.models import Vaccine

# The clock of every API test: a Monday morning in the pack's time zone.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)
RELEASED = NOW - timedelta(days=1)


def cowin(day: date) -> str:
    """Return a date as CoWIN clients send it."""
    return day.strftime("%d-%m-%Y")


def plan(
    facility: Facility,
    *,
    on: date = TOMORROW,
    vaccine: str = "COVISHIELD",
    capacity: dict[int, tuple[int, int]] | None = None,
    slots: list[SlotSpec] | None = None,
    release_at: datetime = RELEASED,
    min_age_years: int = 18,
    max_age_years: int | None = None,
) -> Session:
    """Plan a session through the service: two morning slots, 4 online places per dose."""
    return session_create(
        by=None,
        facility=facility,
        on=on,
        vaccine=Vaccine.objects.get(code=vaccine),
        capacity=capacity or {1: (4, 2), 2: (4, 2)},
        slots=slots or [SlotSpec(time(9), time(11), 4), SlotSpec(time(11), time(13), 4)],
        release_at=release_at,
        min_age_years=min_age_years,
        max_age_years=max_age_years,
    )


def add_centre(
    code: str,
    *,
    region: str = "TS-N-HIL",
    postal_code: str = "110001",
    latitude: str | None = None,
    longitude: str | None = None,
    kind: str = Facility.Kind.PUBLIC,
) -> Facility:
    """Register a centre through the service, open 08:00 to 18:00."""
    return facility_create(
        by=None,
        code=code,
        names={"en": f"Centre {code}", "hi": f"केंद्र {code}"},
        kind=kind,
        region=Region.objects.get(code=region),
        postal_code=postal_code,
        address=f"{code} Road",
        latitude=Decimal(latitude) if latitude is not None else None,
        longitude=Decimal(longitude) if longitude is not None else None,
        opens_at=time(8),
        closes_at=time(18),
    )


def member(country: Country, seed: int, phone: str = "+919812345678") -> Beneficiary:
    """Register an adult on an account (made on first use)."""
    account, _created = Account.objects.get_or_create(
        country=country, phone=phone, defaults={"language": "en"}
    )
    body = str(23456789000 + seed)
    return beneficiary_add(
        account=account,
        name=f"Member {seed}",
        sex="female",
        birth_year=1980,
        id_type_code="aadhaar",
        id_number=body + verhoeff_digit(body),
    )


def get(client: Client, path: str, language: str = "", **params: Any) -> Any:
    """GET an /api/v2/ path and return the response."""
    headers = {"Accept-Language": language} if language else {}
    return client.get(f"/api/v2/{path}", params, headers=headers)
