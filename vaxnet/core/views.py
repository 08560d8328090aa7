"""The home page and the health check."""

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from vaxnet.facilities import queries as facility_queries


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Show what vaxnet offers here and a centre search."""
    return render(request, "core/home.html", facility_queries.home_summary())


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer whether the process can reach its database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
