"""What the public dashboard page shows of the published numbers: figures, tables and charts.

Every breakdown is a table (the numbers themselves, readable without JavaScript and by
screen readers); most also carry the data of a chart that the page's script draws above it.
Numbers are written the way the active language writes them; counts left out as too small
to publish (None) read "< N".
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from django.urls import get_script_prefix, reverse
from django.utils import formats, numberformat
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _

from vaxnet.people.models import Sex
from vaxnet.vaccination.models import Aefi

# The page's filters, as named in its URL (and in the API's).
FILTERS = ("region", "from", "to", "vaccine")


@dataclass(frozen=True)
class Value:
    """One number as shown: its text, whether it was left out, and a link it may carry."""

    text: str
    suppressed: bool = False
    href: str = ""

    @property
    def html(self) -> SafeString:
        """Return the number as the page shows it (written here: a page has hundreds)."""
        if self.suppressed:
            return format_html('<span class="suppressed">{}</span>', self.text)
        if self.href:
            return format_html('<a href="{}">{}</a>', self.href, self.text)
        return conditional_escape(self.text)


@dataclass
class Table:
    """A breakdown shown as a table, with the data of the chart drawn from it (if any)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Value]]
    as_of: datetime | None
    chart: dict[str, Any] | None = None
    tall: bool = False  # many rows: the table scrolls inside its own box

    @property
    def body(self) -> SafeString:
        """Return the table's rows: each a header cell, then its numbers (written here)."""
        return format_html_join(
            "\n",
            '<tr><th scope="row">{}</th>{}</tr>',
            (
                (
                    row[0].html,
                    format_html_join("", '<td class="num">{}</td>', ((v.html,) for v in row[1:])),
                )
                for row in self.rows
            ),
        )


@dataclass
class Figure:
    """One headline number, with a key naming it in the page (its element's id)."""

    key: str
    label: str
    value: Value


@dataclass
class Group:
    """Headline numbers of one section of the dashboard, all as of one time."""

    title: str
    as_of: datetime | None
    figures: list[Figure] = field(default_factory=list)
    note: str = ""


def number(value: float, decimals: int = 0) -> str:
    """Return a number written with the active language's separators, grouped by thousands."""
    point, grouping, thousands = _separators(get_language() or "")
    return numberformat.format(value, point, decimals, grouping, thousands, force_grouping=True)


@lru_cache(maxsize=64)
def _separators(language: str) -> tuple[str, Any, str]:
    """Return a language's decimal point, grouping and thousands separator."""
    return (
        str(formats.get_format("DECIMAL_SEPARATOR", language)),
        formats.get_format("NUMBER_GROUPING", language) or 3,
        str(formats.get_format("THOUSAND_SEPARATOR", language)),
    )


class Writer:
    """Writes the numbers of one view of the dashboard for the page."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.below = int(data["suppressed_below"])

    def count(self, n: int | None, href: str = "") -> Value:
        """Return a count, or "< N" where it was left out."""
        if n is None:
            return Value(_("< {below}").format(below=number(self.below)), True, href)
        return Value(number(n), href=href)

    def pct(self, rate: float | None) -> Value:
        """Return a percentage, or a dash where there is none to publish."""
        if rate is None:
            return Value("—", True)
        return Value(_("{value}%").format(value=number(rate, 1)))

    def rate(self, rate: float | None) -> Value:
        """Return a rate with two decimals, or a dash where there is none to publish."""
        if rate is None:
            return Value("—", True)
        return Value(number(rate, 2))


def as_of(stamp: str | None) -> datetime | None:
    """Return the time a section's numbers are as of (None: never counted yet)."""
    return datetime.fromisoformat(stamp) if stamp else None


def label_of(kind: str, value: Any, data: dict[str, Any]) -> str:
    """Return the words for a value of a breakdown: a vaccine's name, "Dose 2", "Female"…"""
    if value in ("", None):
        return _("Not recorded")
    if kind == "vaccine":
        names = {row["code"]: row["name"] for row in data["vaccines"]}
        return str(names.get(value, value))
    if kind == "dose":
        return pgettext("dose number", "Dose {number}").format(number=value)
    if kind == "sex":
        return str(dict(Sex.choices).get(value, value))
    if kind == "ownership":
        ownership = {
            "public": pgettext("facility ownership", "Government"),
            "private": pgettext("facility ownership", "Private"),
        }
        return ownership.get(value, str(value))
    if kind == "severity":
        return str(dict(Aefi.Severity.choices).get(value, value))
    if kind == "age_band":
        return _("{band} years").format(band=value)
    return str(value)


def page_url(region: str, asked: dict[str, str]) -> str:
    """Return the page's address for a region, keeping the other filters asked for."""
    params = {name: asked[name] for name in ("from", "to", "vaccine") if asked.get(name)}
    if region:
        params = {"region": region, **params}
    query = urlencode(params)
    return _page_path(get_script_prefix()) + (f"?{query}" if query else "")


@lru_cache(maxsize=8)
def _page_path(prefix: str) -> str:
    """Return the page's path under a script prefix (reversed once: a page has many links)."""
    return reverse("dashboard:page")


def _chart(
    kind: str,
    labels: list[str],
    series: list[tuple[str, list[Any]]],
    *,
    unit: str = "count",
    horizontal: bool = False,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "labels": labels,
        "series": [{"label": name, "data": values} for name, values in series],
        "unit": unit,
        "horizontal": horizontal,
    }


def dose_tables(data: dict[str, Any]) -> list[Table]:
    """Return the doses' breakdowns: by day, by hour today, vaccine, dose, age, sex, ownership."""
    write = Writer(data)
    doses = data["doses"]
    doses_label = _("Doses")
    tables = []
    days = [date.fromisoformat(row["day"]) for row in doses["by_day"]]
    counts = [row["count"] for row in doses["by_day"]]
    tables.append(
        Table(
            key="doses_by_day",
            title=_("Doses by day"),
            as_of=as_of(doses["as_of"]),
            columns=[_("Day"), doses_label],
            rows=[
                [Value(formats.date_format(day, "DATE_FORMAT")), write.count(n)]
                for day, n in zip(days, counts, strict=True)
            ],
            chart=_chart(
                "bar",
                [formats.date_format(day, "MONTH_DAY_FORMAT") for day in days],
                [(doses_label, counts)],
            ),
            tall=True,
        )
    )
    hours = [f"{row['hour']:02d}:00" for row in doses["by_hour_today"]]
    counts = [row["count"] for row in doses["by_hour_today"]]
    tables.append(
        Table(
            key="doses_by_hour_today",
            as_of=as_of(doses["as_of"]),
            title=_("Doses by hour today ({day})").format(
                day=formats.date_format(date.fromisoformat(data["today"]), "DATE_FORMAT")
            ),
            columns=[_("Hour"), doses_label],
            rows=[
                [Value(f"{hour}–{(h + 1) % 24:02d}:00"), write.count(n)]
                for h, (hour, n) in enumerate(zip(hours, counts, strict=True))
            ],
            chart=_chart("bar", hours, [(doses_label, counts)]),
            tall=True,
        )
    )
    for key, title, column, kind, rows_name in (
        ("doses_by_vaccine", _("Doses by vaccine"), _("Vaccine"), "vaccine", "by_vaccine"),
        (
            "doses_by_dose",
            _("Doses by dose number"),
            pgettext("dose number", "Dose"),
            "dose",
            "by_dose",
        ),
        ("doses_by_age", _("Doses by age group"), _("Age group"), "age_band", "by_age"),
        ("doses_by_sex", _("Doses by sex"), _("Sex"), "sex", "by_sex"),
        (
            "doses_by_ownership",
            _("Doses at government and private centres"),
            _("Centres"),
            "ownership",
            "by_ownership",
        ),
    ):
        rows = doses[rows_name]
        labels = [label_of(kind, row[kind], data) for row in rows]
        counts = [row["count"] for row in rows]
        tables.append(
            Table(
                key=key,
                title=title,
                as_of=as_of(doses["as_of"]),
                columns=[column, doses_label],
                rows=[
                    [Value(label), write.count(n)] for label, n in zip(labels, counts, strict=True)
                ],
                chart=_chart("bar", labels, [(doses_label, counts)], horizontal=True),
            )
        )
    return tables


def coverage_table(data: dict[str, Any]) -> Table:
    """Return the share of each age group given a first dose and the primary series."""
    write = Writer(data)
    rows = data["coverage"]["by_age"]
    labels = [label_of("age_band", row["age_band"], data) for row in rows]
    first, complete = _("At least one dose"), _("Primary series complete")
    return Table(
        key="coverage_by_age",
        title=_("Coverage by age group"),
        as_of=as_of(data["coverage"]["as_of"]),
        columns=[_("Age group"), _("Population"), first, complete],
        rows=[
            [
                Value(label),
                write.count(row["population"]) if row["population"] else Value("—", True),
                write.pct(row["first_pct"]),
                write.pct(row["complete_pct"]),
            ]
            for label, row in zip(labels, rows, strict=True)
        ],
        chart=_chart(
            "bar",
            labels,
            [
                (first, [row["first_pct"] for row in rows]),
                (complete, [row["complete_pct"] for row in rows]),
            ],
            unit="pct",
        ),
    )


def region_tables(data: dict[str, Any], asked: dict[str, str], level: str) -> list[Table]:
    """Return the doses and coverage of each region one level down, each linking to its page."""
    if not data["children"]:
        return []
    write = Writer(data)
    doses_label = _("Doses")
    rows = data["doses"]["by_region"]
    counts = [row["count"] for row in rows]
    names = [row["name"] for row in rows]
    coverage = data["coverage"]["by_region"]
    first, complete = _("At least one dose"), _("Primary series complete")
    return [
        Table(
            key="doses_by_region",
            as_of=as_of(data["doses"]["as_of"]),
            title=_("Doses by {level}").format(level=level.lower()),
            columns=[level, doses_label],
            rows=[
                [Value(row["name"], href=page_url(row["code"], asked)), write.count(row["count"])]
                for row in rows
            ],
            chart=_chart("bar", names, [(doses_label, counts)], horizontal=True),
        ),
        Table(
            key="coverage_by_region",
            as_of=as_of(data["coverage"]["as_of"]),
            title=_("People vaccinated and coverage by {level}").format(level=level.lower()),
            columns=[
                level,
                _("Population"),
                first,
                complete,
                pgettext("dose kind", "Booster"),
                _("Coverage, at least one dose"),
                _("Coverage, primary series"),
            ],
            rows=[
                [
                    Value(row["name"], href=page_url(row["code"], asked)),
                    write.count(row["population"]) if row["population"] else Value("—", True),
                    write.count(row["first"]),
                    write.count(row["complete"]),
                    write.count(row["booster"]),
                    write.pct(row["first_pct"]),
                    write.pct(row["complete_pct"]),
                ]
                for row in coverage
            ],
        ),
    ]


def other_tables(data: dict[str, Any]) -> list[Table]:
    """Return the tables without a chart: adverse events, dropout, stock."""
    write = Writer(data)
    return [
        Table(
            key="aefi_by_severity",
            as_of=as_of(data["aefi"]["as_of"]),
            title=_("Adverse events following immunisation, by severity"),
            columns=[_("Severity"), _("Reports"), _("Per 100,000 doses")],
            rows=[
                [
                    Value(label_of("severity", row["severity"], data)),
                    write.count(row["count"]),
                    write.rate(row["per_100k_doses"]),
                ]
                for row in data["aefi"]["by_severity"]
            ],
        ),
        Table(
            key="dropout",
            as_of=as_of(data["dropout"]["as_of"]),
            title=_("Dropout between dose 1 and dose 2"),
            columns=[
                _("Vaccine"),
                _("Days allowed for dose 2"),
                _("Given dose 1"),
                _("Given dose 2"),
                _("Dropout"),
            ],
            rows=[
                [
                    Value(label_of("vaccine", row["vaccine"], data)),
                    Value(number(row["window_days"])),
                    write.count(row["started"]),
                    write.count(row["continued"]),
                    write.pct(row["dropout_pct"]),
                ]
                for row in data["dropout"]["rows"]
            ],
        ),
        Table(
            key="stock_by_region",
            as_of=as_of(data["stock"]["as_of"]),
            title=_("Vaccine stock"),
            columns=[_("Region"), _("Doses in stock"), _("Doses used a day"), _("Days of supply")],
            rows=[
                [
                    Value(row["name"]),
                    Value(number(row["doses"])),
                    Value(number(row["daily_use"], 1)),
                    Value("—", True)
                    if row["days_of_supply"] is None
                    else Value(number(row["days_of_supply"], 1)),
                ]
                for row in data["stock"]["rows"]
            ],
        ),
    ]


def headline(data: dict[str, Any]) -> list[Group]:
    """Return the headline numbers, grouped by the section they come from."""
    write = Writer(data)
    doses, people, coverage = data["doses"], data["people"], data["coverage"]
    aefi, wastage, sessions = data["aefi"], data["wastage"], data["sessions"]
    span = {
        "first": formats.date_format(date.fromisoformat(data["range"]["from"]), "DATE_FORMAT"),
        "last": formats.date_format(date.fromisoformat(data["range"]["to"]), "DATE_FORMAT"),
    }
    population = coverage["population"]
    return [
        Group(
            _("Doses given"),
            as_of(doses["as_of"]),
            [
                Figure(
                    "doses-total",
                    _("All doses up to {last}").format(**span),
                    write.count(doses["total"]),
                ),
                Figure("doses-today", _("Today"), write.count(doses["today"])),
                Figure(
                    "doses-in-range",
                    _("From {first} to {last}").format(**span),
                    write.count(doses["in_range"]),
                ),
            ],
        ),
        Group(
            _("People vaccinated"),
            as_of(people["as_of"]),
            [
                Figure("people-first", _("At least one dose"), write.count(people["first"])),
                Figure(
                    "people-complete", _("Primary series complete"), write.count(people["complete"])
                ),
                Figure("people-booster", _("Booster dose"), write.count(people["booster"])),
            ],
        ),
        Group(
            _("Coverage of the population"),
            as_of(coverage["as_of"]),
            [
                Figure("coverage-first", _("At least one dose"), write.pct(coverage["first_pct"])),
                Figure(
                    "coverage-complete",
                    _("Primary series complete"),
                    write.pct(coverage["complete_pct"]),
                ),
            ],
            note=_("Of a population of {population} (census {year}).").format(
                population=number(population), year=coverage["population_year"]
            )
            if population
            else _("No population figure is known for this region."),
        ),
        Group(
            _("Safety"),
            as_of(aefi["as_of"]),
            [
                Figure("aefi-total", _("Adverse events reported"), write.count(aefi["total"])),
                Figure("aefi-rate", _("Per 100,000 doses"), write.rate(aefi["per_100k_doses"])),
            ],
        ),
        Group(
            _("Vaccine wastage"),
            as_of(wastage["as_of"]),
            [
                Figure("wastage-open", _("In opened vials"), write.pct(wastage["open_vial_pct"])),
                Figure(
                    "wastage-closed", _("In unopened vials"), write.pct(wastage["closed_vial_pct"])
                ),
            ],
        ),
        Group(
            _("Vaccination sessions"),
            as_of(sessions["as_of"]),
            [
                Figure("sessions-planned", _("Planned"), Value(number(sessions["planned"]))),
                Figure(
                    "sessions-ongoing", _("Under way today"), Value(number(sessions["ongoing"]))
                ),
                Figure("sessions-completed", _("Completed"), Value(number(sessions["completed"]))),
            ],
        ),
        Group(
            _("Registrations and bookings"),
            as_of(data["registrations"]["as_of"]),
            [
                Figure(
                    "registrations",
                    _("People registered (whole country)"),
                    write.count(data["registrations"]["in_range"]),
                ),
                Figure(
                    "bookings-booked",
                    _("Appointments booked"),
                    write.count(data["bookings"]["booked"]),
                ),
                Figure(
                    "bookings-cancelled",
                    _("Appointments cancelled"),
                    write.count(data["bookings"]["cancelled"]),
                ),
            ],
        ),
    ]


def breakdown_labels() -> dict[str, str]:
    """Return the words for each breakdown published as open data."""
    return {
        "doses_by_day": _("Doses by day"),
        "doses_by_hour_today": _("Doses by hour today"),
        "doses_by_region": _("Doses by region"),
        "doses_by_vaccine": _("Doses by vaccine"),
        "doses_by_dose": _("Doses by dose number"),
        "doses_by_age": _("Doses by age group"),
        "doses_by_sex": _("Doses by sex"),
        "doses_by_ownership": _("Doses at government and private centres"),
        "people_by_age": _("People vaccinated by age group"),
        "people_by_sex": _("People vaccinated by sex"),
        "coverage_by_age": _("Coverage by age group"),
        "coverage_by_region": _("Coverage by region"),
        "dropout": _("Dropout between dose 1 and dose 2"),
        "aefi_by_severity": _("Adverse events by severity"),
        "stock_by_region": _("Vaccine stock by region"),
        "registrations_by_age": _("Registrations by age group"),
        "registrations_by_sex": _("Registrations by sex"),
        "wastage": _("Vaccine wastage"),
        "sessions": _("Vaccination sessions"),
        "bookings": _("Appointments"),
    }


def open_data(
    names: tuple[str, ...], data: dict[str, Any], asked: dict[str, str], language: str
) -> dict[str, Any]:
    """Return the addresses of the view's numbers and of each breakdown, as CSV and JSON."""
    params = {"region": data["region"]["code"] if data["parent"] else ""}
    params.update({name: asked[name] for name in ("from", "to", "vaccine") if asked.get(name)})
    params["lang"] = language
    query = urlencode({key: value for key, value in params.items() if value})
    base = "/api/v1/dashboard"
    labels = breakdown_labels()
    return {
        "all": f"{base}?{query}",
        "docs": "/api/v1/docs",
        "breakdowns": [
            {
                "name": name,
                "label": labels.get(name, name),
                "csv": f"{base}/{name}.csv?{query}",
                "json": f"{base}/{name}.json?{query}",
            }
            for name in names
        ],
    }
