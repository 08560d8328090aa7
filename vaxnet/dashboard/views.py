"""The public dashboard page, at /dashboard/: one region's numbers, charts and open data."""

import hashlib
import json
from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from vaxnet.core.errors import DomainError
from vaxnet.core.pages import refusal, refused
from vaxnet.countries.models import Country
from vaxnet.dashboard import page
from vaxnet.dashboard.published import BREAKDOWNS, CACHE_SECONDS, published_json
from vaxnet.dashboard.queries import Query, outline, query_of, served_country, vaccines_offered
from vaxnet.geo.models import Region

TEMPLATE = "dashboard/page.html"
# The page's content: kept, and put into TEMPLATE with what differs per request.
CONTENT = "dashboard/_content.html"


def _ancestors(country: Country, region: Region) -> list[Region]:
    """Return the regions above this one, the country first."""
    known = outline(country)
    codes = [code for code in region.path.strip("/").split("/") if code != region.code]
    return [known.regions[code] for code in codes if code in known.regions]


def _child_level(country: Country, region: Region) -> str:
    known = outline(country)
    children = known.children.get(region.pk)
    return country.level_name(known.by_pk[children[0][0]].level) if children else ""


def _shown(query: Query, asked: dict[str, str], data: dict[str, Any]) -> dict[str, Any]:
    """Return what the page shows of the query's published numbers."""
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
            for region in _ancestors(query.country, query.region)
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
    country = served_country()
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
        context["content"] = render_to_string(CONTENT, context, request)
        return refused(request, TEMPLATE, context, error)
    return render(
        request, TEMPLATE, {"region": query.region, "content": _content(request, query, asked)}
    )


def _content(request: HttpRequest, query: Query, asked: dict[str, str]) -> SafeString:
    """Return the page's content for the query, as kept while its published numbers are.

    Kept under the numbers' own digest: a page never outlives the numbers it shows.
    """
    numbers = published_json(query)
    digest = hashlib.blake2b(numbers, digest_size=16).hexdigest()
    filters = "&".join(f"{name}={asked[name]}" for name in page.FILTERS)
    key = f"dashboard-page:{digest}:{translation.get_language() or ''}:{filters}"
    found: str | None = cache.get(key)
    if found is None:
        context = {"asked": asked, "errors": {}, **_shown(query, asked, json.loads(numbers))}
        found = render_to_string(CONTENT, context, request)
        cache.set(key, found, CACHE_SECONDS)
    return mark_safe(found)  # noqa: S308 (rendered by our own template, escaped there)
