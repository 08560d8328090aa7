"""The public key and revocation files verifiers download (see certificates.publish)."""

from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from vaxnet.certificates import publish

# Verifiers poll these: a few minutes' caching bounds the load and still spreads a
# revocation within the hour.
MAX_AGE = 300


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={MAX_AGE}"
    # Web verifiers on other origins fetch the keys (the SMART Health Cards spec asks for it).
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _json(build: Callable[[], dict[str, Any]]) -> Callable[[HttpRequest], HttpResponse]:
    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        return _public(JsonResponse(build()))

    return view


jwks = _json(publish.jwks)
did_document = _json(publish.did_document)
dsc_list = _json(publish.dsc_list)


@require_GET
def shc_crl(request: HttpRequest, kid: str) -> HttpResponse:
    """Answer the revocation list of one SMART Health Card key."""
    content = publish.shc_crl(kid)
    if content is None:
        raise Http404
    return _public(JsonResponse(content))


@require_GET
def revocation_list(request: HttpRequest) -> HttpResponse:
    """Answer the signed list of revoked certificate ids, as a compact JWS."""
    return _public(HttpResponse(publish.revocation_list(), content_type="application/jose"))
