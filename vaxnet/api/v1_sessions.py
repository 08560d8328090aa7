"""v1 API: the public session search (`GET /api/v1/sessions`), with its filters.

As thin as vaxnet.api.v1, whose error shape, rate limits and exception handlers cover
this router too. A value that cannot be read (a date, a number, a coordinate, a code
that is not a code) answers 422; a place or rule that refuses answers 400.
docs/api.md has the rest.
"""

import json
import re
from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router

from vaxnet.api.cowin_v2_render import money
from vaxnet.api.v1 import (
    ERRORS,
    _client,
    _country,
    _hhmm,
    _rate,
)
from vaxnet.api.v1_auth import optional_account, speak
from vaxnet.api.v1_schemas import SessionsOut, SessionsQuery
from vaxnet.booking import availability
from vaxnet.booking.citizen_queries import (
    MAX_AGE,
    MAX_DOSE,
    MAX_RADIUS_KM,
    RADIUS_KM,
    bookable_for,
    histories_of,
    vaccine_rules,
)
from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.countries.models import Country
from vaxnet.geo.models import Region
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account, Beneficiary

router = Router()

# Rate limits (hits, window in seconds), as in vaxnet.api.v1: a signed-in caller is
# counted per account, so a household behind one address is not locked out.
SESSIONS_PER_CLIENT = (100, 300)
SESSIONS_PER_ACCOUNT = (100, 300)
SESSIONS_PER_CLIENT_SIGNED_IN = (2000, 300)
MAX_DAYS = 7
# A location search answers at most this many centres, nearest first.
MAX_NEAR_CENTRES = 50


def _bad(code: str, message: Any, field: str) -> DomainError:
    return DomainError(code, message, field=field)


def _day(text: str, today: Date) -> Date:
    if not text:
        return today
    try:
        day = Date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else None
    except ValueError:
        day = None
    if day is None or day > Date.max - timedelta(days=MAX_DAYS):
        raise _unreadable(
            "date_invalid", _("Enter a date as year-month-day, such as 2026-03-02."), "date"
        )
    if day < today:
        raise _bad("date_past", _("Choose today or a later day."), "date")
    return day


def _days(text: str) -> int:
    if not text:
        return MAX_DAYS
    if not re.fullmatch(r"[1-9]", text) or int(text) > MAX_DAYS:
        raise _unreadable(
            "days_invalid",
            _("Ask for 1 to {count} days.").format(count=MAX_DAYS),
            "days",
        )
    return int(text)


def _unreadable(code: str, message: Any, field: str) -> DomainError:
    # A value that cannot be read: bad input (422), as for the schema's own checks.
    return DomainError(code, message, field=field, status=422)


def _whole(text: str, low: int, high: int) -> int | None:
    return int(text) if re.fullmatch(r"[0-9]{1,3}", text) and low <= int(text) <= high else None


def _age(text: str) -> int | None:
    if not text:
        return None
    age = _whole(text, 0, MAX_AGE)
    if age is None:
        raise _unreadable(
            "age_invalid",
            _("Give an age in whole years, from 0 to {most}.").format(most=MAX_AGE),
            "age",
        )
    return age


def _dose(text: str) -> int | None:
    if not text:
        return None
    dose = _whole(text, 1, MAX_DOSE)
    if dose is None:
        raise _unreadable(
            "dose_invalid",
            _("Give a dose number from 1 to {most}.").format(most=MAX_DOSE),
            "dose",
        )
    return dose


def _degrees(text: str, limit: int, field: str) -> float:
    if re.fullmatch(r"[-+]?[0-9]{1,3}(\.[0-9]{1,12})?", text) and -limit <= float(text) <= limit:
        # About 11 metres: close points share one kept answer.
        return round(float(text), 4)
    raise _unreadable(
        "location_invalid",
        _("Give lat from -90 to 90 and long from -180 to 180, as decimal degrees."),
        field,
    )


def _point(lat: str, long: str, radius: str) -> tuple[float, float, float] | None:
    """Return a location search's point and radius in km, None without one, or refuse."""
    if not (lat or long):
        return None
    if not (lat and long):
        raise _unreadable(
            "location_invalid", _("Give both lat and long."), "long" if lat else "lat"
        )
    latitude, longitude = _degrees(lat, 90, "lat"), _degrees(long, 180, "long")
    distance = float(RADIUS_KM)
    if radius:
        if not re.fullmatch(r"[0-9]{1,2}(\.[0-9]{1,3})?", radius) or not (
            1 <= float(radius) <= MAX_RADIUS_KM
        ):
            raise _unreadable(
                "radius_invalid",
                _("Give a radius from 1 to {most} km.").format(most=MAX_RADIUS_KM),
                "radius",
            )
        distance = float(radius)
    return latitude, longitude, distance


def _place(
    country: Country, district: str, postal_code: str, point: tuple[float, float, float] | None
) -> tuple[dict[str, Any], str]:
    """Return the lookups for the centres asked for and a cache key part, or refuse."""
    if [bool(district), bool(postal_code), point is not None].count(True) != 1:
        raise _bad(
            "place_required",
            _("Give one of a district, a postal code, or a location (lat and long)."),
            "district",
        )
    if point is not None:
        return {}, "near:{}:{}:{}".format(*point)
    if postal_code:
        if len(postal_code) > 12 or not country.postal_code_valid(postal_code):
            raise _bad(
                "postal_code_invalid",
                _("This is not a valid {label}.").format(label=country.postal_code_label),
                "postal_code",
            )
        return {"postal_code": postal_code}, f"pin:{postal_code}"
    region = None
    if re.fullmatch(r"[0-9A-Za-z_-]{1,40}", district):
        region = Region.objects.filter(
            country=country, code=district, depth=availability.DISTRICT_DEPTH
        ).first()
    if region is None:
        raise _bad("district_unknown", _("Choose a district from the list."), "district")
    return {"region_path__startswith": region.path}, f"district:{region.code}"


def _member(request: HttpRequest, account: Account | None, reference: str) -> Beneficiary | None:
    """Return the caller's member a search is for, or refuse: 401 unsigned, 404 not theirs."""
    if not reference:
        return None
    if account is None:
        raise _unauthenticated_error()
    return beneficiary_for_account(account, reference)


def _unauthenticated_error() -> DomainError:
    return DomainError(
        "unauthorized", _("Sign in again: the token is missing, expired or ended."), status=401
    )


def _render_sessions(
    found: availability.Availability,
    language: str,
    fee: str,
    *,
    distances: dict[int, float] | None = None,
    doses: dict[int, int] | None = None,
) -> list[dict[str, Any]]:
    """Render centres and sessions; with `distances`, nearest first; with `doses`, only
    the sessions named there, each with the dose the member would receive."""
    centres = []
    ordered = list(found.centres)
    if distances is not None:
        rank = {pk: index for index, pk in enumerate(distances)}
        ordered.sort(key=lambda centre: rank[centre.facility.pk])
    for centre in ordered:
        sessions = [
            item
            for item in centre.sessions
            if (not fee or (fee == "free") == (item.session.fee == 0))
            and (doses is None or item.session.pk in doses)
        ]
        if not sessions:
            continue
        place = centre.place
        distance = None if distances is None else distances[centre.facility.pk]
        centres.append(
            {
                "code": centre.facility.code,
                "name": localized(centre.facility.names, language),
                "address": centre.facility.address,
                "postal_code": centre.facility.postal_code,
                "district": localized(place.district.names, language) if place.district else "",
                "state": localized(place.state.names, language) if place.state else "",
                "distance_km": None if distance is None else round(distance, 2),
                "sessions": [
                    {
                        "id": item.session.public_id,
                        "date": item.session.date.isoformat(),
                        "vaccine": item.session.vaccine.code,
                        "vaccine_name": item.session.vaccine.name,
                        "fee": money(item.session.fee),
                        "min_age": item.session.min_age_years,
                        "max_age": item.session.max_age_years,
                        "available": item.total,
                        "doses": [
                            {"number": number, "available": left}
                            for number, left in sorted(item.by_dose.items())
                        ],
                        "slots": [
                            {
                                "start": _hhmm(slot.starts_at),
                                "end": _hhmm(slot.ends_at),
                                "seats": slot.seats,
                            }
                            for slot in item.slots
                        ],
                        **({} if doses is None else {"beneficiary_dose": doses[item.session.pk]}),
                    }
                    for item in sessions
                ],
            }
        )
    return centres[:MAX_NEAR_CENTRES] if distances is not None else centres


@router.get(
    "/sessions",
    response={200: SessionsOut, **ERRORS},
    summary="Find sessions in a district, a postal code or near a point",
    tags=["Sessions"],
)
def sessions_find(request: HttpRequest, query: Query[SessionsQuery]) -> HttpResponse:
    """Planned sessions for `days` days (1–7, default 7) from `date` (default today).

    In a district, a postal code, or within `radius` km (default 10, at most 50) of `lat`
    and `long`, nearest first; `age`, `dose`, `vaccine` and `fee` narrow the sessions.
    Places count only while a session takes online bookings, as in the v2 API. Public;
    a bearer token, if sent, counts the calls against the account instead of the address,
    and `beneficiary` (one of the account's members) keeps what that member can book.
    """
    account = optional_account(request)
    language = speak(request, account)
    if account is not None:
        _rate(f"sessions:account:{account.pk}", SESSIONS_PER_ACCOUNT)
        _rate(f"sessions:signed-in-client:{_client(request)}", SESSIONS_PER_CLIENT_SIGNED_IN)
    else:
        _rate(f"sessions:client:{_client(request)}", SESSIONS_PER_CLIENT)
    country = _country()
    district, postal_code = query.district.strip(), query.postal_code.strip()
    day = _day(query.date.strip(), timezone.localdate())
    days = _days(query.days.strip())
    vaccine = query.vaccine.strip()
    if vaccine and not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z .+_-]{0,39}", vaccine):
        raise _unreadable("vaccine_invalid", _("Choose a vaccine from the list."), "vaccine")
    fee = query.fee.strip().lower()
    if fee not in ("", "free", "paid"):
        raise _unreadable("fee_invalid", _("Choose free or paid."), "fee")
    age, dose = _age(query.age.strip()), _dose(query.dose.strip())
    point = _point(query.lat.strip(), (query.long or query.lng).strip(), query.radius.strip())
    where, place_key = _place(country, district, postal_code, point)
    member = _member(request, account, query.beneficiary.strip())
    # A location search spans districts: the centres within the radius, whether or not
    # they have sessions now, name the districts whose changes make the answer stale.
    near: list[availability.Near] = []

    def scope() -> list[str]:
        if point is None:
            return availability.districts_of(where)
        near[:] = availability.centres_within(
            latitude=point[0], longitude=point[1], radius_km=point[2]
        )
        return [availability.district_code(item.region_path) for item in near]

    def found() -> availability.Availability:
        lookups = where if point is None else {"pk__in": [item.pk for item in near]}
        return availability.sessions(
            lookups, start=day, days=days, now=timezone.now(), vaccine=vaccine, age=age, dose=dose
        )

    def body(answer: availability.Availability, doses: dict[int, int] | None) -> bytes:
        distances = None if point is None else {item.pk: item.distance_km for item in near}
        return json.dumps(
            {
                "date_from": day.isoformat(),
                "date_to": (day + timedelta(days=days - 1)).isoformat(),
                "centres": _render_sessions(
                    answer, language, fee, distances=distances, doses=doses
                ),
            },
            ensure_ascii=False,
        ).encode()

    if member is not None:
        # One member's view: never kept, so that no answer crosses accounts.
        if point is not None:
            scope()
        answer = found()
        verdicts = bookable_for(
            [member],
            [item.session for centre in answer.centres for item in centre.sessions],
            histories=histories_of([member]),
            rules=vaccine_rules(country),
        )
        doses = {
            pk: entry.verdict.dose_number
            for pk, (entry,) in verdicts.items()
            if entry.verdict.bookable and entry.verdict.dose_number is not None
        }
        return HttpResponse(body(answer, doses), content_type="application/json")

    def build() -> tuple[bytes, datetime | None]:
        answer = found()
        return body(answer, None), answer.changes_at

    key = availability.cache_key(
        "v1.sessions", language, place_key, day, days, vaccine, fee, age, dose
    )
    kept = availability.cached(key, scope=scope, build=build)
    return HttpResponse(kept, content_type="application/json")
