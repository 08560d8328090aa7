"""The dashboard as published: kept for a few seconds, and each breakdown as a table.

A view (region, days, vaccine, language) is worked out once per CACHE_SECONDS whatever the
number of people asking; before it is, pending changes are folded in when the tallies are
older than `services.FOLD_EVERY`. So a number shown is at most FOLD_EVERY + CACHE_SECONDS
(plus a fold) behind the event: well within the minute the dashboard promises.
"""

import csv
import io
import json
from typing import Any

from django.core.cache import cache
from django.utils import translation

from vaxnet.dashboard.queries import Query, dashboard
from vaxnet.dashboard.services import fold_if_stale

CACHE_SECONDS = 15

# Each breakdown published as a table: its section of the numbers and its list there.
TABLES: dict[str, tuple[str, str]] = {
    "doses_by_day": ("doses", "by_day"),
    "doses_by_hour_today": ("doses", "by_hour_today"),
    "doses_by_region": ("doses", "by_region"),
    "doses_by_vaccine": ("doses", "by_vaccine"),
    "doses_by_dose": ("doses", "by_dose"),
    "doses_by_age": ("doses", "by_age"),
    "doses_by_sex": ("doses", "by_sex"),
    "doses_by_ownership": ("doses", "by_ownership"),
    "people_by_age": ("people", "by_age"),
    "people_by_sex": ("people", "by_sex"),
    "coverage_by_age": ("coverage", "by_age"),
    "coverage_by_region": ("coverage", "by_region"),
    "dropout": ("dropout", "rows"),
    "aefi_by_severity": ("aefi", "by_severity"),
    "stock_by_region": ("stock", "rows"),
    "registrations_by_age": ("registrations", "by_age"),
    "registrations_by_sex": ("registrations", "by_sex"),
}
# Sections of single numbers, published as one-row tables.
SUMMARIES = ("wastage", "sessions", "bookings")
BREAKDOWNS = (*TABLES, *SUMMARIES)


def published(query: Query) -> dict[str, Any]:
    """Return the dashboard's numbers for a query, as kept for up to CACHE_SECONDS."""
    return json.loads(published_json(query))


def published_json(query: Query) -> bytes:
    """Return the dashboard's numbers for a query as JSON, as kept for up to CACHE_SECONDS.

    Kept as the bytes answered, so that a view asked again costs a cache read.
    """
    key = ":".join(
        (
            "dashboard",
            query.country.code,
            query.region.code,
            query.first.isoformat(),
            query.last.isoformat(),
            query.today.isoformat(),
            query.vaccine.code if query.vaccine else "",
            translation.get_language() or "",
        )
    )
    found: bytes | None = cache.get(key)
    if found is None:
        fold_if_stale()
        found = json.dumps(dashboard(query), ensure_ascii=False).encode()
        cache.set(key, found, CACHE_SECONDS)
    return found


def table(data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Return one breakdown of the numbers as rows, each naming the region and the days."""
    common = {
        "region": data["region"]["code"],
        "from": data["range"]["from"],
        "to": data["range"]["to"],
        "vaccine_filter": data["vaccine"] or "",
    }
    if name in SUMMARIES:
        section = {k: v for k, v in data[name].items() if k != "as_of"}
        return [{**common, **section}]
    section_name, rows_name = TABLES[name]
    return [{**common, **row} for row in data[section_name][rows_name]]


def as_csv(rows: list[dict[str, Any]]) -> str:
    """Return rows as CSV with a header; suppressed (null) counts are empty cells."""
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return out.getvalue()
