"""The CoWIN public API v2: same paths, parameters, field names and dates.

Existing CoWIN clients (vaccine-slot finders, alert bots, apps) work unchanged against
/api/v2/. This module holds the public reads: count the rate, parse the parameters as CoWIN
did, then answer from the cached availability reads in `vaxnet.booking.availability`. The
sign-in and appointment calls are in `cowin_v2_auth`. docs/api.md maps every field.
"""

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import date as Date
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from vaxnet.api import cowin_v2_render as render
from vaxnet.api.cowin_v2_auth import public_rate, refusal_response, refused_rate, router
from vaxnet.api.cowin_v2_schemas import (
    CalendarByCenterOut,
    CalendarOut,
    CowinErrorOut,
    DistrictsOut,
    NearbyCentresOut,
    SessionsOut,
    StatesOut,
)
from vaxnet.api.v1_auth import speak
from vaxnet.booking import availability
from vaxnet.core.errors import DomainError
from vaxnet.core.ratelimit import Held, held
from vaxnet.countries.queries import active_country
from vaxnet.geo.models import Region

CALENDAR_DAYS = 7
# Regions change only when a country pack is loaded; centres rarely move.
LOCATION_CACHE_SECONDS = 600
NEARBY_CACHE_SECONDS = 300
NEARBY_RADIUS_KM = 50
NEARBY_LIMIT = 20

cowin_v2_api = NinjaAPI(
    title="vaxnet — CoWIN Public API v2 compatible",
    version="2",
    description="CoWIN's public API v2, served from vaxnet's data: the public availability "
    "reads, the OTP sign-in and the appointment calls. See docs/api.md for the mapping of "
    "each field and what differs.",
    urls_namespace="cowin_v2",
    # Served offline: "ninja" is an installed app, so the page's scripts come from our
    # own static files, never a CDN. The document itself is at /api/v2/openapi.json.
    docs_url="/docs",
)


class CowinError(Exception):
    """A refusal in CoWIN's shape: HTTP 400 with an errorCode and a message.

    The messages are CoWIN's English texts and are not translated: clients compare
    them (some compare the whole error object), whatever language they ask for.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code = code
        self.message = message


def _missing() -> CowinError:
    return CowinError("USRRES0001", "Input parameter missing")


def _invalid_date() -> CowinError:
    return CowinError("APPOIN0044", "Please enter valid date")


def _invalid_pincode() -> CowinError:
    return CowinError("APPOIN0018", "Invalid Pincode")


def _invalid_state() -> CowinError:
    return CowinError("USRRES0010", "Invalid state_id")


def _invalid_district() -> CowinError:
    return CowinError("USRRES0011", "Invalid district_id")


def _invalid_center() -> CowinError:
    return CowinError("USRRES0012", "Invalid center_id")


def _invalid_location() -> CowinError:
    return CowinError("USRRES0013", "Invalid lat or long")


def _invalid_vaccine() -> CowinError:
    return CowinError("USRRES0014", "Invalid vaccine")


def _language(request: HttpRequest) -> str:
    """Return the pack language the Accept-Language header prefers, else the first one.

    CoWIN clients send tags like "hi_IN", which Django's own parser does not accept.
    Only the header counts (not the site's language cookie), so that the cache key
    is all in the request.
    """
    offered = tuple(code for code, _name in settings.LANGUAGES)
    header = request.META.get("HTTP_ACCEPT_LANGUAGE", "")[:200]
    return _preferred(header, offered, settings.LANGUAGE_CODE)


@functools.lru_cache(maxsize=256)
def _preferred(header: str, offered: tuple[str, ...], default: str) -> str:
    # Clients send a handful of distinct headers: each is parsed once per process.
    wanted = []
    for index, part in enumerate(header.split(",")):
        tag, _sep, params = part.partition(";")
        tag = tag.strip().replace("_", "-").lower()
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and tag != "*" and weight > 0:
            wanted.append((-weight, index, tag))
    for _weight, _index, tag in sorted(wanted):
        for code in (tag, tag.split("-")[0]):
            if code in offered:
                return code
    return default


@cowin_v2_api.exception_handler(CowinError)
def _refuse(request: HttpRequest, exc: CowinError) -> HttpResponse:
    return _json(_encode({"errorCode": exc.code, "error": exc.message}), status=400)


@cowin_v2_api.exception_handler(ValidationError)
def _refuse_missing(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    # Query parameters are all text, so the only way to fail ninja's checks is to leave one
    # out; a body that does not fit its schema is answered the same way.
    try:
        refused_rate(request)
    except DomainError as error:
        return refusal_response(error)
    return _refuse(request, _missing())


@cowin_v2_api.exception_handler(DomainError)
def _refuse_domain(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return refusal_response(exc)


@cowin_v2_api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    speak(request)
    response = refusal_response(
        DomainError(
            "unauthorized", _("Sign in again: the token is missing, expired or ended."), status=401
        )
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@cowin_v2_api.exception_handler(HttpError)
def _unreadable(request: HttpRequest, exc: HttpError) -> HttpResponse:
    speak(request)
    if exc.status_code == 400:  # ninja could not read the body
        error = DomainError("invalid_input", _("The request body is not valid JSON."))
    else:  # pragma: no cover - ninja raises no other HttpError for these endpoints
        error = DomainError(f"http_{exc.status_code}", str(exc), status=exc.status_code)
    return refusal_response(error)


def _encode(data: object) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def _json(body: bytes, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="application/json")


# Parameters, parsed as strictly as CoWIN documented them.


def _required(*values: str) -> list[str]:
    present = [value.strip() for value in values]
    if not all(present):
        raise _missing()
    return present


def _date(text: str) -> Date:
    """Return a DD-MM-YYYY date (D-M-YYYY too), or refuse it."""
    match = re.fullmatch(r"([0-9]{1,2})-([0-9]{1,2})-([0-9]{4})", text)
    if match is None:
        raise _invalid_date()
    day, month, year = (int(part) for part in match.groups())
    try:
        parsed = Date(year, month, day)
    except ValueError:
        raise _invalid_date() from None
    if parsed > Date.max - timedelta(days=CALENDAR_DAYS):
        raise _invalid_date()
    return parsed


def _identifier(text: str, invalid: CowinError, maximum: int = 2**31 - 1) -> int:
    """Return a positive whole number that fits the database, or refuse it."""
    if not re.fullmatch(r"[0-9]{1,19}", text) or not 1 <= int(text) <= maximum:
        raise invalid
    return int(text)


def _pincode(text: str) -> str:
    # A cheap check of the shape; the country's own pattern is checked before any query.
    if not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z -]{0,11}", text):
        raise _invalid_pincode()
    return text


def _check_pincode(code: str) -> None:
    country = active_country()
    if country is None or not country.postal_code_valid(code):
        raise _invalid_pincode()


def _vaccine(text: str | None) -> str:
    text = (text or "").strip()
    if text and not re.fullmatch(r"[0-9A-Za-z][0-9A-Za-z .+_-]{0,39}", text):
        raise _invalid_vaccine()
    return text


def _coordinate(text: str, limit: int) -> float:
    if not re.fullmatch(r"[-+]?[0-9]{1,3}(\.[0-9]{1,12})?", text):
        raise _invalid_location()
    value = float(text)
    if not -limit <= value <= limit:
        raise _invalid_location()
    # About 11 metres: close points share one cached answer.
    return round(value, 4)


def _nothing() -> tuple[str, ...]:
    return ()


@contextmanager
def _public_read(request: HttpRequest) -> Iterator[Held]:
    """Count the caller's public read, held to go to Redis with the kept answer's versions."""
    with held() as rates:
        public_rate(request)
        yield rates


def _kept(
    rates: Held,
    key: str,
    *,
    build: Callable[[], tuple[bytes, datetime | None]],
    scope: Callable[[], Iterable[str]] = _nothing,
    seconds: int = availability.CACHE_SECONDS,
) -> HttpResponse:
    """Answer the kept answer while its districts are unchanged, else build and keep it."""
    return _json(availability.cached(key, scope=scope, build=build, seconds=seconds, rates=rates))


# Locations


@cowin_v2_api.get(
    "/admin/location/states",
    response={200: StatesOut},
    summary="List the states",
    tags=["Location"],
    by_alias=True,
)
def states(request: HttpRequest) -> HttpResponse:
    """Every state (first-level region) of the country, by state_id."""
    with _public_read(request) as rates:
        language = _language(request)

        def build() -> tuple[bytes, None]:
            return _encode(render.states(availability.states(), language)), None

        key = availability.cache_key("states", language)
        return _kept(rates, key, build=build, seconds=LOCATION_CACHE_SECONDS)


@cowin_v2_api.get(
    "/admin/location/districts/{state_id}",
    response={200: DistrictsOut, 400: CowinErrorOut},
    summary="List the districts of a state",
    tags=["Location"],
    by_alias=True,
)
def districts(request: HttpRequest, state_id: str) -> HttpResponse:
    """The districts (second-level regions) of one state, by district_id."""
    with _public_read(request) as rates:
        language = _language(request)
        number = _identifier(state_id.strip(), _invalid_state())

        def build() -> tuple[bytes, None]:
            region = availability.state(number)
            if region is None:
                raise _invalid_state()
            return _encode(render.districts(availability.districts(region), language)), None

        key = availability.cache_key("districts", language, number)
        return _kept(rates, key, build=build, seconds=LOCATION_CACHE_SECONDS)


# Sessions on one day


def _sessions_answer(
    where: dict[str, Any], day: Date, language: str, *, days: int = 1, vaccine: str = ""
) -> tuple[bytes, datetime | None]:
    found = availability.sessions(where, start=day, days=days, now=timezone.now(), vaccine=vaccine)
    if days == 1:
        body: dict[str, Any] = {"sessions": render.flat_sessions(found.centres, language)}
    else:
        body = {"centers": [render.calendar_centre(c, language) for c in found.centres]}
    return _encode(body), found.changes_at


@cowin_v2_api.get(
    "/appointment/sessions/public/findByPin",
    response={200: SessionsOut, 400: CowinErrorOut},
    summary="Sessions on a day at the centres with a postal code",
    tags=["Appointment"],
    by_alias=True,
)
def find_by_pin(request: HttpRequest, pincode: str, date: str) -> HttpResponse:
    """Every planned session on the date at the centres with this PIN code."""
    with _public_read(request) as rates:
        language = _language(request)
        pin, day_text = _required(pincode, date)
        code, day = _pincode(pin), _date(day_text)
        where = {"postal_code": code}

        def scope() -> list[str]:
            _check_pincode(code)
            return availability.districts_of(where)

        key = availability.cache_key("findByPin", language, code, day)
        return _kept(rates, key, scope=scope, build=lambda: _sessions_answer(where, day, language))


def _district_scope(number: int, where: dict[str, Any]) -> list[str]:
    """Look the district up, refusing an unknown one, and filter on its path."""
    region: Region | None = availability.district(number)
    if region is None:
        raise _invalid_district()
    where["region_path__startswith"] = region.path
    return [region.code]


@cowin_v2_api.get(
    "/appointment/sessions/public/findByDistrict",
    response={200: SessionsOut, 400: CowinErrorOut},
    summary="Sessions on a day in a district",
    tags=["Appointment"],
    by_alias=True,
)
def find_by_district(request: HttpRequest, district_id: str, date: str) -> HttpResponse:
    """Every planned session on the date at the centres of the district."""
    with _public_read(request) as rates:
        language = _language(request)
        district_text, day_text = _required(district_id, date)
        number, day = _identifier(district_text, _invalid_district()), _date(day_text)
        # Filled in by the scope, which always runs before the answer is built.
        where: dict[str, Any] = {}

        key = availability.cache_key("findByDistrict", language, number, day)
        return _kept(
            rates,
            key,
            scope=lambda: _district_scope(number, where),
            build=lambda: _sessions_answer(where, day, language),
        )


# Seven-day calendars


@cowin_v2_api.get(
    "/appointment/sessions/public/calendarByPin",
    response={200: CalendarOut, 400: CowinErrorOut},
    summary="Seven days of sessions at the centres with a postal code",
    tags=["Appointment"],
    by_alias=True,
)
def calendar_by_pin(
    request: HttpRequest,
    pincode: str,
    date: str,
    vaccine: str | None = None,
) -> HttpResponse:
    """The centres with this PIN code that have sessions in the 7 days from the date."""
    with _public_read(request) as rates:
        language = _language(request)
        pin, day_text = _required(pincode, date)
        code, day, product = _pincode(pin), _date(day_text), _vaccine(vaccine)
        where = {"postal_code": code}

        def scope() -> list[str]:
            _check_pincode(code)
            return availability.districts_of(where)

        key = availability.cache_key("calendarByPin", language, code, day, product)
        return _kept(
            rates,
            key,
            scope=scope,
            build=lambda: _sessions_answer(
                where, day, language, days=CALENDAR_DAYS, vaccine=product
            ),
        )


@cowin_v2_api.get(
    "/appointment/sessions/public/calendarByDistrict",
    response={200: CalendarOut, 400: CowinErrorOut},
    summary="Seven days of sessions in a district",
    tags=["Appointment"],
    by_alias=True,
)
def calendar_by_district(
    request: HttpRequest,
    district_id: str,
    date: str,
    vaccine: str | None = None,
) -> HttpResponse:
    """The centres of the district that have sessions in the 7 days from the date."""
    with _public_read(request) as rates:
        language = _language(request)
        district_text, day_text = _required(district_id, date)
        number, day = _identifier(district_text, _invalid_district()), _date(day_text)
        product = _vaccine(vaccine)
        where: dict[str, Any] = {}

        key = availability.cache_key("calendarByDistrict", language, number, day, product)
        return _kept(
            rates,
            key,
            scope=lambda: _district_scope(number, where),
            build=lambda: _sessions_answer(
                where, day, language, days=CALENDAR_DAYS, vaccine=product
            ),
        )


@cowin_v2_api.get(
    "/appointment/sessions/public/calendarByCenter",
    response={200: CalendarByCenterOut, 400: CowinErrorOut},
    summary="Seven days of sessions at one centre",
    tags=["Appointment"],
    by_alias=True,
)
def calendar_by_center(
    request: HttpRequest,
    center_id: str,
    date: str,
    vaccine: str | None = None,
) -> HttpResponse:
    """One centre and its sessions in the 7 days from the date (a single object)."""
    with _public_read(request) as rates:
        language = _language(request)
        center_text, day_text = _required(center_id, date)
        pk = _identifier(center_text, _invalid_center(), maximum=2**63 - 1)
        day, product = _date(day_text), _vaccine(vaccine)
        where = {"pk": pk}

        def scope() -> list[str]:
            facility = availability.centre(pk)
            if facility is None:
                raise _invalid_center()
            return [availability.district_code(facility.region_path)]

        def build() -> tuple[bytes, datetime | None]:
            found = availability.sessions(
                where, start=day, days=CALENDAR_DAYS, now=timezone.now(), vaccine=product
            )
            if found.centres:
                centre = render.calendar_centre(found.centres[0], language)
            else:
                facility = availability.centre(pk)
                if facility is None:
                    raise _invalid_center()
                place = availability.places([facility])[facility.pk]
                centre = render.empty_calendar_centre(facility, place, language)
            return _encode({"centers": centre}), found.changes_at

        key = availability.cache_key("calendarByCenter", language, pk, day, product)
        return _kept(rates, key, scope=scope, build=build)


# Centres near a point


@cowin_v2_api.get(
    "/appointment/centers/public/findByLatLong",
    response={200: NearbyCentresOut, 400: CowinErrorOut},
    summary="The nearest centres to a point",
    tags=["Appointment"],
    by_alias=True,
)
def find_by_lat_long(request: HttpRequest, lat: str, long: str) -> HttpResponse:
    """The nearest active centres within 50 km of the point (at most 20), nearest first."""
    with _public_read(request) as rates:
        language = _language(request)
        lat_text, long_text = _required(lat, long)
        latitude, longitude = _coordinate(lat_text, 90), _coordinate(long_text, 180)

        def build() -> tuple[bytes, None]:
            near = availability.centres_near(
                latitude=latitude,
                longitude=longitude,
                radius_km=NEARBY_RADIUS_KM,
                limit=NEARBY_LIMIT,
            )
            centres = [render.nearby_centre(centre, language) for centre in near]
            return _encode({"centers": centres, "ttl": render.TTL_HOURS}), None

        key = availability.cache_key("findByLatLong", language, latitude, longitude)
        return _kept(rates, key, build=build, seconds=NEARBY_CACHE_SECONDS)


# The signed-in calls: OTP sign-in, beneficiaries, booking (vaxnet.api.cowin_v2_auth).
cowin_v2_api.add_router("", router)


# The hottest reads, routed ahead of every other URL (vaxnet/urls.py)


# Each handler with the query parameters it needs and those it may take.
_HOT_READS: dict[str, tuple[Callable[..., HttpResponse], tuple[str, ...], tuple[str, ...]]] = {
    "admin/location/states": (states, (), ()),
    "appointment/sessions/public/findByPin": (find_by_pin, ("pincode", "date"), ()),
    "appointment/sessions/public/findByDistrict": (
        find_by_district,
        ("district_id", "date"),
        (),
    ),
    "appointment/sessions/public/calendarByPin": (
        calendar_by_pin,
        ("pincode", "date"),
        ("vaccine",),
    ),
    "appointment/sessions/public/calendarByDistrict": (
        calendar_by_district,
        ("district_id", "date"),
        ("vaccine",),
    ),
    "appointment/sessions/public/calendarByCenter": (
        calendar_by_center,
        ("center_id", "date"),
        ("vaccine",),
    ),
    "appointment/centers/public/findByLatLong": (find_by_lat_long, ("lat", "long"), ()),
}


def hot_reads(prefix: str, api_urls: Iterable[Any]) -> list[URLPattern]:
    """Return routes for the public reads that call their handlers directly.

    These handlers take every parameter as text and check it themselves (CoWIN's errors),
    so the API framework's work per request (a parameter model, its validation, the
    operation's checks) adds nothing but CPU, at the rate availability is asked for. A
    GET with the parameters a handler needs goes to it, its refusals answered by the
    API's own exception handlers; any other request (another method, a parameter
    missing) goes to the framework's view for the path (`api_urls`, the API's routes),
    so it is answered exactly as before. Routed first, they are also found first.
    """
    framework = {str(url.pattern): url.callback for url in api_urls if isinstance(url, URLPattern)}
    routes = []
    for route, (handler, needed, optional) in _HOT_READS.items():
        view = _hot_view(handler, needed, optional, framework[route])
        routes.append(path(prefix + route, view))
    return routes


def _hot_view(
    handler: Callable[..., HttpResponse],
    needed: tuple[str, ...],
    optional: tuple[str, ...],
    otherwise: Callable[[HttpRequest], Any],
) -> Callable[[HttpRequest], Any]:
    names = needed + optional

    def view(request: HttpRequest) -> Any:
        query = request.GET
        if request.method != "GET" or not all(name in query for name in needed):
            return otherwise(request)
        try:
            return handler(request, **{name: query[name] for name in names if name in query})
        except Exception as error:  # as the framework does: its exception handlers decide
            return cowin_v2_api.on_exception(request, error)

    # As the framework's views: a POST here is refused by the API (405), not by CSRF.
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view
