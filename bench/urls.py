"""The project's routes plus a bare view that serves fixed bytes: the ceiling to compare with."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from vaxnet.urls import urlpatterns as project_urlpatterns

BODY = {"bytes": b""}


def bare(request: HttpRequest) -> HttpResponse:
    """Return the stored bytes, with no database work and no template."""
    return HttpResponse(BODY["bytes"], content_type="text/html; charset=utf-8")


urlpatterns = [*project_urlpatterns, path("bench/bare", bare)]
