"""Reads for the citizen pages: sessions to find and book, an account's members and entries.

Each read is a fixed number of queries, however many centres, sessions or members it finds.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from vaxnet.booking.availability import draw_held
from vaxnet.booking.models import (
    Appointment,
    DrawEntry,
    Session,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.queries import narrow_by_postal_code
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.models import Vaccine

FINDER_DAYS = 7
PAGE_SIZE = 10
FEES = ("free", "paid")


@dataclass
class FinderResult:
    """One page of centres with their sessions, and how the search was understood."""

    day: date
    page: Page | None = None
    region: Region | None = None
    postal_code: str = ""
    vaccine: Vaccine | None = None
    fee: str = ""
    note: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def until(self) -> date:
        """Return the last day the search covers."""
        return self.day + timedelta(days=FINDER_DAYS - 1)


def _slots() -> QuerySet[Slot]:
    return Slot.objects.annotate(places_left=F("capacity") - F("booked")).order_by("starts_at")


def _sessions(country: Country) -> QuerySet[Session]:
    return Session.objects.filter(
        facility__country=country, facility__active=True, status=Session.Status.PLANNED
    )


def _parse_day(raw: str, today: date, result: FinderResult) -> date:
    if not raw:
        return today + timedelta(days=1)
    try:
        day = parse_date(raw)
    except ValueError:
        day = None
    if day is None:
        result.errors["date"] = _("Enter a date as year-month-day, such as 2026-03-02.")
        return today + timedelta(days=1)
    if day < today:
        result.errors["date"] = _("Choose today or a later day.")
    return day


def find_sessions(
    *,
    country: Country,
    today: date,
    region_code: str = "",
    postal_code: str = "",
    day: str = "",
    vaccine_code: str = "",
    fee: str = "",
    page: int = 1,
) -> FinderResult:
    """Find centres with planned sessions from a day on, for a week, in a region or postal code.

    Refuses malformed input with a reason per field; with no place given, finds nothing.
    """
    result = FinderResult(day=today, postal_code=postal_code.strip(), fee=fee)
    result.day = _parse_day(day.strip(), today, result)
    sessions = _sessions(country).filter(date__gte=result.day, date__lte=result.until)
    if vaccine_code:
        result.vaccine = Vaccine.objects.filter(
            country=country, code=vaccine_code, active=True
        ).first()
        if result.vaccine is None:
            result.errors["vaccine"] = _("Choose a vaccine from the list.")
        else:
            sessions = sessions.filter(vaccine=result.vaccine)
    if fee == "free":
        sessions = sessions.filter(fee=0)
    elif fee == "paid":
        sessions = sessions.filter(fee__gt=0)
    elif fee:
        result.errors["fee"] = _("Choose free or paid.")
    facilities = Facility.objects.filter(
        country=country, active=True, pk__in=sessions.values("facility_id")
    )
    if region_code:
        result.region = Region.objects.filter(country=country, code=region_code).first()
        if result.region is None:
            result.errors["region"] = _("Choose a region from the list.")
        else:
            facilities = facilities.filter(region_path__startswith=result.region.path)
    if result.postal_code:
        facilities = _by_postal_code(country, facilities, result)
    if result.errors or not (result.region or result.postal_code):
        return result
    facilities = (
        facilities.select_related("region", "region__parent")
        .prefetch_related(
            Prefetch(
                "sessions",
                queryset=sessions.select_related("vaccine")
                .annotate(draw_held=draw_held(timezone.now()))
                .prefetch_related("doses", Prefetch("slots", queryset=_slots()))
                .order_by("date", "vaccine__code", "pk"),
                to_attr="found_sessions",
            )
        )
        .order_by("region_path", "code")
    )
    result.page = Paginator(facilities, PAGE_SIZE).get_page(page)
    return result


def _by_postal_code(
    country: Country, facilities: QuerySet[Facility], result: FinderResult
) -> QuerySet[Facility]:
    """Narrow to a postal code, or to its district when no centre there has sessions."""
    code, label = result.postal_code, country.postal_code_label
    narrowed = narrow_by_postal_code(country, facilities, code)
    if narrowed.outcome == "invalid":
        result.errors["postal_code"] = _("This is not a valid {label}.").format(label=label)
    elif narrowed.outcome == "unknown":
        result.note = _(
            "We know no centre for the {label} {code}. Check it, or choose your district instead."
        ).format(label=label, code=code)
    elif narrowed.region is not None:
        result.note = _(
            "No centre with the {label} {code} has sessions that week; these are the centres "
            "in {region}."
        ).format(label=label, code=code, region=narrowed.region.name)
    return narrowed.facilities


def session_for_booking(country: Country, public_id: str) -> Session | None:
    """Return a session of an active centre of the country, with its slots and doses."""
    return (
        Session.objects.filter(
            public_id=str(public_id)[:16], facility__country=country, facility__active=True
        )
        .select_related("vaccine", "facility__region__parent")
        .prefetch_related("doses", Prefetch("slots", queryset=_slots()))
        .first()
    )


def members_with_appointments(account: Account) -> list[Beneficiary]:
    """Return the account's beneficiaries, each with its appointments, latest session first."""
    appointments = Appointment.objects.select_related(
        "session__facility", "session__vaccine", "slot"
    ).order_by("-session__date", "-created_at")
    return list(
        Beneficiary.objects.filter(account=account)
        .select_related("id_type")
        .prefetch_related(
            Prefetch("appointments", queryset=appointments, to_attr="appointment_list")
        )
        .order_by("created_at", "pk")
    )


def waitlist_of(
    account_id: int, *, active_only: bool = False, limit: int = 50
) -> list[WaitlistEntry]:
    """Return an account's waiting-list entries, latest first, with `open_offers`; 3 queries.

    Each entry also gets `region` (the Region its region path names, or None).
    """
    offers = WaitlistOffer.objects.filter(status=WaitlistOffer.Status.OPEN).select_related(
        "session__facility", "session__vaccine", "slot"
    )
    found = WaitlistEntry.objects.filter(beneficiary__account_id=account_id)
    if active_only:
        found = found.filter(status__in=WaitlistEntry.ACTIVE)
    entries: list[WaitlistEntry] = list(
        found.select_related("beneficiary", "vaccine")
        .prefetch_related(Prefetch("offers", queryset=offers, to_attr="open_offers"))
        .order_by("-created_at", "-pk")[:limit]
    )
    paths = {entry.region_path for entry in entries if entry.region_path}
    regions = {region.path: region for region in Region.objects.filter(path__in=paths)}
    for entry in entries:
        entry.region = regions.get(entry.region_path)  # type: ignore[attr-defined]
    return entries


def draw_entries_of(account_id: int, *, limit: int = 50) -> list[DrawEntry]:
    """Return the draw entries of an account's members, latest first, in one query."""
    return list(
        DrawEntry.objects.filter(beneficiary__account_id=account_id)
        .select_related("beneficiary", "session__facility", "session__vaccine", "slot", "draw")
        .select_related("appointment__slot")
        .order_by("-entered_at", "-pk")[:limit]
    )
