"""The public dashboard page, at /dashboard/: one region's numbers, charts and open data."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET

from vaxnet.core.errors import DomainError
from vaxnet.core.pages import refusal, refused
from vaxnet.countries.models import Country
from vaxnet.countries.queries import active_country
from vaxnet.dashboard import page
from vaxnet.dashboard.published import BREAKDOWNS, published
from vaxnet.dashboard.queries import Query, query_of, vaccines_offered
from vaxnet.geo.models import Region

TEMPLATE = "dashboard/page.html"


def _ancestors(region: Region) -> list[Region]:
    """Return the regions above this one, the country first."""
    codes = [code for code in region.path.strip("/").split("/") if code != region.code]
    found = {r.code: r for r in Region.objects.filter(country_id=region.country_id, code__in=codes)}
    return [found[code] for code in codes if code in found]


def _child_level(country: Country, region: Region) -> str:
    level = Region.objects.filter(parent=region).values_list("level", flat=True).first()
    return country.level_name(level) if level else ""


def _shown(query: Query, asked: dict[str, str]) -> dict[str, Any]:
    """Return what the page shows of the query's published numbers."""
    data = published(query)
    level = _child_level(query.country, query.region)
    doses = page.dose_tables(data)
    coverage = page.coverage_table(data)
    regions = page.region_tables(data, asked, level)
    language = translation.get_language() or ""
    return {
        "data": data,
        "region": query.region,
        "ancestors": [
            (region, page.page_url("" if region.depth == 0 else region.code, asked))
            for region in _ancestors(query.region)
        ],
        "child_level": level,
        "children": [
            {**child, "url": page.page_url(child["code"], asked)} for child in data["children"]
        ],
        "as_of": page.as_of(data["as_of"]),
        "groups": page.headline(data),
        "dose_tables": doses,
        "coverage_table": coverage,
        "region_tables": regions,
        "other_tables": page.other_tables(data),
        "charts": {
            "lang": language,
            "charts": {
                table.key: table.chart for table in (*doses, coverage, *regions) if table.chart
            },
        },
        "open_data": page.open_data(BREAKDOWNS, data, asked, language),
        "vaccines": data["vaccines"],
        "first": data["range"]["from"],
        "last": data["range"]["to"],
        "first_day": query.first,
        "last_day": query.last,
    }


@require_GET
def dashboard_page(request: HttpRequest) -> HttpResponse:
    """Show the dashboard of a region (the country by default) for a range of days."""
    country = active_country()
    if country is None:
        raise Http404
    asked = {name: request.GET.get(name, "").strip()[:40] for name in page.FILTERS}
    context: dict[str, Any] = {"asked": asked, "errors": {}}
    try:
        query = query_of(
            country,
            region=asked["region"],
            first=asked["from"],
            last=asked["to"],
            vaccine=asked["vaccine"],
        )
    except DomainError as error:
        context["errors"] = refusal(error, "region")
        context["vaccines"] = vaccines_offered(country)
        return refused(request, TEMPLATE, context, error)
    context.update(_shown(query, asked))
    return render(request, TEMPLATE, context)
