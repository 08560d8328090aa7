"""v1 API: the public dashboard's numbers and open data (`GET /api/v1/dashboard…`).

No authentication: everything here is published. `GET /api/v1/dashboard` answers every
number for a region, a range of days and optionally one vaccine (the schema below, also in
docs/dashboard.md); `GET /api/v1/dashboard/{breakdown}.csv` and `.json` answer one
breakdown as a table. Counts below the pack's `suppress_below` are null ("" in CSV).
Answers are kept for CACHE_SECONDS, so a view is at most that much older than the tallies,
which are folded every 10 seconds: within a minute of the event.
"""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router

from vaxnet.api.v1 import ERRORS
from vaxnet.api.v1_auth import speak
from vaxnet.api.v1_dashboard_schemas import DashboardOut, DashboardQuery
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.dashboard import queries
from vaxnet.dashboard.published import BREAKDOWNS, as_csv, published, published_json, table

router = Router(tags=["dashboard"])


def _query(request: HttpRequest, params: DashboardQuery) -> queries.Query:
    speak(request)
    offered = [code for code, _name in settings.LANGUAGES]
    if params.lang in offered:
        translation.activate(params.lang)
        request.LANGUAGE_CODE = params.lang
    country = queries.served_country()
    if country is None:  # pragma: no cover - a deployment without its pack serves nothing
        raise NotFound()
    return queries.query_of(
        country,
        region=params.region,
        day=params.date,
        first=params.from_,
        last=params.to,
        vaccine=params.vaccine,
    )


@router.get(
    "/dashboard",
    response={200: DashboardOut, **ERRORS},
    summary="The public dashboard's numbers for a region and a range of days",
)
def dashboard_numbers(request: HttpRequest, params: Query[DashboardQuery]) -> HttpResponse:
    """Every number of the dashboard, each as of the time in its `as_of`."""
    # The kept JSON as it is: the tests check that it is what DashboardOut says.
    response = HttpResponse(
        published_json(_query(request, params)), content_type="application/json"
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


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
    data = published(_query(request, params))
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
