"""The public verify page: paste a QR code's text, upload a photo of it, or scan it.

Without JavaScript it is a plain form; with it, a photo or the camera is read in the browser
(jsQR) and its content submitted as text, DIVOC's binary QR as "B64:" and base64.
"""

from datetime import date
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from vaxnet.certificates.formats.base import Verdict
from vaxnet.certificates.trust import trust_from_store
from vaxnet.certificates.verify import (
    MAX_BYTES,
    format_label,
    public_summary,
    reason_message,
    status_label,
    verify_any,
)
from vaxnet.core.errors import DomainError
from vaxnet.core.middleware import client_address
from vaxnet.core.pages import refusal, refused
from vaxnet.core.ratelimit import check_rate, count_held_soon, held

# Verifications per client address (hits, window in seconds): a checker at a venue's door
# scans one person every few seconds; a script trying payloads is stopped.
VERIFY_PER_CLIENT = (60, 60)
TEMPLATE = "certificates/verify.html"


def verify_rate(request: HttpRequest, scope: str) -> None:
    """Count one verification of the client, refusing it (RateLimited, 429) over the limit."""
    # Counted in this process and sent to Redis with other requests' hits: no round trip.
    with held() as hits:
        check_rate(f"verify:{scope}:{client_address(request)}", *VERIFY_PER_CLIENT)
        count_held_soon(hits)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def result_context(verdict: Verdict) -> dict[str, Any]:
    """Return what the page shows of a verdict, in the active language."""
    summary = public_summary(verdict)
    for dose in summary.get("doses", ()):
        dose["day"] = _day(dose["date"])  # shown with the month's name in the language
    return {
        "status": verdict.status,
        "status_label": status_label(verdict.status),
        "format": format_label(verdict.format),
        "message": "" if verdict.valid else reason_message(verdict.reason),
        "summary": summary if "name" in summary else None,
    }


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """Show the verify form, and the result of the certificate posted to it."""
    context: dict[str, Any] = {"text": "", "result": None, "errors": {}, "max_bytes": MAX_BYTES}
    if request.method == "GET":
        return render(request, TEMPLATE, context)
    text = request.POST.get("text", "")
    context["text"] = text[:MAX_BYTES]
    try:
        verify_rate(request, "page")
        if not text.strip():
            raise DomainError(
                "text_missing",
                _("Paste the text of a certificate's QR code, or choose a photo of it."),
                field="text",
                status=400,
            )
    except DomainError as error:
        context["errors"] = refusal(error, "text")
        return refused(request, TEMPLATE, context, error)
    context["result"] = result_context(verify_any(text, trust_from_store()))
    return render(request, TEMPLATE, context)
