"""The dashboard's numbers for one region, a range of days and optionally one vaccine.

Everything is read from the tallies (`dashboard.models.Tally`): a few grouped reads of one
region's rows (and its children's, for the drill-down), whatever the number of records
behind them. Counts from 1 to below the pack's `suppress_below` are left out (None) wherever
they are published, and so are rates made from them, so that no one can be singled out.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.countries.models import Country
from vaxnet.dashboard.facts import age_bands
from vaxnet.dashboard.models import Tally, TallyState
from vaxnet.geo.models import Population, Region
from vaxnet.vaccines.durations import parse_duration
from vaxnet.vaccines.models import Vaccine, VaccineDose

# The longest range of days one request may ask for.
MAX_DAYS = 3 * 366
# The days the default range covers, ending on the day asked for.
DEFAULT_DAYS = 30
# Days of use a stock's days of supply are reckoned from.
USE_DAYS = 28
# Dropout: a dose 2 counts as missed once the longest interval after dose 1 has passed;
# without one in the schedule, this long after the shortest one.
DROPOUT_GRACE = timedelta(days=28)
DOSE_DIMS = ("dose", "age", "sex", "ownership")


@dataclass(frozen=True)
class Query:
    """What a dashboard view shows: a region, a range of days, today, maybe one vaccine."""

    country: Country
    region: Region
    first: date
    last: date
    today: date
    vaccine: Vaccine | None


def _bad(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, field=field, status=400)


def _day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise _bad(
            "invalid_date", _("Give dates as YYYY-MM-DD, for example 2026-11-28."), field
        ) from None


def query_of(
    country: Country,
    *,
    region: str | None = None,
    day: str | None = None,
    first: str | None = None,
    last: str | None = None,
    vaccine: str | None = None,
) -> Query:
    """Return the checked query of the dashboard's parameters, or refuse them (400)."""
    code = (region or "").strip()[:40]
    if code:
        found = Region.objects.filter(country=country, code=code).first()
        if found is None:
            raise _bad("unknown_region", _("There is no region with this code."), "region")
    else:
        found = Region.objects.filter(country=country, depth=0).first()
        if found is None:  # pragma: no cover - a loaded pack always has its root
            raise _bad("unknown_region", _("There is no region with this code."), "region")
    today = _day(day, "date") or timezone.localdate()
    end = _day(last, "to") or today
    start = _day(first, "from") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise _bad("invalid_range", _("The first day comes after the last."), "from")
    if (end - start).days >= MAX_DAYS:
        raise _bad(
            "range_too_long",
            _("Ask for at most {count} days at a time.").format(count=MAX_DAYS),
            "from",
        )
    chosen = None
    if vaccine:
        chosen = Vaccine.objects.filter(country=country, code=vaccine.strip()[:40]).first()
        if chosen is None:
            raise _bad("unknown_vaccine", _("There is no vaccine with this code."), "vaccine")
    return Query(country=country, region=found, first=start, last=end, today=today, vaccine=chosen)


# Reading the tallies.


def _tallies(query: Query, metric: str | Iterable[str], regions: Iterable[int]) -> QuerySet[Tally]:
    metrics = [metric] if isinstance(metric, str) else list(metric)
    rows = Tally.objects.filter(metric__in=metrics, region_id__in=list(regions)).order_by()
    if query.vaccine is not None:
        rows = rows.filter(vaccine=query.vaccine.code)
    return rows


def _sums(rows: QuerySet[Tally], *fields: str) -> list[tuple[Any, ...]]:
    return [
        (*values, total)
        for *values, total in rows.values_list(*fields)
        .annotate(n=Sum("count"))
        .values_list(*fields, "n")
    ]


class Suppress:
    """Leaves out counts from 1 to below the pack's threshold, and what is made of them."""

    def __init__(self, below: int) -> None:
        self.below = below

    def count(self, n: int | None) -> int | None:
        if n is None or 0 < n < self.below:
            return None
        return n

    def rate(self, part: int | None, whole: int | None, scale: float = 100.0) -> float | None:
        if part is None or not whole or self.count(part) is None or self.count(whole) is None:
            return None
        return round(part * scale / whole, 2)


def as_of() -> datetime | None:
    """Return when the tallies were last brought up to date."""
    return TallyState.objects.filter(pk=1).values_list("folded_at", flat=True).first()


def dashboard(query: Query) -> dict[str, Any]:
    """Return every number of the dashboard for the query, ready to be published."""
    country, region = query.country, query.region
    hide = Suppress(int(country.setting("population", "suppress_below", 10) or 0))
    children = list(
        Region.objects.filter(parent=region).order_by("number").values_list("pk", "code", "names")
    )
    child_ids = [pk for pk, _code, _names in children]
    time = as_of()
    stamp = time.isoformat() if time else None
    people, counted = _people(query, child_ids, hide)
    doses, given = _doses(query, children, hide)
    return {
        "as_of": stamp,
        "region": _region(region),
        "parent": _region(region.parent) if region.parent_id else None,
        "children": [
            {"code": code, "name": localized(names) or code} for _pk, code, names in children
        ],
        "range": {"from": query.first.isoformat(), "to": query.last.isoformat()},
        "today": query.today.isoformat(),
        "vaccine": query.vaccine.code if query.vaccine else None,
        "vaccines": vaccines_offered(country),
        "suppressed_below": hide.below,
        "doses": {"as_of": stamp, **doses},
        "people": {"as_of": stamp, **people},
        "coverage": {"as_of": stamp, **_coverage(query, children, counted, hide)},
        "dropout": {"as_of": stamp, "rows": _dropout(query, hide)},
        "aefi": {"as_of": stamp, **_aefi(query, given, hide)},
        "wastage": {"as_of": stamp, **_wastage(query, hide)},
        "stock": {"as_of": stamp, "rows": _stock(query, children, hide)},
        "sessions": {"as_of": stamp, **_sessions(query, hide)},
        "registrations": {"as_of": stamp, **_registrations(query, hide)},
        "bookings": {"as_of": stamp, **_bookings(query, hide)},
    }


def vaccines_offered(country: Country) -> list[dict[str, str]]:
    """Return the country's vaccines in use, to filter the dashboard by: code and name."""
    return [
        {"code": code, "name": name}
        for code, name in Vaccine.objects.filter(country=country, active=True)
        .order_by("code")
        .values_list("code", "name")
    ]


def _region(region: Region | None) -> dict[str, Any] | None:
    if region is None:
        return None
    return {
        "code": region.code,
        "name": localized(region.names) or region.code,
        "level": region.country.level_name(region.level),
    }


def _doses(
    query: Query, children: list[tuple[int, str, dict[str, str]]], hide: Suppress
) -> tuple[dict[str, Any], int]:
    """Return the doses' numbers, and how many were given in the range (for rates)."""
    here = _tallies(query, "doses", [query.region.pk])
    in_range = here.filter(day__range=(query.first, query.last))
    totals = dict(_sums(here.filter(dim="", day__lte=query.last), "day"))
    by_day = {day: n for day, n in totals.items() if query.first <= day <= query.last}
    breakdowns: dict[str, dict[str, int]] = {dim: defaultdict(int) for dim in DOSE_DIMS}
    by_vaccine: dict[str, int] = defaultdict(int)
    for dim, value, vaccine, n in _sums(
        in_range.filter(dim__in=("", *DOSE_DIMS)), "dim", "value", "vaccine"
    ):
        if dim:
            breakdowns[dim][value] += n
        else:
            by_vaccine[vaccine] += n
    hours = dict(_sums(here.filter(dim="hour", day=query.today), "value"))
    by_child = dict(
        _sums(
            _tallies(query, "doses", [pk for pk, _code, _names in children]).filter(
                dim="", day__range=(query.first, query.last)
            ),
            "region",
        )
    )
    public = {
        "total": hide.count(sum(totals.values())),
        "in_range": hide.count(sum(by_day.values())),
        "today": hide.count(totals.get(query.today, 0)),
        "by_day": [
            {
                "day": (query.first + timedelta(days=i)).isoformat(),
                "count": hide.count(by_day.get(query.first + timedelta(days=i), 0)),
            }
            for i in range((query.last - query.first).days + 1)
        ],
        "by_hour_today": [
            {"hour": h, "count": hide.count(hours.get(f"{h:02d}", 0))} for h in range(24)
        ],
        "by_vaccine": _rows("vaccine", by_vaccine, hide),
        "by_dose": _rows("dose", breakdowns["dose"], hide, key=lambda v: int(v)),
        "by_age": _rows("age_band", breakdowns["age"], hide, order=_band_order(query.country)),
        "by_sex": _rows("sex", breakdowns["sex"], hide),
        "by_ownership": _rows("ownership", breakdowns["ownership"], hide),
        "by_region": [
            {
                "code": code,
                "name": localized(names) or code,
                "count": hide.count(by_child.get(pk, 0)),
            }
            for pk, code, names in children
        ],
    }
    return public, sum(by_day.values())


def _rows(
    name: str,
    counts: dict[str, int],
    hide: Suppress,
    *,
    key: Any = None,
    order: list[str] | None = None,
) -> list[dict[str, Any]]:
    if order is not None:
        values = [v for v in order if v in counts] + sorted(v for v in counts if v not in order)
    else:
        values = sorted(counts, key=key)
    return [{name: value, "count": hide.count(counts[value])} for value in values]


def _band_order(country: Country) -> list[str]:
    return [label for label, _low, _high in age_bands(country)]


@dataclass(frozen=True)
class Counted:
    """People counted, before suppression: what coverage is worked out from."""

    totals: dict[str, int]
    by_age: dict[str, dict[str, int]]
    by_child: dict[int, dict[str, int]]


def _people(query: Query, child_ids: list[int], hide: Suppress) -> tuple[dict[str, Any], Counted]:
    """Return the numbers of people given a first dose, the primary series, a booster."""
    metrics = ("first", "complete", "booster")
    here = _tallies(query, metrics, [query.region.pk]).filter(day__lte=query.last)
    totals: dict[str, int] = defaultdict(int)
    by: dict[str, dict[str, dict[str, int]]] = {
        dim: {m: defaultdict(int) for m in metrics} for dim in ("age", "sex")
    }
    for metric, dim, value, n in _sums(here, "metric", "dim", "value"):
        if dim:
            by[dim][metric][value] += n
        else:
            totals[metric] += n
    children: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for region, metric, n in _sums(
        _tallies(query, metrics, child_ids).filter(dim="", day__lte=query.last),
        "region",
        "metric",
    ):
        children[region][metric] += n
    bands = _band_order(query.country)
    public = {
        **{metric: hide.count(totals[metric]) for metric in metrics},
        "by_age": [
            {"age_band": band, **{m: hide.count(by["age"][m].get(band, 0)) for m in metrics}}
            for band in bands
        ],
        "by_sex": [
            {"sex": sex, **{m: hide.count(by["sex"][m].get(sex, 0)) for m in metrics}}
            for sex in sorted({s for m in metrics for s in by["sex"][m]})
        ],
    }
    return public, Counted(
        totals=dict(totals),
        by_age={band: {m: by["age"][m].get(band, 0) for m in metrics} for band in bands},
        by_child={region: dict(counts) for region, counts in children.items()},
    )


@cache
def _population_of(country_id: int, digest: str) -> dict[int, dict[str, int]]:
    """Return each region's population by age band, its own and every region's below it."""
    rows = Population.objects.filter(region__country_id=country_id).values_list(
        "region__path", "age_band", "count"
    )
    codes = dict(Region.objects.filter(country_id=country_id).values_list("code", "pk"))
    found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path, band, count in rows:
        for code in path.strip("/").split("/"):
            if code in codes:
                found[codes[code]][band] += count
    return {region: dict(bands) for region, bands in found.items()}


def population(country: Country) -> dict[int, dict[str, int]]:
    """Return the pack's population of each region by age band (read once per pack)."""
    return _population_of(country.pk, country.pack_digest)


def _coverage(
    query: Query,
    children: list[tuple[int, str, dict[str, str]]],
    counted: Counted,
    hide: Suppress,
) -> dict[str, Any]:
    """Return the share of the pack's population given a first dose and the primary series."""
    living = population(query.country)
    mine = living.get(query.region.pk, {})
    whole = sum(mine.values())
    totals, by_age, by_child = counted.totals, counted.by_age, counted.by_child
    return {
        "population_year": query.country.setting("population", "year"),
        "population": whole or None,
        "first_pct": hide.rate(totals.get("first", 0), whole),
        "complete_pct": hide.rate(totals.get("complete", 0), whole),
        "by_age": [
            {
                "age_band": band,
                "population": mine.get(band) or None,
                "first_pct": hide.rate(counts["first"], mine.get(band, 0)),
                "complete_pct": hide.rate(counts["complete"], mine.get(band, 0)),
            }
            for band, counts in by_age.items()
        ],
        "by_region": [
            {
                "code": code,
                "name": localized(names) or code,
                "population": sum(living.get(pk, {}).values()) or None,
                "first": hide.count(by_child.get(pk, {}).get("first", 0)),
                "complete": hide.count(by_child.get(pk, {}).get("complete", 0)),
                "booster": hide.count(by_child.get(pk, {}).get("booster", 0)),
                "first_pct": hide.rate(
                    by_child.get(pk, {}).get("first", 0), sum(living.get(pk, {}).values())
                ),
                "complete_pct": hide.rate(
                    by_child.get(pk, {}).get("complete", 0), sum(living.get(pk, {}).values())
                ),
            }
            for pk, code, names in children
        ],
    }


def _dropout(query: Query, hide: Suppress) -> list[dict[str, Any]]:
    """Return, per vaccine, the share of people whose dose 2 is overdue among those given dose 1.

    Counted among people whose dose 1 was given long enough before the last day for dose 2
    to be due (the schedule's longest interval, or the shortest plus DROPOUT_GRACE).
    """
    windows = _windows(query.country)
    rows = _sums(
        _tallies(query, ("started", "continued"), [query.region.pk]).filter(day__lte=query.last),
        "metric",
        "vaccine",
        "day",
    )
    started: dict[str, int] = defaultdict(int)
    continued: dict[str, int] = defaultdict(int)
    for metric, vaccine, day, n in rows:
        window = windows.get(vaccine)
        if window is None or day > query.last - window:
            continue
        (started if metric == "started" else continued)[vaccine] += n
    return [
        {
            "vaccine": vaccine,
            "window_days": windows[vaccine].days,
            "started": hide.count(started[vaccine]),
            "continued": hide.count(continued[vaccine]),
            "dropout_pct": hide.rate(started[vaccine] - continued[vaccine], started[vaccine]),
        }
        for vaccine in sorted(started)
    ]


def _interval(text: str) -> timedelta | None:
    """Return an interval as the pack writes it ("112d", "12w") in days, or None."""
    try:
        duration = parse_duration(text or "")
    except ValueError:
        return None
    start = date(2001, 1, 1)
    return duration.after(start) - start


def _windows(country: Country) -> dict[str, timedelta]:
    windows = {}
    for code, longest, shortest in VaccineDose.objects.filter(
        vaccine__country=country, number=2, kind=VaccineDose.Kind.PRIMARY
    ).values_list("vaccine__code", "max_interval", "min_interval"):
        most, least = _interval(longest), _interval(shortest)
        if most is not None:
            windows[code] = most
        elif least is not None:
            windows[code] = least + DROPOUT_GRACE
    return windows


def _aefi(query: Query, given: int, hide: Suppress) -> dict[str, Any]:
    rows = _tallies(query, "aefi", [query.region.pk]).filter(day__range=(query.first, query.last))
    total = 0
    by: dict[str, int] = defaultdict(int)
    for dim, value, n in _sums(rows, "dim", "value"):
        if dim:
            by[value] += n
        else:
            total += n
    return {
        "total": hide.count(total),
        "per_100k_doses": hide.rate(total, given, 100_000),
        "by_severity": [
            {
                "severity": severity,
                "count": hide.count(by.get(severity, 0)),
                "per_100k_doses": hide.rate(by.get(severity, 0), given, 100_000),
            }
            for severity in ("minor", "severe", "serious")
        ],
    }


def _wastage(query: Query, hide: Suppress) -> dict[str, Any]:
    """Return the wastage rates: open-vial and closed-vial doses lost per 100 used or lost."""
    rows = _tallies(query, "stock", [query.region.pk]).filter(
        dim="kind", day__range=(query.first, query.last)
    )
    by = {kind: -n for kind, n in _sums(rows, "value")}
    given = by.get("consumption", 0)
    opened = by.get("wastage_open", 0)
    closed = by.get("wastage_closed", 0)
    used = given + opened + closed
    return {
        "doses_used": hide.count(given),
        "open_vial": hide.count(opened),
        "closed_vial": hide.count(closed),
        "open_vial_pct": hide.rate(opened, given + opened),
        "closed_vial_pct": hide.rate(closed, used),
    }


def _stock(
    query: Query, children: list[tuple[int, str, dict[str, str]]], hide: Suppress
) -> list[dict[str, Any]]:
    """Return each child region's doses in stock, daily use and days of supply."""
    if not children:
        children = [(query.region.pk, query.region.code, query.region.names)]
    ids = [pk for pk, _code, _names in children]
    rows = _tallies(query, "stock", ids).filter(dim="kind", day__lte=query.last)
    balance = dict(_sums(rows, "region"))
    since = query.last - timedelta(days=USE_DAYS - 1)
    used = dict(_sums(rows.filter(value="consumption", day__gte=since), "region"))
    found = []
    for pk, code, names in children:
        daily = -used.get(pk, 0) / USE_DAYS
        stock = balance.get(pk, 0)
        found.append(
            {
                "code": code,
                "name": localized(names) or code,
                "doses": stock,
                "daily_use": round(daily, 1),
                "days_of_supply": round(stock / daily, 1) if daily > 0 else None,
            }
        )
    return found


def _sessions(query: Query, hide: Suppress) -> dict[str, Any]:
    rows = _tallies(query, "sessions", [query.region.pk]).filter(
        dim="status", day__range=(query.first, query.last)
    )
    planned_today = 0
    counts: dict[str, int] = defaultdict(int)
    for day, status, n in _sums(rows, "day", "value"):
        if status == "planned" and day == query.today:
            planned_today += n
        elif status == "planned" and day < query.today:
            counts["not_closed"] += n
        else:
            counts[status] += n
    return {
        "planned": counts["planned"],
        "ongoing": planned_today,
        "completed": counts["closed"],
        "cancelled": counts["cancelled"],
        "not_closed": counts["not_closed"],
    }


def _registrations(query: Query, hide: Suppress) -> dict[str, Any]:
    root = Region.objects.filter(country=query.country, depth=0).values_list("pk", flat=True)
    rows = Tally.objects.filter(
        metric="registrations", region_id__in=list(root), day__range=(query.first, query.last)
    ).order_by()
    total = 0
    by: dict[str, dict[str, int]] = {"age": defaultdict(int), "sex": defaultdict(int)}
    for dim, value, n in _sums(rows, "dim", "value"):
        if dim:
            by[dim][value] += n
        else:
            total += n
    return {
        "scope": "country",
        "in_range": hide.count(total),
        "by_age": _rows("age_band", by["age"], hide, order=_band_order(query.country)),
        "by_sex": _rows("sex", by["sex"], hide),
    }


def _bookings(query: Query, hide: Suppress) -> dict[str, Any]:
    rows = _tallies(query, ("bookings", "cancellations"), [query.region.pk]).filter(
        dim="", day__range=(query.first, query.last)
    )
    totals = dict(_sums(rows, "metric"))
    return {
        "booked": hide.count(totals.get("bookings", 0)),
        "cancelled": hide.count(totals.get("cancellations", 0)),
    }
