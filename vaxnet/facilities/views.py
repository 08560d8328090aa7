"""The public facility directory: search by region and postal code, and one centre's page."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from vaxnet.countries.queries import active_country
from vaxnet.facilities import queries


def _page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    """List centres, filtered by region, postal code and kind."""
    country = active_country()
    if country is None:
        raise Http404
    result = queries.facility_directory(
        country=country,
        region_code=request.GET.get("region", "")[:40],
        postal_code=request.GET.get("postal_code", "")[:12],
        kind=request.GET.get("kind", "")[:10],
        page=_page_number(request.GET.get("page")),
    )
    context = {
        "result": result,
        "kind_choices": queries.Facility.Kind.choices,
        "selected_kind": request.GET.get("kind", ""),
    }
    template = (
        "facilities/_results.html" if request.htmx else "facilities/directory.html"  # type: ignore[attr-defined]
    )
    status = 400 if result.errors else 200
    return render(request, template, context, status=status)


@require_GET
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show one centre: where it is, when it is open, what it costs, its coming sessions."""
    facility = queries.facility_public(public_id)
    if facility is None:
        raise Http404
    return render(
        request,
        "facilities/detail.html",
        {"facility": facility, "sessions": queries.upcoming_sessions(facility)},
    )
