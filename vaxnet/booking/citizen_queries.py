"""Reads for the citizen pages: sessions to find and book, an account's members and entries.

Each read is a fixed number of queries, however many centres, sessions or members it finds.
"""

import copy
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TypeVar, cast

from django.core.paginator import Page, Paginator
from django.db import connection, models
from django.db.models import F, Max, Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from vaxnet.booking.availability import Near, admits, draw_held, within
from vaxnet.booking.models import (
    Appointment,
    DrawEntry,
    Session,
    SessionDose,
    Slot,
    WaitlistEntry,
    WaitlistOffer,
)
from vaxnet.booking.queries import dose_histories
from vaxnet.booking.services import DoseVerdict, dose_verdict
from vaxnet.core.errors import DomainError
from vaxnet.core.rows import Table, columns, model_from_row, models_from_row
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.facilities.queries import narrow_by_postal_code
from vaxnet.geo.models import Region
from vaxnet.people.models import Account, Beneficiary
from vaxnet.vaccines.eligibility import PastDose, VaccineRule
from vaxnet.vaccines.models import Vaccine

M = TypeVar("M", bound=models.Model)
T = TypeVar("T")

FINDER_DAYS = 7
PAGE_SIZE = 10
FEES = ("free", "paid")
MAX_AGE = 120
MAX_DOSE = 9
RADIUS_KM = 10
MAX_RADIUS_KM = 50
_NUMBER = re.compile(r"[-+]?[0-9]{1,3}(\.[0-9]{1,12})?")


@dataclass(frozen=True)
class MemberVerdict:
    """What one member of an account can book in one session: a dose, or why not."""

    member: Beneficiary
    verdict: DoseVerdict


@dataclass(frozen=True)
class Point:
    """Where a location search looks: a point and a radius."""

    latitude: float
    longitude: float
    radius_km: float


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
    age: int | None = None
    dose: int | None = None
    point: Point | None = None
    # The location fields as typed, shown again as they were.
    lat_text: str = ""
    long_text: str = ""
    radius_text: str = ""
    members: list[Beneficiary] = field(default_factory=list)
    member: Beneficiary | None = None
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


def _parse_whole(raw: str, low: int, high: int) -> int | None:
    """Return a whole number from low to high, else None."""
    return int(raw) if raw.isdigit() and len(raw) <= 3 and low <= int(raw) <= high else None


def _parse_number(raw: str, limit: float) -> float | None:
    """Return a plain decimal number within ±limit (a comma for the point too), else None."""
    text = raw.replace(",", ".")
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text)
    return value if -limit <= value <= limit else None


def _parse_filters(result: FinderResult, age: str, dose: str) -> None:
    if age:
        result.age = _parse_whole(age, 0, MAX_AGE)
        if result.age is None:
            result.errors["age"] = _("Enter an age in whole years, from 0 to {most}.").format(
                most=MAX_AGE
            )
    if dose:
        result.dose = _parse_whole(dose, 1, MAX_DOSE)
        if result.dose is None:
            result.errors["dose"] = _("Choose a dose from the list.")


def _parse_point(result: FinderResult, lat: str, long: str, radius: str) -> None:
    """Read a location search: both coordinates, and a radius in km (10 unless given)."""
    result.lat_text, result.long_text, result.radius_text = lat, long, radius
    if not (lat or long):
        if radius and _parse_number(radius, MAX_RADIUS_KM) is None:
            result.errors["radius"] = _("Enter a distance from 1 to {most} km.").format(
                most=MAX_RADIUS_KM
            )
        return
    latitude = _parse_number(lat, 90) if lat else None
    longitude = _parse_number(long, 180) if long else None
    distance = _parse_number(radius, MAX_RADIUS_KM) if radius else float(RADIUS_KM)
    if latitude is None:
        result.errors["lat"] = _("Enter a latitude from -90 to 90, such as 28.6139.")
    if longitude is None:
        result.errors["long"] = _("Enter a longitude from -180 to 180, such as 77.209.")
    if distance is None or distance < 1:
        result.errors["radius"] = _("Enter a distance from 1 to {most} km.").format(
            most=MAX_RADIUS_KM
        )
    elif latitude is not None and longitude is not None:
        result.point = Point(latitude=latitude, longitude=longitude, radius_km=distance)


def _choose_member(result: FinderResult, account: Account | None, reference: str) -> None:
    if account is None:
        return
    result.members = list(Beneficiary.objects.filter(account=account).order_by("created_at", "pk"))
    if reference:
        result.member = next((m for m in result.members if m.reference == reference), None)
        if result.member is None:
            result.errors["for"] = _("Choose someone from the list.")


def find_sessions(
    *,
    country: Country,
    today: date,
    region_code: str = "",
    postal_code: str = "",
    day: str = "",
    vaccine_code: str = "",
    fee: str = "",
    age: str = "",
    dose: str = "",
    lat: str = "",
    long: str = "",
    radius: str = "",
    account: Account | None = None,
    for_member: str = "",
    page: int = 1,
) -> FinderResult:
    """Find centres with planned sessions for a week in a region, postal code or radius.

    Near a point, the nearest centres come first; for a signed-in account, each session
    says what each member can book there, and `for_member` keeps what one member can.
    Refuses malformed input with a reason per field; with no place given, finds nothing.
    A fixed number of queries, however many centres, sessions or members.
    """
    result = FinderResult(day=today, postal_code=postal_code.strip(), fee=fee)
    result.day = _parse_day(day.strip(), today, result)
    _parse_filters(result, age.strip(), dose.strip())
    _parse_point(result, lat.strip(), long.strip(), radius.strip())
    _choose_member(result, account, for_member.strip())
    sessions = _sessions(country).filter(date__gte=result.day, date__lte=result.until)
    sessions = admits(sessions, age=result.age, dose=result.dose)
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
    if result.errors or not (result.region or result.postal_code or result.point):
        return result
    rules = vaccine_rules(country) if result.members else {}
    histories = histories_of(result.members)
    bookable: set[int] | None = None
    if result.member is not None:
        # Only what the chosen member can book: judged here, on every session found, by
        # the booking's own rule; two queries (the sessions and their doses).
        candidates = sessions.filter(facility__in=facilities).prefetch_related("doses")
        verdicts = bookable_for([result.member], candidates, histories=histories, rules=rules)
        bookable = {pk for pk, found in verdicts.items() if found[0].verdict.bookable}
        facilities = facilities.filter(
            pk__in={s.facility_id for s in candidates if s.pk in bookable}
        )
    found_sessions = Prefetch(
        "sessions",
        queryset=sessions.select_related("vaccine")
        .annotate(draw_held=draw_held(timezone.now()))
        .prefetch_related("doses", Prefetch("slots", queryset=_slots()))
        .order_by("date", "vaccine__code", "pk"),
        to_attr="found_sessions",
    )
    facilities = facilities.select_related("region", "region__parent").prefetch_related(
        found_sessions
    )
    if result.point is None:
        result.page = Paginator(facilities.order_by("region_path", "code"), PAGE_SIZE).get_page(
            page
        )
    else:
        result.page = _nearest_page(facilities, result.point, page)
    for facility in result.page.object_list:
        if bookable is not None:
            facility.found_sessions = [s for s in facility.found_sessions if s.pk in bookable]
        if result.members:
            verdicts = bookable_for(
                result.members,
                facility.found_sessions,
                histories=histories,
                rules=rules,
            )
            for found in facility.found_sessions:
                found.member_verdicts = verdicts.get(found.pk, [])
    return result


def _nearest_page(facilities: QuerySet[Facility], point: Point, number: int) -> Page:
    """Return a page of the facilities within the radius, nearest first, each with its distance.

    The distances of every candidate are one query; the page's centres are then read.
    """
    near: list[Near] = within(
        facilities.order_by(),
        latitude=point.latitude,
        longitude=point.longitude,
        radius_km=point.radius_km,
    )
    page = Paginator(near, PAGE_SIZE).get_page(number)
    chosen: list[Near] = list(page.object_list)
    found = facilities.in_bulk([n.pk for n in chosen])
    centres = []
    for item in chosen:
        facility = found[item.pk]
        facility.distance_km = item.distance_km  # type: ignore[attr-defined]
        centres.append(facility)
    page.object_list = centres  # type: ignore[assignment]
    return page


def dose_numbers(country: Country) -> range:
    """Return the dose numbers the country's active vaccines have, from 1; one query."""
    most = country.vaccines.filter(active=True).aggregate(most=Max("doses__number"))["most"]
    return range(1, min(most or 1, MAX_DOSE) + 1)


def vaccine_rules(country: Country) -> dict[int, VaccineRule]:
    """Return the eligibility rule of each vaccine of the country, by id; two queries."""
    return {
        vaccine.pk: vaccine.rule()
        for vaccine in Vaccine.objects.filter(country=country).prefetch_related("doses")
    }


def histories_of(members: Sequence[Beneficiary]) -> dict[int, list[PastDose]]:
    """Return each member's dose history, read once per search (one query)."""
    return dose_histories(members)


def bookable_for(
    members: Sequence[Beneficiary],
    sessions: Iterable[Session],
    *,
    histories: dict[int, list[PastDose]] | None = None,
    rules: dict[int, VaccineRule] | None = None,
) -> dict[int, list[MemberVerdict]]:
    """Return, per session id, what each member can book there: a dose, or why not.

    The same rule as booking (`services.dose_verdict`), on the session's date; it never
    raises. With the histories and the vaccines' rules given and the sessions' doses read
    with them, it makes no query.
    """
    histories = histories if histories is not None else histories_of(members)
    rules = rules or {}
    return {
        session.pk: [
            MemberVerdict(
                member=member,
                verdict=dose_verdict(
                    member,
                    session,
                    history=histories.get(member.pk, []),
                    rule=rules.get(session.vaccine_id),
                ),
            )
            for member in members
        ]
        for session in sessions
    }


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
    found = (
        Session.objects.filter(
            public_id=str(public_id)[:16], facility__country=country, facility__active=True
        )
        # The country too: booking checks its rules (release, fair window, same-day cut-off).
        .select_related("vaccine", "facility__country", "facility__region__parent")
        # Explicit orders: the public id is unique, and the doses' default order would join
        # the session again to sort by its date. Building the SQL is most of a booking's
        # reading time, and these orders are cheaper to build as well as to run.
        .order_by()
        .prefetch_related(
            Prefetch("doses", queryset=SessionDose.objects.order_by("dose_number")),
            Prefetch("slots", queryset=_slots()),
        )
    )
    return next(iter(found[:1]), None)


# Sessions as read by session_for_booking, kept in the process for the booking API: a
# session's plan changes seldom and is booked often. Bounded (least recently used out),
# dropped when the country's pack changes, and short-lived, so that what the booking does
# not re-check in its transaction (the centre's and vaccine's names) is never older than
# KEPT_SECONDS.
KEPT_SECONDS = 30.0
KEPT_SESSIONS = 2000
_kept: OrderedDict[str, tuple[float, tuple[int, str], Session]] = OrderedDict()
_kept_lock = threading.Lock()


def kept_session_for_booking(country: Country, public_id: str) -> tuple[Session | None, bool]:
    """Return a session to book, perhaps a copy kept in this process, and whether it was.

    The session as session_for_booking finds it, with its vaccine, centre, country, doses
    and slots (not its region, nor the slots' places left). Only for a caller that books
    through `services.appointment_book`, which re-reads in its transaction what it checked
    on the copy (status, vaccine, date, ages, opening time, the slot and the doses, the
    centre being active) and refuses with `session_changed` when any differs; capacity is
    judged by its conditional UPDATEs alone, never by the copy (whose counters are stale).
    On such a refusal, or any other that the copy may have caused, forget the copy
    (`session_forget`) and read the session again.
    """
    key = str(public_id)[:16]
    pack = (country.pk, country.pack_digest)
    now = time.monotonic()
    with _kept_lock:
        found = _kept.get(key)
        # The caller's country is read with its request: a new pack (new booking rules,
        # vaccines) makes every copy of the country's sessions old at once.
        if found is not None and now - found[0] < KEPT_SECONDS and found[1] == pack:
            _kept.move_to_end(key)
            # A copy per request: the kept object is shared by the process's threads.
            return copy.copy(found[2]), True
    session = _session_to_book(country, key)
    if session is not None:
        with _kept_lock:
            _kept[key] = (now, pack, copy.copy(session))
            _kept.move_to_end(key)
            while len(_kept) > KEPT_SESSIONS:
                _kept.popitem(last=False)
    return session, False


def _session_to_book(country: Country, public_id: str) -> Session | None:
    """Return session_for_booking's session with only what booking uses (no region, no places)."""
    # Written out rather than built by the ORM (three queries, as session_for_booking's):
    # building them cost more CPU than running them, and the bench's workers read sessions
    # often. The rows become models as the ORM's would (vaxnet.core.rows), the
    # doses and slots kept on the session as prefetch_related keeps them.
    ops = connection.ops
    tables: list[Table] = [(Session, "s"), (Vaccine, "v"), (Facility, "f")]
    sql = (
        f"SELECT {columns(tables)} FROM {ops.quote_name(Session._meta.db_table)} s "  # noqa: S608
        f"JOIN {ops.quote_name(Vaccine._meta.db_table)} v ON v.id = s.vaccine_id "
        f"JOIN {ops.quote_name(Facility._meta.db_table)} f ON f.id = s.facility_id "
        "WHERE s.public_id = %s AND f.country_id = %s AND f.active = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [public_id, country.pk, True])
        row = cursor.fetchone()
        if row is None:
            return None
        made = models_from_row(tables, row)
        session = cast(Session, made[0])
        session.vaccine = cast(Vaccine, made[1])
        session.facility = cast(Facility, made[2])
        # The caller's country, which the statement asked for: booking reads its rules.
        session.facility.country = country
        # Where prefetch_related keeps them: session.doses.all() and .slots.all() read these.
        session._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "doses": _children(cursor, session, SessionDose, "dose_number"),
            "slots": _children(cursor, session, Slot, "starts_at"),
        }
    return session


def _children(cursor: Any, session: Session, model: type[M], order: str) -> QuerySet[M]:
    """Return a session's doses or slots as prefetch_related keeps them (each knows its session)."""
    ops = connection.ops
    fields = model._meta.concrete_fields
    cursor.execute(
        f"SELECT {', '.join(ops.quote_name(field.column) for field in fields)} "  # noqa: S608
        f"FROM {ops.quote_name(model._meta.db_table)} WHERE session_id = %s "
        f"ORDER BY {ops.quote_name(order)}",
        [session.pk],
    )
    rows = [model_from_row(model, row) for row in cursor.fetchall()]
    cache_session = model._meta.get_field("session").set_cached_value  # type: ignore[union-attr]
    for child in rows:
        cache_session(child, session)
    found: QuerySet[M] = QuerySet(model=model)
    found._result_cache = rows
    found._prefetch_done = True  # type: ignore[attr-defined]
    return found


def session_forget(public_id: str) -> None:
    """Drop this process's kept copy of a session (its plan changed, or a copy was refused)."""
    with _kept_lock:
        _kept.pop(str(public_id)[:16], None)


# Refusals that depend on the session's plan (its status, dates, ages, doses, slots, draw),
# which a copy kept in the process may state wrongly: booking again from a fresh read is
# then the answer. The capacity refusals (dose_full, slot_full) come from the database.
PLAN_REFUSALS = frozenset(
    {
        "session_changed",
        "session_closed",
        "session_over",
        "not_released",
        "fair_window_open",
        "same_day_closed",
        "draw_pending",
        "slot_unknown",
        "dose_not_offered",
        "age_not_in_session",
    }
)


def with_kept_session(country: Country, public_id: str, book: Callable[[Session | None], T]) -> T:
    """Book on a kept copy of the session, and once more on a fresh read if the copy misled.

    `book` gets the session (None if it is not offered) and books through
    `services.appointment_book`; a refusal that the copy's plan may have caused drops the
    copy and books again on the session as it is now.
    """
    session, kept = kept_session_for_booking(country, public_id)
    try:
        return book(session)
    except DomainError as refusal:
        if not kept or refusal.code not in PLAN_REFUSALS:
            raise
    session_forget(public_id)
    session, _kept_now = kept_session_for_booking(country, public_id)
    return book(session)


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


def offers_of(account_id: int, *, limit: int = 50) -> list[WaitlistOffer]:
    """Return the waiting-list offers made to an account's members, latest first, in one query."""
    return list(
        WaitlistOffer.objects.filter(entry__beneficiary__account_id=account_id)
        .select_related(
            "entry__beneficiary", "session__facility", "session__vaccine", "slot", "appointment"
        )
        .order_by("-created_at", "-pk")[:limit]
    )


def draw_entries_of(account_id: int, *, limit: int = 50) -> list[DrawEntry]:
    """Return the draw entries of an account's members, latest first, in one query."""
    return list(
        DrawEntry.objects.filter(beneficiary__account_id=account_id)
        .select_related("beneficiary", "session__facility", "session__vaccine", "slot", "draw")
        .select_related("appointment__slot")
        .order_by("-entered_at", "-pk")[:limit]
    )
