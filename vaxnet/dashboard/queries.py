"""The dashboard's numbers for one region, a range of days and optionally one vaccine.

Everything is read from the tallies (`dashboard.models.Tally`) in one statement of grouped
sums over one region's rows (its children's too for their stock; their doses and people
come from the region's own tallies by child), whatever the number of records behind them.
A range of days is read as whole years and months where it covers them and days at its
ends, or months less the days outside it (`pieces`), so that a year, or everything up to a
day, is a few dozen rows. Counts from 1 to below the pack's `suppress_below` are left out
(None) wherever they are published, and so are rates made from them, so that no one can be
singled out.
"""

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _

from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.dashboard.facts import ALL_VACCINES, MILESTONES, age_bands
from vaxnet.dashboard.models import Tally, TallyState
from vaxnet.geo.models import Population, Region
from vaxnet.vaccines.durations import parse_duration
from vaxnet.vaccines.models import Vaccine, VaccineDose

# Seconds a process keeps the served country, its regions and vaccines before reading them again.
OUTLINE_SECONDS = 60
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
# Before anything the tallies count: "everything up to a day" starts here.
EPOCH = date(1900, 1, 1)
# The days a request may name: a range's runs of months and years stay within the calendar.
FIRST_DAY, LAST_DAY = date(1901, 1, 1), date(9998, 12, 31)
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Query:
    """What a dashboard view shows: a region, a range of days, today, maybe one vaccine."""

    country: Country
    region: Region
    first: date
    last: date
    today: date
    vaccine: Vaccine | None


@dataclass(frozen=True)
class Outline:
    """What the dashboard reads of a country besides its tallies: regions and vaccines.

    Kept per process (`outline`) and read again after OUTLINE_SECONDS, or once the served
    country is read again with a new pack; its regions and vaccines are shared by the
    process's threads, to be read, never changed.
    """

    regions: dict[str, Region]  # by code
    by_pk: dict[int, Region]
    # Each region's children, in their order: id, code and names.
    children: dict[int, list[tuple[int, str, dict[str, str]]]]
    root: Region
    vaccines: dict[str, Vaccine]  # by code
    offered: list[dict[str, str]]  # those in use, to filter by: code and name
    windows: dict[str, timedelta]  # the dropout window of each vaccine with a dose 2


class _Kept:
    """What this process keeps of the database between requests, for its threads to share.

    The served country and its outline, each read again after OUTLINE_SECONDS (so a pack
    loaded anew shows within that), and the latest time the tallies were seen folded.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.country: tuple[float, Country] | None = None
        self.outlines: dict[tuple[int, str], tuple[float, Outline]] = {}
        self.folded_at: datetime | None = None


_kept = _Kept()


def served_country() -> Country | None:
    """Return the country this deployment serves as this process last read it (or None).

    Shared by the process's threads, to be read, never changed.
    """
    now = time.monotonic()
    with _kept.lock:
        found = _kept.country
        if found is not None and now - found[0] < OUTLINE_SECONDS:
            return found[1]
    country = active_country()
    if country is not None:  # none yet: asked again, so a pack just loaded shows at once
        with _kept.lock:
            _kept.country = (now, country)
    return country


def outline(country: Country) -> Outline:
    """Return the country's regions and vaccines as this process last read them."""
    key = (country.pk, country.pack_digest)
    now = time.monotonic()
    with _kept.lock:
        found = _kept.outlines.get(key)
        if found is not None and now - found[0] < OUTLINE_SECONDS:
            return found[1]
    made = _outline(country)
    with _kept.lock:
        _kept.outlines.clear()  # one country a process; an old pack's outline is gone with it
        _kept.outlines[key] = (now, made)
    return made


def forget_kept() -> None:
    """Drop what this process keeps, so that the next request reads it all again."""
    with _kept.lock:
        _kept.country = None
        _kept.outlines.clear()
        _kept.folded_at = None


def folded_seen() -> datetime | None:
    """Return the latest time this process saw the tallies folded (None: not seen yet)."""
    with _kept.lock:
        return _kept.folded_at


def _saw_folded(stamp: datetime | None) -> None:
    if stamp is None:
        return
    with _kept.lock:
        if _kept.folded_at is None or stamp > _kept.folded_at:
            _kept.folded_at = stamp


def _outline(country: Country) -> Outline:
    regions = list(Region.objects.filter(country=country).order_by("depth", "number"))
    by_pk = {region.pk: region for region in regions}
    children: dict[int, list[tuple[int, str, dict[str, str]]]] = defaultdict(list)
    for region in regions:
        if region.parent_id is not None:
            children[region.parent_id].append((region.pk, region.code, region.names))
    roots = [region for region in regions if region.depth == 0]
    if not roots:  # pragma: no cover - a loaded pack always has its root
        raise _bad("unknown_region", _("There is no region with this code."), "region")
    vaccines = list(Vaccine.objects.filter(country=country).order_by("code"))
    return Outline(
        regions={region.code: region for region in regions},
        by_pk=by_pk,
        children=dict(children),
        root=roots[0],
        vaccines={vaccine.code: vaccine for vaccine in vaccines},
        offered=[{"code": v.code, "name": v.name} for v in vaccines if v.active],
        windows=_windows(country),
    )


def _bad(code: str, message: str, field: str) -> DomainError:
    return DomainError(code, message, field=field, status=400)


def _day(raw: str | None, field: str) -> date | None:
    if not raw:
        return None
    try:
        found = date.fromisoformat(raw.strip()[:10])
    except ValueError:
        raise _bad(
            "invalid_date", _("Give dates as YYYY-MM-DD, for example 2026-11-28."), field
        ) from None
    if not FIRST_DAY <= found <= LAST_DAY:
        raise _bad(
            "date_out_of_range",
            _("Give a date from {first} to {last}.").format(
                first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()
            ),
            field,
        )
    return found


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
    known = outline(country)
    code = (region or "").strip()[:40]
    found = known.regions.get(code) if code else known.root
    if found is None:
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
        chosen = known.vaccines.get(vaccine.strip()[:40])
        if chosen is None:
            raise _bad("unknown_vaccine", _("There is no vaccine with this code."), "vaccine")
    return Query(country=country, region=found, first=start, last=end, today=today, vaccine=chosen)


# Reading the tallies.


# A run of tallies costs about one row more than the rows it reads: one more descent of the
# index for each metric, region, breakdown and vaccine of a part.
RUN_COST = 1

# A run of tallies: its span ("d", "m", "y"), the first days of its first and last tallies,
# and whether they are added (1) or taken away (-1).
Run = tuple[str, date, date, int]


@lru_cache(maxsize=4096)
def pieces(first: date, last: date) -> tuple[Run, ...]:
    """Return the runs of tallies that count the days from first to last, each once.

    A range is whole years and whole months where it covers them and days at its ends; a
    month it only partly covers is read either as its days in the range, or as the whole
    month less its days outside the range, whichever is fewer rows (so "everything up to
    today" is the years up to this one less what is left of it); a year likewise with months.
    """
    if first > last:
        return ()
    best: tuple[Run, ...] = ()
    cheapest = -1
    for days, months in _day_choices(first, last):
        for runs in _month_choices(*months):
            found = _joined([*runs, *days])
            cost = sum(RUN_COST + _periods(run) for run in found)
            if cheapest < 0 or cost < cheapest:
                best, cheapest = found, cost
    return best


def _month(index: int) -> date:
    """Return the first day of a month counted from year 0 (year * 12 + month - 1)."""
    return date(index // 12, index % 12 + 1, 1)


def _index(day: date) -> int:
    """Return the month of a day counted from year 0 (see `_month`)."""
    return day.year * 12 + day.month - 1


def _days_in(index: int) -> int:
    return (_month(index + 1) - _month(index)).days


def _day_choices(first: date, last: date) -> list[tuple[list[Run], tuple[int, int]]]:
    """Return the ways to read the range's days outside whole months, with the whole months
    left to read (first and last index; none when the first comes after the last)."""
    one = timedelta(days=1)
    low, high = _index(first), _index(last)
    start, end = _month(low), _month(high) + timedelta(days=_days_in(high) - 1)
    if low == high:
        within: list[Run] = [("d", first, last, 1)]
        outside: list[Run] = [("d", start, first - one, -1)] if first > start else []
        if last < end:
            outside.append(("d", last + one, end, -1))
        choices = [(outside, (low, low))]
        if outside:
            choices.append((within, (low, low - 1)))
        return choices
    heads: list[tuple[list[Run], int]] = [([], low)]
    if first > start:
        heads = [
            ([("d", first, _month(low + 1) - one, 1)], low + 1),
            ([("d", _month(low), first - one, -1)], low),
        ]
    tails: list[tuple[list[Run], int]] = [([], high)]
    if last < end:
        tails = [
            ([("d", _month(high), last, 1)], high - 1),
            ([("d", last + one, end, -1)], high),
        ]
    return [(head + tail, (a, b)) for head, a in heads for tail, b in tails]


def _month_choices(low: int, high: int) -> list[list[Run]]:
    """Return the ways to read whole months low to high (indices): months and years."""
    if low > high:
        return [[]]
    first_year, last_year = low // 12, high // 12
    if first_year == last_year:
        within: list[Run] = [("m", _month(low), _month(high), 1)]
        outside: list[Run] = [("y", date(first_year, 1, 1), date(first_year, 1, 1), 1)]
        if low % 12:
            outside.append(("m", date(first_year, 1, 1), _month(low - 1), -1))
        if high % 12 != 11:
            outside.append(("m", _month(high + 1), date(first_year, 12, 1), -1))
        return [within, outside] if len(outside) > 1 else [outside]
    heads: list[tuple[list[Run], int]] = [([], first_year)]
    if low % 12:
        heads = [
            ([("m", _month(low), date(first_year, 12, 1), 1)], first_year + 1),
            ([("m", date(first_year, 1, 1), _month(low - 1), -1)], first_year),
        ]
    tails: list[tuple[list[Run], int]] = [([], last_year)]
    if high % 12 != 11:
        tails = [
            ([("m", date(last_year, 1, 1), _month(high), 1)], last_year - 1),
            ([("m", _month(high + 1), date(last_year, 12, 1), -1)], last_year),
        ]
    found = []
    for head, a in heads:
        for tail, b in tails:
            years: list[Run] = [("y", date(a, 1, 1), date(b, 1, 1), 1)] if a <= b else []
            found.append(head + years + tail)
    return found


def _joined(runs: list[Run]) -> tuple[Run, ...]:
    """Return the runs in order, those of one span and sign that follow on joined."""
    found: list[Run] = []
    for run in sorted(runs, key=lambda r: (r[1], r[0])):
        span, low, high, sign = run
        if found and found[-1][0] == span and found[-1][3] == sign:
            before = found[-1]
            if _after(span, before[2]) == low:
                found[-1] = (span, before[1], high, sign)
                continue
        found.append(run)
    return tuple(found)


def _after(span: str, day: date) -> date:
    """Return the first day of the tally after the one starting on day."""
    if span == "y":
        return date(day.year + 1, 1, 1)
    if span == "m":
        return _month(_index(day) + 1)
    return day + timedelta(days=1)


def _periods(run: Run) -> int:
    """Return how many tallies of a breakdown's value a run reads at most (a year: one)."""
    span, low, high, _sign = run
    if span == "d":
        return (high - low).days + 1
    if span == "m":
        return _index(high) - _index(low) + 1
    return 1


@dataclass(frozen=True)
class Part:
    """One sum the dashboard reads: of some metrics' tallies in some regions, over some days.

    `dims` are the breakdowns read ("" the totals), `keys` the columns the sum is grouped
    by, `value` one value of the breakdowns; `vaccines` the vaccines whose tallies are read
    (ALL_VACCINES: those of every vaccine together); `daily` reads the days themselves (to
    group by day, or for hours of a day), not months and years. Parts of one tag add up to
    one sum.
    """

    tag: str
    metrics: tuple[str, ...]
    regions: tuple[int, ...]
    first: date
    last: date
    dims: tuple[str, ...]
    keys: tuple[str, ...] = ()
    value: str | None = None
    vaccines: tuple[str, ...] = (ALL_VACCINES,)
    daily: bool = False


# The columns a part may be grouped by, each with its type for when it is not.
COLUMNS = {
    "metric": "VARCHAR(16)",
    "region_id": "BIGINT",
    "day": "DATE",
    "vaccine": "VARCHAR(40)",
    "dim": "VARCHAR(12)",
    "value": "VARCHAR(20)",
}

# Each part's sums by its keys (a tuple of the key columns' values).
Sums = dict[str, dict[tuple[Any, ...], int]]


@dataclass(frozen=True)
class Reading:
    """The sums of the parts read, and when the tallies they come from were last folded."""

    sums: Sums
    folded_at: datetime | None


def read(parts: Iterable[Part]) -> Reading:
    """Return the sums of the parts, each by its keys: one statement for all of them.

    A part is read as a few runs of one span each (`pieces`), added or taken away, and each
    run as one range of the tallies' unique index (metric, region, span, breakdown,
    vaccine, day…) for each of the part's metrics, regions, breakdowns and vaccines: on
    PostgreSQL read from the index alone. Keys whose sum is nothing are left out. The same
    statement reads when the tallies were last folded, so that the time matches the sums.
    """
    asked = list(parts)
    found: Sums = {part.tag: defaultdict(int) for part in asked}
    wanted = [p for p in asked if p.regions and p.metrics and p.vaccines and p.first <= p.last]
    if not wanted:
        return Reading(found, as_of())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Several statements sent as one run as one transaction (client-side binding,
            # Django's default), so the settings last for this read alone, at no extra
            # round trip. Parallel workers, or compiling the plan, take longer than these
            # reads of an index do (the planner cannot know how few rows a part asks for).
            cursor.execute(
                "SET LOCAL max_parallel_workers_per_gather = 0; SET LOCAL jit = off; "
                + _READ_SQL.format(table=_table(), state=_state_table()),
                [_described(wanted)],
            )
            while cursor.description is None and cursor.nextset():
                pass  # past the settings' results
        else:
            cursor.execute(*_union(wanted))
        rows = cursor.fetchall()
    at = {column: i for i, column in enumerate(COLUMNS)}
    folded_at = None
    for number, *values, total in rows:
        if number < 0:
            folded_at = _stamp(total)
        elif total is not None:  # None: a sum over no rows
            part = wanted[number]
            found[part.tag][tuple(_value(key, values[at[key]]) for key in part.keys)] += total
    # A month less its days outside the range may leave a key with nothing in the range.
    for tag, sums in found.items():
        if 0 in sums.values():
            found[tag] = defaultdict(int, {key: n for key, n in sums.items() if n})
    _saw_folded(folded_at)
    return Reading(found, folded_at)


def _stamp(value: int | str) -> datetime:
    """Return the time of the tallies' fold as a statement read it: microseconds since
    1970 (PostgreSQL), or text in UTC (SQLite)."""
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    return UNIX_EPOCH + timedelta(microseconds=value)


def _state_table() -> str:
    return connection.ops.quote_name(TallyState._meta.db_table)


def _table() -> str:
    return connection.ops.quote_name(Tally._meta.db_table)


def _runs(part: Part) -> tuple[Run, ...]:
    return (("d", part.first, part.last, 1),) if part.daily else pieces(part.first, part.last)


# PostgreSQL: the parts as one JSON parameter, each run of each metric, region, breakdown
# and vaccine one descent of the index (LATERAL … OFFSET 0: a nested loop, whatever the
# estimates), each part's sums grouped by its keys (a bit each, in the order of COLUMNS),
# then a row numbered -1 with the time of the last fold. One short statement whatever the
# view: little to send, parse or plan.
_READ_SQL = """
SELECT p.n,
    CASE WHEN p.keys & 1 <> 0 THEN x.metric END,
    CASE WHEN p.keys & 2 <> 0 THEN x.region_id END,
    CASE WHEN p.keys & 4 <> 0 THEN x.day END,
    CASE WHEN p.keys & 8 <> 0 THEN x.vaccine END,
    CASE WHEN p.keys & 16 <> 0 THEN x.dim END,
    CASE WHEN p.keys & 32 <> 0 THEN x.value END,
    CAST(SUM(x.count * s.sign) AS BIGINT)
FROM jsonb_to_recordset(CAST(%s AS jsonb)) AS p(
    n int, metrics text[], regions bigint[], dims text[], vaccines text[], runs jsonb,
    value text, keys int
)
CROSS JOIN LATERAL jsonb_to_recordset(p.runs) AS s(span text, low date, high date, sign int)
CROSS JOIN LATERAL unnest(p.metrics) AS m(metric)
CROSS JOIN LATERAL unnest(p.regions) AS r(region)
CROSS JOIN LATERAL unnest(p.dims) AS d(dim)
CROSS JOIN LATERAL unnest(p.vaccines) AS v(vaccine)
CROSS JOIN LATERAL (
    SELECT t.metric, t.region_id, t.day, t.vaccine, t.dim, t.value, t.count
    FROM {table} AS t
    WHERE t.metric = m.metric AND t.region_id = r.region AND t.span = s.span
        AND t.dim = d.dim AND t.vaccine = v.vaccine AND t.day BETWEEN s.low AND s.high
        AND (p.value IS NULL OR t.value = p.value)
    OFFSET 0
) AS x
GROUP BY 1, 2, 3, 4, 5, 6, 7
UNION ALL
SELECT -1, NULL, NULL, NULL, NULL, NULL, NULL,
    CAST(EXTRACT(EPOCH FROM folded_at) * 1000000 AS BIGINT)
FROM {state} WHERE id = 1 AND folded_at IS NOT NULL
"""


def _described(parts: list[Part]) -> str:
    """Return the parts as _READ_SQL reads them: a JSON list."""
    bits = {column: 1 << i for i, column in enumerate(COLUMNS)}
    return json.dumps(
        [
            {
                "n": number,
                "metrics": part.metrics,
                "regions": part.regions,
                "dims": part.dims,
                "runs": [
                    {"span": span, "low": low.isoformat(), "high": high.isoformat(), "sign": sign}
                    for span, low, high, sign in _runs(part)
                ],
                "vaccines": part.vaccines,
                "value": part.value,
                "keys": sum(bits[key] for key in part.keys),
            }
            for number, part in enumerate(parts)
        ]
    )


def _union(parts: list[Part]) -> tuple[str, list[Any]]:
    """Return the statement reading the parts elsewhere (SQLite): a SELECT for each run."""
    selects: list[str] = []
    params: list[Any] = []
    for number, part in enumerate(parts):
        shown = ", ".join(
            column if column in part.keys else f"CAST(NULL AS {kind})"
            for column, kind in COLUMNS.items()
        )
        grouped = f" GROUP BY {', '.join(part.keys)}" if part.keys else ""
        for span, low, high, sign in _runs(part):
            where = [_among("metric", part.metrics, params)]
            where.append(_among("region_id", part.regions, params))
            where.append("span = %s")
            params.append(span)
            where.append(_among("dim", part.dims, params))
            where.append(_among("vaccine", part.vaccines, params))
            where.append("day BETWEEN %s AND %s")
            params += [low, high]
            if part.value is not None:
                where.append("value = %s")
                params.append(part.value)
            selects.append(
                f"SELECT {number}, {shown}, CAST(SUM(count) * {int(sign)} AS BIGINT) "  # noqa: S608
                f"FROM {_table()} WHERE {' AND '.join(where)}{grouped}"
            )
    # The tallies' state, as text (UTC).
    selects.append(
        f"SELECT -1, {', '.join(['NULL'] * len(COLUMNS))}, folded_at "  # noqa: S608
        f"FROM {_state_table()} WHERE id = 1 AND folded_at IS NOT NULL"
    )
    return " UNION ALL ".join(selects), params


def _of(sums: Sums, tag: str, metric: str) -> dict[tuple[Any, ...], int]:
    """Return one metric's sums of a part read by metric first, by the part's other keys."""
    return {key[1:]: n for key, n in sums[tag].items() if key[0] == metric}


def _among(column: str, values: tuple[Any, ...], params: list[Any]) -> str:
    """Return the condition that a column holds one of the values, adding its parameters."""
    params += values
    return f"{column} IN ({', '.join(['%s'] * len(values))})"


def _value(column: str, value: Any) -> Any:
    # SQLite hands dates back as text from a statement of several SELECTs.
    if column == "day" and isinstance(value, str):
        return date.fromisoformat(value)
    return value


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
    stamp = TallyState.objects.filter(pk=1).values_list("folded_at", flat=True).first()
    _saw_folded(stamp)
    return stamp


def dashboard(query: Query) -> dict[str, Any]:
    """Return every number of the dashboard for the query, ready to be published."""
    country, region = query.country, query.region
    hide = Suppress(int(country.setting("population", "suppress_below", 10) or 0))
    known = outline(country)
    # Each region below, by id, code and name (in the language asked for).
    children = [
        (pk, code, localized(names) or code)
        for pk, code, names in known.children.get(region.pk, [])
    ]
    reading = read(_parts(query, known, children))
    sums, time = reading.sums, reading.folded_at
    stamp = time.isoformat() if time else None
    people, counted = _people(query, sums, hide)
    doses, given = _doses(query, sums, children, hide)
    return {
        "as_of": stamp,
        "region": _region(country, region),
        "parent": _region(country, known.by_pk.get(region.parent_id or 0)),
        "children": [{"code": code, "name": name} for _pk, code, name in children],
        "range": {"from": query.first.isoformat(), "to": query.last.isoformat()},
        "today": query.today.isoformat(),
        "vaccine": query.vaccine.code if query.vaccine else None,
        "vaccines": known.offered,
        "suppressed_below": hide.below,
        "doses": {"as_of": stamp, **doses},
        "people": {"as_of": stamp, **people},
        "coverage": {"as_of": stamp, **_coverage(query, children, counted, hide)},
        "dropout": {"as_of": stamp, "rows": _dropout(query, sums, hide)},
        "aefi": {"as_of": stamp, **_aefi(sums, given, hide)},
        "wastage": {"as_of": stamp, **_wastage(sums, hide)},
        "stock": {"as_of": stamp, "rows": _stock(query, sums, children)},
        "sessions": {"as_of": stamp, **_sessions(sums)},
        "registrations": {"as_of": stamp, **_registrations(query, sums, hide)},
        "bookings": {"as_of": stamp, **_bookings(sums, hide)},
    }


def _parts(query: Query, known: Outline, children: list[tuple[int, str, str]]) -> list[Part]:
    """Return every sum the dashboard reads for the query."""
    here = (query.region.pk,)
    below = tuple(pk for pk, _code, _names in children)
    first, last, today = query.first, query.last, query.today
    # One vaccine's tallies, or those of all vaccines together.
    chosen = (query.vaccine.code,) if query.vaccine else (ALL_VACCINES,)
    day = timedelta(days=1)
    ever, days, used = (EPOCH, last), (first, last), (last - (USE_DAYS - 1) * day, last)

    def part(
        tag: str,
        metrics: tuple[str, ...],
        regions: tuple[int, ...],
        span: tuple[date, date],
        dims: tuple[str, ...],
        *keys: str,
        **more: Any,
    ) -> Part:
        return Part(tag, metrics, regions, *span, dims, keys, **{"vaccines": chosen, **more})

    doses, sessions, status = ("doses",), ("sessions",), ("status",)
    # Stock is shown for the regions below, or for a region with none, for itself.
    stores = below or here
    by_child = here if below else ()
    # Sums in the range of several metrics, each grouped by metric first (see `_of`): a
    # part for each set of breakdowns, so that no metric is looked for under one it lacks.
    by_value = ("metric", "dim", "value")
    in_range = [
        part("in_range", doses, here, days, DOSE_DIMS, *by_value),
        part("in_range", ("aefi",), here, days, ("", "severity"), *by_value),
        part("in_range", ("stock",), here, days, ("kind",), *by_value),
        part("in_range", ("bookings", "cancellations"), here, days, ("",), *by_value),
    ]
    each = tuple(known.vaccines) if query.vaccine is None else chosen
    parts = [
        # Parts apart where they read different breakdowns: each region, metric, breakdown
        # and vaccine read is one more range of the index, each of its rows one more to add.
        part("doses", doses, here, ever, ("",)),
        part("people", MILESTONES, here, ever, ("", "age", "sex"), "metric", "dim", "value"),
        # The regions below, from this one's tallies by the child they came through.
        part("people_below", MILESTONES, by_child, ever, ("region",), "metric", "value"),
        part("stock", ("stock",), stores, ever, ("kind",), "region_id"),
        *in_range,
        # Doses by vaccine: each vaccine's own tallies.
        part("by_vaccine", doses, here, days, ("",), "vaccine", vaccines=each),
        part("doses_by_day", doses, here, days, ("",), "day", daily=True),
        part("hours", doses, here, (today, min(today, last)), ("hour",), "value", daily=True),
        part("doses_below", doses, by_child, days, ("region",), "value"),
        part("stock_used", ("stock",), stores, used, ("kind",), "region_id", value="consumption"),
        # Sessions still planned: today's are ongoing, earlier ones were not closed.
        part("sessions_past", sessions, here, (first, min(last, today - day)), status, "value"),
        part(
            "sessions_today", sessions, here, (max(first, today), min(last, today)), status, "value"
        ),
        part("sessions_later", sessions, here, (max(first, today + day), last), status, "value"),
        part(
            "registrations",
            ("registrations",),
            (known.root.pk,),
            days,
            ("", "age", "sex"),
            "dim",
            "value",
            vaccines=(ALL_VACCINES,),
        ),
    ]
    # Dropout: people given dose 1 long enough ago for dose 2 to be due, per vaccine.
    for code, window in known.windows.items():
        if query.vaccine is None or query.vaccine.code == code:
            cohort = (EPOCH, last - window)
            metrics = ("started", "continued")
            parts.append(
                part("dropout", metrics, here, cohort, ("",), "metric", "vaccine", vaccines=(code,))
            )
    return parts


def vaccines_offered(country: Country) -> list[dict[str, str]]:
    """Return the country's vaccines in use, to filter the dashboard by: code and name."""
    return outline(country).offered


def _name(region: Region) -> str:
    return localized(region.names) or region.code


def _region(country: Country, region: Region | None) -> dict[str, Any] | None:
    if region is None:
        return None
    return {
        "code": region.code,
        "name": _name(region),
        "level": country.level_name(region.level),
    }


def _doses(
    query: Query, sums: Sums, children: list[tuple[int, str, str]], hide: Suppress
) -> tuple[dict[str, Any], int]:
    """Return the doses' numbers, and how many were given in the range (for rates)."""
    by_day = {day: n for (day,), n in sums["doses_by_day"].items()}
    breakdowns: dict[str, dict[str, int]] = {dim: defaultdict(int) for dim in DOSE_DIMS}
    for (dim, value), n in _of(sums, "in_range", "doses").items():
        if dim:
            breakdowns[dim][value] += n
    by_vaccine = {vaccine: n for (vaccine,), n in sums["by_vaccine"].items()}
    hours = {value: n for (value,), n in sums["hours"].items()}
    below = {int(region): n for (region,), n in sums["doses_below"].items()}
    public = {
        "total": hide.count(sum(sums["doses"].values())),
        "in_range": hide.count(sum(by_day.values())),
        # Every dose counts in one hour of its day.
        "today": hide.count(sum(hours.values())),
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
                "name": name,
                "count": hide.count(below.get(pk, 0)),
            }
            for pk, code, name in children
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


def _people(query: Query, sums: Sums, hide: Suppress) -> tuple[dict[str, Any], Counted]:
    """Return the numbers of people given a first dose, the primary series, a booster."""
    metrics = MILESTONES
    totals: dict[str, int] = defaultdict(int)
    by: dict[str, dict[str, dict[str, int]]] = {
        dim: {m: defaultdict(int) for m in metrics} for dim in ("age", "sex")
    }
    for (metric, dim, value), n in sums["people"].items():
        if dim:
            by[dim][metric][value] += n
        else:
            totals[metric] += n
    children: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for (metric, region), n in sums["people_below"].items():
        children[int(region)][metric] += n
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
    children: list[tuple[int, str, str]],
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
                "name": name,
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
            for pk, code, name in children
        ],
    }


def _dropout(query: Query, sums: Sums, hide: Suppress) -> list[dict[str, Any]]:
    """Return, per vaccine, the share of people whose dose 2 is overdue among those given dose 1.

    Counted among people whose dose 1 was given long enough before the last day for dose 2
    to be due (the schedule's longest interval, or the shortest plus DROPOUT_GRACE).
    """
    windows = outline(query.country).windows
    started: dict[str, int] = defaultdict(int)
    continued: dict[str, int] = defaultdict(int)
    for (metric, vaccine), n in sums["dropout"].items():
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


def _aefi(sums: Sums, given: int, hide: Suppress) -> dict[str, Any]:
    total = 0
    by: dict[str, int] = defaultdict(int)
    for (dim, value), n in _of(sums, "in_range", "aefi").items():
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


def _wastage(sums: Sums, hide: Suppress) -> dict[str, Any]:
    """Return the wastage rates: open-vial and closed-vial doses lost per 100 used or lost."""
    by: dict[str, int] = defaultdict(int)
    for (_dim, kind), n in _of(sums, "in_range", "stock").items():
        by[kind] -= n
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


def _stock(query: Query, sums: Sums, children: list[tuple[int, str, str]]) -> list[dict[str, Any]]:
    """Return each child region's doses in stock, daily use and days of supply."""
    if not children:
        children = [(query.region.pk, query.region.code, _name(query.region))]
    balance = {region: n for (region,), n in sums["stock"].items()}
    used = {region: n for (region,), n in sums["stock_used"].items()}
    found = []
    for pk, code, name in children:
        daily = -used.get(pk, 0) / USE_DAYS
        stock = balance.get(pk, 0)
        found.append(
            {
                "code": code,
                "name": name,
                "doses": stock,
                "daily_use": round(daily, 1),
                "days_of_supply": round(stock / daily, 1) if daily > 0 else None,
            }
        )
    return found


def _sessions(sums: Sums) -> dict[str, Any]:
    counts: dict[str, int] = defaultdict(int)
    for when in ("past", "today", "later"):
        for (status,), n in sums[f"sessions_{when}"].items():
            # Sessions still planned: today's are ongoing, earlier ones were not closed.
            if status == "planned" and when != "later":
                status = "ongoing" if when == "today" else "not_closed"
            counts[status] += n
    return {
        "planned": counts["planned"],
        "ongoing": counts["ongoing"],
        "completed": counts["closed"],
        "cancelled": counts["cancelled"],
        "not_closed": counts["not_closed"],
    }


def _registrations(query: Query, sums: Sums, hide: Suppress) -> dict[str, Any]:
    total = 0
    by: dict[str, dict[str, int]] = {"age": defaultdict(int), "sex": defaultdict(int)}
    for (dim, value), n in sums["registrations"].items():
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


def _bookings(sums: Sums, hide: Suppress) -> dict[str, Any]:
    totals = {
        metric: sum(n for (dim, _value), n in _of(sums, "in_range", metric).items() if not dim)
        for metric in ("bookings", "cancellations")
    }
    return {
        "booked": hide.count(totals.get("bookings", 0)),
        "cancelled": hide.count(totals.get("cancellations", 0)),
    }
