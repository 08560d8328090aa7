"""Staff pages for stock: the reports of the stores one answers for, their CSV, and the alerts.

Store keepers see their store's, district, state and national administrators those of every
store in their region. A store or region outside that answers 404, as a missing one does.
"""

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from vaxnet.booking.staff_views import staff_required
from vaxnet.core.access import region_for_staff
from vaxnet.core.errors import NotFound
from vaxnet.core.pages import staff_user
from vaxnet.geo.models import Region
from vaxnet.stock import reports
from vaxnet.stock.alerts import alerts_in, stores_for
from vaxnet.stock.models import Store
from vaxnet.stock.queries import store_for_staff

DEFAULT_DAYS = 30
MAX_DAYS = 366
ROWS_SHOWN = 200
STORE_CHOICES = 500
# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Column:
    """A report's column: its translated header, its raw value, and how a page shows it."""

    header: Promise
    value: Callable[[Any], object]
    shown: Callable[[Any], object] | None = None


@dataclass(frozen=True)
class Report:
    """A report's title, what it says, its columns and how its rows are read."""

    title: Promise
    about: Promise
    columns: Sequence[Column]
    rows: Callable[[QuerySet[Store], reports.Period, date], Sequence[Any]]


def _percent(value: Decimal | None) -> str:
    if value is None:
        return "—"
    return _("{rate}%").format(rate=number_format(value * 100, 1))


def _days(value: Decimal | None) -> str:
    if value is None:
        return _("No doses given")
    return number_format(value, 1)


_STORE = Column(gettext_lazy("Store"), lambda row: row.store.name)
_VACCINE = Column(gettext_lazy("Vaccine"), lambda row: row.vaccine.code)

REPORTS: dict[str, Report] = {
    "on-hand": Report(
        gettext_lazy("Stock on hand"),
        gettext_lazy("The doses each store holds now, by vaccine and batch."),
        [
            _STORE,
            _VACCINE,
            Column(gettext_lazy("Batch"), lambda row: row.batch.lot_number),
            Column(gettext_lazy("Expiry date"), lambda row: row.batch.expires_on),
            Column(gettext_lazy("Doses"), lambda row: row.doses),
            Column(gettext_lazy("Vials"), lambda row: row.vials),
        ],
        lambda stores, period, today: reports.stock_on_hand(stores),
    ),
    "in-transit": Report(
        gettext_lazy("In transit"),
        gettext_lazy("The doses sent and not yet received, by destination and vaccine."),
        [
            Column(gettext_lazy("Destination"), lambda row: row.destination.name),
            _VACCINE,
            Column(gettext_lazy("Doses"), lambda row: row.doses),
        ],
        lambda stores, period, today: reports.in_transit(stores),
    ),
    "consumption": Report(
        gettext_lazy("Consumption"),
        gettext_lazy("The doses given in the period, by store and vaccine."),
        [
            _STORE,
            _VACCINE,
            Column(gettext_lazy("Doses given"), lambda row: row.doses),
        ],
        lambda stores, period, today: reports.consumption(stores, period),
    ),
    "wastage": Report(
        gettext_lazy("Wastage rate"),
        gettext_lazy(
            "Doses wasted in the period, from open vials and from closed ones; "
            "each rate is the doses wasted over the doses given and wasted."
        ),
        [
            _STORE,
            _VACCINE,
            Column(gettext_lazy("Doses given"), lambda row: row.given),
            Column(gettext_lazy("Open-vial doses wasted"), lambda row: row.open_vial),
            Column(
                gettext_lazy("Open-vial wastage rate"),
                lambda row: row.open_vial_rate,
                lambda row: _percent(row.open_vial_rate),
            ),
            Column(
                gettext_lazy("Closed-vial doses wasted"),
                lambda row: row.closed_vial,
            ),
            Column(
                gettext_lazy("Closed-vial wastage rate"),
                lambda row: row.closed_vial_rate,
                lambda row: _percent(row.closed_vial_rate),
            ),
        ],
        lambda stores, period, today: reports.wastage(stores, period),
    ),
    "days-of-supply": Report(
        gettext_lazy("Days of supply"),
        gettext_lazy(
            "The doses on hand over the average doses given a day in the 14 days before today."
        ),
        [
            _STORE,
            _VACCINE,
            Column(gettext_lazy("Doses on hand"), lambda row: row.on_hand),
            Column(gettext_lazy("Doses given in 14 days"), lambda row: row.consumed),
            Column(
                gettext_lazy("Doses a day"),
                lambda row: row.daily,
                lambda row: number_format(row.daily, 1),
            ),
            Column(
                gettext_lazy("Days of supply"),
                lambda row: row.days,
                lambda row: _days(row.days),
            ),
        ],
        lambda stores, period, today: reports.days_of_supply(stores, today),
    ),
}


@dataclass(frozen=True)
class Filters:
    """What the reports cover: the stores chosen within the user's, and the local days."""

    stores: QuerySet[Store]
    period: reports.Period
    store: Store | None
    region: Region | None
    errors: dict[str, str]

    def query(self) -> str:
        """Return the query string that asks for the same stores and days."""
        params = {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}
        if self.store is not None:
            params["store"] = self.store.public_id
        if self.region is not None:
            params["region"] = self.region.code
        return urlencode(params)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None


def _period(request: HttpRequest, today: date, errors: dict[str, str]) -> reports.Period:
    default = reports.Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    raw_start, raw_end = request.GET.get("from", ""), request.GET.get("to", "")
    start = _day(raw_start) if raw_start else default.start
    end = _day(raw_end) if raw_end else default.end
    if start is None:
        errors["from"] = _("Give the first day as a date.")
    if end is None:
        errors["to"] = _("Give the last day as a date.")
    if start is None or end is None:
        return default
    if end < start:
        errors["to"] = _("The last day cannot come before the first.")
        return default
    if (end - start).days >= MAX_DAYS:
        errors["to"] = _("Choose at most {count} days.").format(count=MAX_DAYS)
        return default
    return reports.Period(start, end)


def _filters(request: HttpRequest, scope: QuerySet[Store], today: date) -> Filters:
    """Read the filters; a store or region the user does not answer for is a 404."""
    user = staff_user(request)
    errors: dict[str, str] = {}
    stores, store, region = scope, None, None
    store_id = request.GET.get("store", "").strip()[:16]
    region_code = request.GET.get("region", "").strip()[:40]
    try:
        if store_id:
            store = store_for_staff(user, store_id, reports.STOCK_ROLES)
            stores = scope.filter(pk=store.pk)
        elif region_code:
            region = region_for_staff(user, region_code, reports.STOCK_ROLES)
            stores = scope.filter(region__path__startswith=region.path)
    except NotFound:
        raise Http404 from None
    return Filters(stores, _period(request, today, errors), store, region, errors)


def _table(key: str, report: Report, rows: Sequence[Any], filters: Filters) -> dict[str, Any]:
    shown = rows[:ROWS_SHOWN]
    return {
        "key": key,
        "title": report.title,
        "about": report.about,
        "headers": [column.header for column in report.columns],
        "rows": [
            [(column.shown or column.value)(row) for column in report.columns] for row in shown
        ],
        "total": len(rows),
        "cut": len(rows) > len(shown),
        "csv_url": f"{reverse('stock_reports:csv', args=[key])}?{filters.query()}",
    }


def _choices(scope: QuerySet[Store]) -> tuple[list[Store], list[Region]]:
    stores = list(scope.order_by("name", "pk")[:STORE_CHOICES])
    regions = [
        store.region
        for store in scope.filter(facility__isnull=True)
        .select_related("region")
        .order_by("region__path")
    ]
    return stores, regions


@require_GET
@staff_required
def report_page(request: HttpRequest) -> HttpResponse:
    """Show the stock reports of the stores the user answers for, with links to their CSV."""
    scope = stores_for(staff_user(request))
    if scope is None:
        return render(request, "stock/reports/page.html", {"scope": None})
    today = timezone.localdate()
    filters = _filters(request, scope, today)
    tables = [
        _table(key, report, report.rows(filters.stores, filters.period, today), filters)
        for key, report in REPORTS.items()
    ]
    context = {"scope": scope, "filters": filters, "tables": tables, "today": today}
    if getattr(request, "htmx", False):
        return render(request, "stock/reports/_results.html", context)
    stores, regions = _choices(scope)
    context |= {"stores": stores, "regions": regions}
    return render(request, "stock/reports/page.html", context)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


@require_GET
@staff_required
def report_csv(request: HttpRequest, key: str) -> HttpResponse:
    """Send one report as CSV: a header row, then a row per line, numbers as they are."""
    report = REPORTS.get(key)
    scope = stores_for(staff_user(request))
    if report is None or scope is None:
        raise Http404
    today = timezone.localdate()
    filters = _filters(request, scope, today)
    rows = report.rows(filters.stores, filters.period, today)
    name = f"{key}-{filters.period.start.isoformat()}-{filters.period.end.isoformat()}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow([str(column.header) for column in report.columns])
    for row in rows:
        writer.writerow([_cell(column.value(row)) for column in report.columns])
    return response


@require_GET
@staff_required
def alert_page(request: HttpRequest) -> HttpResponse:
    """Show the alerts of the stores the user answers for, the most urgent first."""
    scope = stores_for(staff_user(request))
    today = timezone.localdate()
    alerts = [] if scope is None else alerts_in(scope, today)
    return render(
        request, "stock/reports/alerts.html", {"scope": scope, "alerts": alerts, "today": today}
    )
