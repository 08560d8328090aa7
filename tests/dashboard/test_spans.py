"""Ranges of days read as days, months and years: each day counted once, whatever the range."""

import random
from collections import Counter
from datetime import date, timedelta

import pytest

from vaxnet.countries.models import Country
from vaxnet.dashboard.models import Tally
from vaxnet.dashboard.queries import Run, pieces
from vaxnet.dashboard.services import facts_tallied, tallies_fold_all
from vaxnet.geo.models import Region

from .conftest import numbers


def _days_of(span: str, low: date, high: date) -> list[date]:
    """Return the days the tallies of one piece count."""
    found = []
    day = low
    while day <= high:
        if span == "y":
            after = date(day.year + 1, 1, 1)
        elif span == "m":
            after = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        else:
            after = day + timedelta(days=1)
        found += [day + timedelta(days=i) for i in range((after - day).days)]
        day = after
    return found


def _end(span: str, high: date) -> date:
    """Return the last day the tally of a span starting on high counts."""
    return _days_of(span, high, high)[-1]


def _checked(first: date, last: date) -> tuple[Run, ...]:
    """Return the runs of a range, having checked that each day in it nets one, others none."""
    found = pieces(first, last)
    # Each run adds its sign from its first day and takes it away after its last.
    steps: Counter[date] = Counter()
    for span, low, high, sign in found:
        assert sign in (1, -1) and low <= high
        steps[low] += sign
        steps[_end(span, high) + timedelta(days=1)] -= sign
    net, runs = 0, []
    for day in sorted(steps):
        net += steps[day]
        runs.append((day, net))
    # Nothing before the first day, one from it to the last, nothing after.
    assert [(day, n) for day, n in runs if steps[day]] == [
        (first, 1),
        (last + timedelta(days=1), 0),
    ], (first, last, found)
    # At each end, a partial month is at most about half a month of days (else it is the
    # month less the rest), and a partial year at most half a year of months.
    periods: Counter[str] = Counter()
    for span, low, high, _sign in found:
        periods[span] += len(_days_of("d", low, high)) if span == "d" else 1
    months = sum(
        (high.year - low.year) * 12 + high.month - low.month + 1
        for span, low, high, _sign in found
        if span == "m"
    )
    assert periods["d"] <= 32 and months <= 14 and len(found) <= 7, (first, last, found)
    return found


def test_every_day_of_a_range_is_counted_once() -> None:
    rnd = random.Random(7)
    ends = [date(2023, 12, 31), date(2024, 1, 1), date(2024, 2, 29), date(2024, 12, 1)]
    for _ in range(3000):
        first = date(2019, 1, 1) + timedelta(days=rnd.randrange(3650))
        last = first + timedelta(days=rnd.choice([0, 1, 27, 30, 31, 364, 365, 366, 1097]))
        _checked(first, last)
        _checked(date(1900, 1, 1), last)  # everything up to a day
    for first in ends:
        for last in ends:
            if first <= last:
                _checked(first, last)
    assert pieces(date(2024, 3, 2), date(2024, 3, 1)) == ()


def test_a_long_range_is_a_few_dozen_rows() -> None:
    found = _checked(date(2023, 11, 17), date(2026, 2, 11))
    assert [span for span, _low, _high, _sign in found] == ["d", "m", "y", "m", "d"]
    # 14 days, 1 month, 2 years, 1 month, 11 days
    assert sum(len(_days_of("d", low, high)) for span, low, high, _ in found if span == "d") == 25
    # Everything up to a day late in its year: every year up to this one, less the rest of
    # the year (one month) and of the month (two days).
    spans = pieces(date(1900, 1, 1), date(2026, 11, 28))
    assert spans == (
        ("y", date(1900, 1, 1), date(2026, 1, 1), 1),
        ("d", date(2026, 11, 29), date(2026, 11, 30), -1),
        ("m", date(2026, 12, 1), date(2026, 12, 1), -1),
    )
    # Early in its year and month: whole years before, then months and days.
    spans = pieces(date(1900, 1, 1), date(2026, 2, 3))
    assert spans == (
        ("y", date(1900, 1, 1), date(2025, 1, 1), 1),
        ("m", date(2026, 1, 1), date(2026, 1, 1), 1),
        ("d", date(2026, 2, 1), date(2026, 2, 3), 1),
    )
    # Thirty days ending late in a month: two days, the month, less its last two days.
    assert pieces(date(2026, 10, 30), date(2026, 11, 28)) == (
        ("d", date(2026, 10, 30), date(2026, 10, 31), 1),
        ("m", date(2026, 11, 1), date(2026, 11, 1), 1),
        ("d", date(2026, 11, 29), date(2026, 11, 30), -1),
    )


@pytest.mark.django_db
def test_numbers_over_months_and_years_equal_the_days_behind_them(shown: Country) -> None:
    sea = Region.objects.get(code="TS-S-SEA")
    rnd = random.Random(3)
    given = [date(2024, 11, 20) + timedelta(days=rnd.randrange(500)) for _ in range(300)]
    facts_tallied(
        ("dose", day.isoformat(), 9, sea.pk, "COVISHIELD", 1 + i % 2, "public", "45-59", "male")
        for i, day in enumerate(given)
    )
    facts_tallied(
        ("stock", day.isoformat(), sea.pk, "COVISHIELD", "consumption", -1) for day in given
    )
    tallies_fold_all()
    assert Tally.objects.filter(span="y").exists()
    assert not Tally.objects.filter(dim="hour").exclude(span="d").exists()
    ranges = [
        (date(2024, 12, 1), date(2025, 12, 31)),
        (date(2024, 11, 25), date(2026, 3, 2)),
        (date(2025, 1, 1), date(2025, 1, 31)),
        (date(2025, 6, 15), date(2026, 4, 3)),
    ]
    for first, last in ranges:
        inside = [day for day in given if first <= day <= last]
        data = numbers(
            shown,
            region="TS-S",
            first=first.isoformat(),
            last=last.isoformat(),
            day=last.isoformat(),
        )
        doses = data["doses"]
        assert doses["in_range"] == len(inside)
        assert sum(row["count"] for row in doses["by_dose"]) == len(inside)
        by_region = {row["code"]: row["count"] for row in doses["by_region"]}
        assert by_region == {"TS-S-SEA": len(inside), "TS-S-FOR": 0}
        assert doses["total"] == sum(1 for day in given if day <= last)
        assert data["wastage"]["doses_used"] == len(inside)
        stock = {row["code"]: row for row in data["stock"]["rows"]}
        assert stock["TS-S-SEA"]["doses"] == -sum(1 for day in given if day <= last)
        used = [day for day in given if last - timedelta(days=27) <= day <= last]
        assert stock["TS-S-SEA"]["daily_use"] == round(len(used) / 28, 1)
