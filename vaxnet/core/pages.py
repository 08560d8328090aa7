"""Helpers for the HTML views: a service's refusal shown on the page that asked."""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from vaxnet.core.errors import DomainError


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
