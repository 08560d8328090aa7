"""Schemas of the dashboard's API (vaxnet.api.v1_dashboard): its query and its answer."""

from typing import Any

from ninja import Field, Schema


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
