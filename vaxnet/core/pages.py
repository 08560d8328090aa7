"""Helpers for the HTML views: refusals shown on the page that asked, htmx, the staff member."""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect

from vaxnet.core.errors import DomainError
from vaxnet.core.models import User


def refusal(error: DomainError, default_field: str = "__all__") -> dict[str, str]:
    """Return a refusal as {field: message}, for the field it names or a default."""
    return {error.field or default_field: str(error.message)}


def refused(
    request: HttpRequest, template: str, context: dict[str, Any], error: DomainError
) -> HttpResponse:
    """Render a page again with a refusal, under its HTTP status (and Retry-After for a 429)."""
    response = render(request, template, context, status=error.status)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def is_htmx(request: HttpRequest) -> bool:
    """Return whether htmx made the request (it swaps in a fragment, not a whole page)."""
    return bool(getattr(request, "htmx", False))


def go(request: HttpRequest, url: str) -> HttpResponse:
    """Send the browser to a page: a full navigation, also from an htmx request."""
    return HttpResponseClientRedirect(url) if is_htmx(request) else redirect(url)


def staff_user(request: HttpRequest) -> User:
    """Return the signed-in staff member of a view behind `staff_required` (else 404)."""
    user = request.user
    if not isinstance(user, User):
        raise Http404
    return user
