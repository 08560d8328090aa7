"""Dashboard tests: the facility-day world, doses given with their events, numbers read back."""

from typing import Any

import pytest
from django.core.cache import cache

from vaxnet.countries.models import Country
from vaxnet.dashboard.queries import dashboard, query_of
from vaxnet.dashboard.services import tallies_fold_all

from ..certificates.conftest import give_dose
from ..vaccination.day import asha, batch, booked, citizen, clock, phc_store, today_session

__all__ = [
    "BAD_QUERIES",
    "asha",
    "batch",
    "booked",
    "citizen",
    "clock",
    "give_dose",
    "numbers",
    "phc_store",
    "today_session",
]


# Parameters the dashboard cannot read: each with its error code and message.
BAD_QUERIES = [
    ({"region": "NOWHERE"}, "unknown_region", "There is no region with this code."),
    ({"vaccine": "NOPE"}, "unknown_vaccine", "There is no vaccine with this code."),
    ({"from": "2026-13-01"}, "invalid_date", "Give dates as YYYY-MM-DD, for example 2026-11-28."),
    ({"from": "0001-01-01"}, "date_out_of_range", "Give a date from 1901-01-01 to 9998-12-31."),
    ({"to": "9999-12-31"}, "date_out_of_range", "Give a date from 1901-01-01 to 9998-12-31."),
    (
        {"from": "2026-03-02", "to": "2026-03-01"},
        "invalid_range",
        "The first day comes after the last.",
    ),
    (
        {"from": "2020-01-01", "to": "2026-03-01"},
        "range_too_long",
        "Ask for at most 1098 days at a time.",
    ),
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    """Views are kept for a few seconds: each test starts with none kept."""
    cache.clear()


@pytest.fixture
def shown(country: Country) -> Country:
    """The country with nothing suppressed, so that small numbers show."""
    country.config.setdefault("population", {})["suppress_below"] = 0
    country.save(update_fields=["config"])
    return country


def numbers(country: Country, **params: Any) -> dict[str, Any]:
    """Fold what is pending and return the dashboard's numbers for these parameters."""
    tallies_fold_all()
    country.refresh_from_db()
    return dashboard(query_of(country, **params))
