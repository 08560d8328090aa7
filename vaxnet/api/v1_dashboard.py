"""v1 API: the public dashboard's numbers and open data (`GET /api/v1/dashboard…`).

No authentication: everything here is published. `GET /api/v1/dashboard` answers every
number for a region, a range of days and optionally one vaccine (the schema below, also in
docs/dashboard.md); `GET /api/v1/dashboard/{breakdown}.csv` and `.json` answer one
breakdown as a table. Counts below the pack's `suppress_below` are null ("" in CSV).
Answers are kept for CACHE_SECONDS, so a view is at most that much older than the tallies,
which are folded every 10 seconds: within a minute of the event.
"""

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from vaxnet.api.v1 import ERRORS, _country
from vaxnet.api.v1_auth import speak
from vaxnet.core.errors import DomainError
from vaxnet.dashboard.published import BREAKDOWNS, as_csv, published, table
from vaxnet.dashboard.queries import query_of

router = Router(tags=["dashboard"])


class DashboardQuery(Schema):
    region: str | None = None  # a region code; none: the whole country
    date: str | None = None  # the day that counts as today (YYYY-MM-DD); default today
    from_: str | None = Field(None, alias="from")  # first day (YYYY-MM-DD); default 30 back
    to: str | None = None  # last day of the range; default the day asked for
    vaccine: str | None = None  # a vaccine code of the pack
    lang: str | None = None  # the language of names (default: Accept-Language)


class Place(Schema):
    code: str
    name: str
    level: str = ""


class Count(Schema):
    count: int | None


class DayCount(Count):
    day: str


class HourCount(Count):
    hour: int


class PlaceCount(Count):
    code: str
    name: str


class Doses(Schema):
    as_of: str | None
    total: int | None  # all days up to the range's last
    in_range: int | None
    today: int | None
    by_day: list[DayCount]
    by_hour_today: list[HourCount]
    by_vaccine: list[dict[str, Any]]  # {"vaccine", "count"}
    by_dose: list[dict[str, Any]]  # {"dose", "count"}
    by_age: list[dict[str, Any]]  # {"age_band", "count"}
    by_sex: list[dict[str, Any]]  # {"sex", "count"}
    by_ownership: list[dict[str, Any]]  # {"ownership": public | private, "count"}
    by_region: list[PlaceCount]  # the region's children


class People(Schema):
    as_of: str | None
    first: int | None  # people with at least one dose, up to the range's last day
    complete: int | None  # with the primary series complete
    booster: int | None  # with a booster or precaution dose
    by_age: list[dict[str, Any]]  # {"age_band", "first", "complete", "booster"}
    by_sex: list[dict[str, Any]]


class Coverage(Schema):
    as_of: str | None
    population_year: int | None
    population: int | None
    first_pct: float | None
    complete_pct: float | None
    by_age: list[dict[str, Any]]  # {"age_band", "population", "first_pct", "complete_pct"}
    by_region: list[dict[str, Any]]  # {"code", "name", "population", "first", … "_pct"}


class Rows(Schema):
    as_of: str | None
    rows: list[dict[str, Any]]


class Aefi(Schema):
    as_of: str | None
    total: int | None
    per_100k_doses: float | None
    by_severity: list[dict[str, Any]]  # {"severity", "count", "per_100k_doses"}


class Wastage(Schema):
    as_of: str | None
    doses_used: int | None
    open_vial: int | None
    closed_vial: int | None
    open_vial_pct: float | None  # of doses in opened vials
    closed_vial_pct: float | None  # of doses used or lost


class Sessions(Schema):
    as_of: str | None
    planned: int
    ongoing: int
    completed: int
    cancelled: int
    not_closed: int  # past sessions still open


class Registrations(Schema):
    as_of: str | None
    scope: str
    in_range: int | None
    by_age: list[dict[str, Any]]
    by_sex: list[dict[str, Any]]


class Bookings(Schema):
    as_of: str | None
    booked: int | None
    cancelled: int | None


class DashboardOut(Schema):
    as_of: str | None  # when the tallies were last brought up to date (ISO 8601)
    region: Place
    parent: Place | None
    children: list[Place]
    range: dict[str, str]  # {"from", "to"}
    today: str
    vaccine: str | None
    vaccines: list[dict[str, str]]
    suppressed_below: int
    doses: Doses
    people: People
    coverage: Coverage
    dropout: Rows  # {"vaccine", "window_days", "started", "continued", "dropout_pct"}
    aefi: Aefi
    wastage: Wastage
    stock: Rows  # {"code", "name", "doses", "daily_use", "days_of_supply"}
    sessions: Sessions
    registrations: Registrations
    bookings: Bookings


def _view(request: HttpRequest, params: DashboardQuery) -> dict[str, Any]:
    speak(request)
    offered = [code for code, _name in settings.LANGUAGES]
    if params.lang in offered:
        translation.activate(params.lang)
        request.LANGUAGE_CODE = params.lang
    country = _country()
    query = query_of(
        country,
        region=params.region,
        day=params.date,
        first=params.from_,
        last=params.to,
        vaccine=params.vaccine,
    )
    return published(query)


@router.get(
    "/dashboard",
    response={200: DashboardOut, **ERRORS},
    summary="The public dashboard's numbers for a region and a range of days",
)
def dashboard_numbers(request: HttpRequest, params: Query[DashboardQuery]) -> dict[str, Any]:
    """Every number of the dashboard, each as of the time in its `as_of`."""
    return _view(request, params)


@router.get(
    "/dashboard/{breakdown}.{extension}",
    response={200: None, **ERRORS},
    summary="One breakdown of the dashboard as a table (CSV or JSON)",
)
def dashboard_table(
    request: HttpRequest, breakdown: str, extension: str, params: Query[DashboardQuery]
) -> HttpResponse:
    """One breakdown (see docs/dashboard.md for the names) as CSV or a JSON list of rows."""
    if breakdown not in BREAKDOWNS or extension not in ("csv", "json"):
        raise DomainError(
            "unknown_breakdown", _("There is no such breakdown."), field="breakdown", status=404
        )
    data = _view(request, params)
    rows = table(data, breakdown)
    span = data["range"]
    name = f"vaxnet-{breakdown}-{data['region']['code']}-{span['from']}-{span['to']}"
    if extension == "csv":
        response = HttpResponse(as_csv(rows), content_type="text/csv; charset=utf-8")
    else:
        body = json.dumps({"as_of": data["as_of"], "rows": rows}, ensure_ascii=False)
        response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{name}.{extension}"'
    response["Access-Control-Allow-Origin"] = "*"
    return response
