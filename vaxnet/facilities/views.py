"""The public facility directory."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def directory(request: HttpRequest) -> HttpResponse:
    """List centres, filtered by region and postal code."""
    raise NotImplementedError


@require_GET
def detail(request: HttpRequest, public_id: str) -> HttpResponse:
    """Show one centre."""
    raise NotImplementedError
