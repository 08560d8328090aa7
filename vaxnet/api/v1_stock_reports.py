"""v1 API: stock for staff (`/api/v1/stock/...`): reports and alerts.

Reports on stock on hand, doses in transit, consumption, wastage and days of supply cover
the stores in the user's scope, cut to one store or region of theirs, over a period of
local days; alerts list what needs acting on, most urgent first. The staff session,
access chokepoints and error shape are v1_stock's.
"""

from datetime import date, timedelta
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router

from vaxnet.api import v1_stock_schemas as s
from vaxnet.api.v1_idempotency import json_response
from vaxnet.api.v1_stock import ERRORS, _answer, _ref, _store, _user, staff
from vaxnet.core.access import region_for_staff
from vaxnet.core.errors import DomainError
from vaxnet.stock import reports
from vaxnet.stock.alerts import alerts_for, stores_for
from vaxnet.stock.models import Store
from vaxnet.stock.reports import STOCK_ROLES

router = Router(tags=["Stock"])

REPORT_DAYS = 30
MAX_REPORT_DAYS = 366


# Reports and alerts


def _report_stores(request: HttpRequest, query: s.ReportQuery) -> QuerySet[Store]:
    """Return the stores a report covers: the user's, cut to a store or region of theirs."""
    user = _user(request)
    scope = stores_for(user)
    if scope is None:
        return Store.objects.none()
    if query.store:
        return scope.filter(pk=_store(user, query.store).pk)
    if query.region:
        region = region_for_staff(user, query.region.strip(), STOCK_ROLES)
        return scope.filter(region__path__startswith=region.path)
    return scope


def _period(query: s.ReportQuery, today: date) -> reports.Period:
    end = query.date_to or today
    start = query.date_from or end - timedelta(days=REPORT_DAYS - 1)
    if end < start:
        raise DomainError(
            "period_invalid",
            _("The last day cannot come before the first."),
            field="date_to",
            status=422,
        )
    if (end - start).days >= MAX_REPORT_DAYS:
        raise DomainError(
            "period_too_long",
            _("Choose at most {count} days.").format(count=MAX_REPORT_DAYS),
            field="date_to",
            status=422,
        )
    return reports.Period(start, end)


def _rate_value(value: Any) -> float | None:
    return None if value is None else float(value)


@router.get(
    "/stock/reports/on-hand",
    response={200: s.OnHandReportOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_report_on_hand",
    summary="Report: stock on hand",
)
def report_on_hand(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses each store in scope holds now, by vaccine and batch."""
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "batch": row.batch.public_id,
            "lot_number": row.batch.lot_number,
            "expires_on": row.batch.expires_on,
            "doses": row.doses,
            "vials": row.vials,
        }
        for row in reports.stock_on_hand(_report_stores(request, query))
    ]
    return json_response(200, _answer(s.OnHandReportOut, {"rows": rows}))


@router.get(
    "/stock/reports/in-transit",
    response={200: s.InTransitReportOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_report_in_transit",
    summary="Report: doses in transit",
)
def report_in_transit(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses sent and not yet received, to or from the stores in scope, by destination."""
    rows = [
        {"destination": _ref(row.destination), "vaccine": row.vaccine.code, "doses": row.doses}
        for row in reports.in_transit(_report_stores(request, query))
    ]
    return json_response(200, _answer(s.InTransitReportOut, {"rows": rows}))


@router.get(
    "/stock/reports/consumption",
    response={200: s.ConsumptionReportOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_report_consumption",
    summary="Report: doses given",
)
def report_consumption(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """The doses given in the period (default: the last 30 days), by store and vaccine."""
    period = _period(query, timezone.localdate())
    rows = [
        {"store": _ref(row.store), "vaccine": row.vaccine.code, "doses": row.doses}
        for row in reports.consumption(_report_stores(request, query), period)
    ]
    data = {"date_from": period.start, "date_to": period.end, "rows": rows}
    return json_response(200, _answer(s.ConsumptionReportOut, data))


@router.get(
    "/stock/reports/wastage",
    response={200: s.WastageReportOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_report_wastage",
    summary="Report: wastage rates",
)
def report_wastage(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """Doses given and wasted in the period, from open vials and closed ones, with rates."""
    period = _period(query, timezone.localdate())
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "given": row.given,
            "open_vial": row.open_vial,
            "open_vial_rate": _rate_value(row.open_vial_rate),
            "closed_vial": row.closed_vial,
            "closed_vial_rate": _rate_value(row.closed_vial_rate),
        }
        for row in reports.wastage(_report_stores(request, query), period)
    ]
    data = {"date_from": period.start, "date_to": period.end, "rows": rows}
    return json_response(200, _answer(s.WastageReportOut, data))


@router.get(
    "/stock/reports/days-of-supply",
    response={200: s.SupplyReportOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_report_days_of_supply",
    summary="Report: days of supply",
)
def report_days_of_supply(request: HttpRequest, query: Query[s.ReportQuery]) -> HttpResponse:
    """Doses on hand over the average given a day in the 14 whole days before today."""
    rows = [
        {
            "store": _ref(row.store),
            "vaccine": row.vaccine.code,
            "on_hand": row.on_hand,
            "consumed": row.consumed,
            "daily": float(row.daily),
            "days": _rate_value(row.days),
        }
        for row in reports.days_of_supply(_report_stores(request, query), timezone.localdate())
    ]
    return json_response(200, _answer(s.SupplyReportOut, {"rows": rows}))


@router.get(
    "/stock/alerts",
    response={200: s.AlertsOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_alerts_list",
    summary="Alerts of the stores the staff member answers for",
)
def alerts_list(request: HttpRequest) -> HttpResponse:
    """Low stock, stock-outs, batches near or past expiry and excursions, most urgent first."""
    alerts = [
        {
            "kind": alert.kind,
            "severity": alert.severity,
            "store": _ref(alert.store),
            "message": str(alert.message),
            "vaccine": alert.vaccine.code if alert.vaccine else None,
            "batch": alert.batch.public_id if alert.batch else None,
            "excursion": alert.excursion.public_id if alert.excursion else None,
        }
        for alert in alerts_for(_user(request), timezone.localdate())
    ]
    return json_response(200, _answer(s.AlertsOut, {"alerts": alerts}))
