"""Citizen pages: the account's certificates, and their PDFs to download."""

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from vaxnet.certificates.documents import (
    CODE_LABELS,
    DOMESTIC,
    INTERNATIONAL,
    Choice,
    KeptDocument,
    certificate_document,
    current_certificate,
    current_certificates_of,
    document_choice,
    document_etag,
    document_render,
    pdf_filename,
)
from vaxnet.certificates.formats.base import EU_DCC, FORMATS
from vaxnet.certificates.models import Certificate
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.pages import refusal, refused
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.auth import account_required
from vaxnet.people.models import Account, Beneficiary


def requested_codes(values: Iterable[str]) -> list[str]:
    """Return the QR codes asked for, given as repeated values or comma-separated."""
    return [code for value in values for code in value[:100].split(",") if code.strip()]


def pdf_response(
    request: HttpRequest, *, etag: str, filename: str, pdf: Callable[[], bytes]
) -> HttpResponse:
    """Answer a certificate PDF, or 304 when the caller holds this very version."""
    if etag in request.headers.get("If-None-Match", ""):
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(pdf(), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["ETag"] = etag
    # Personal data: browsers may keep it, shared caches never. A new version of the
    # certificate has a new ETag, so revalidation always finds a correction.
    patch_cache_control(response, private=True, no_cache=True)
    return response


def document_response(
    request: HttpRequest, certificate: Certificate, choice: Choice, *, kept_missing: bool = False
) -> HttpResponse:
    """Answer the PDF of a checked choice, rendered and kept on first download.

    `kept_missing`: the caller found no kept PDF (`documents.download_of`): render at once.
    """

    def pdf() -> bytes:
        if kept_missing:
            return document_render(certificate, choice)
        return certificate_document(
            certificate=certificate,
            language=choice.language,
            variant=choice.variant,
            codes=choice.codes,
        )

    return pdf_response(
        request,
        etag=document_etag(certificate, choice),
        filename=pdf_filename(certificate, choice.language),
        pdf=pdf,
    )


def kept_response(request: HttpRequest, kept: KeptDocument) -> HttpResponse:
    """Answer a PDF found kept by `documents.kept_document_of`."""
    return pdf_response(request, etag=kept.etag, filename=kept.filename, pdf=lambda: kept.pdf)


@require_GET
@account_required
def certificates(request: HttpRequest, account: Account) -> HttpResponse:
    """List the current certificates of the account's members, with the download choices."""
    members = list(Beneficiary.objects.filter(account=account).order_by("created_at", "pk"))
    held: dict[int, list[Certificate]] = {member.pk: [] for member in members}
    for certificate in current_certificates_of(members):
        held[certificate.beneficiary_id].append(certificate)
    rows: list[dict[str, Any]] = [
        {
            "member": member,
            "certificates": [
                {
                    "certificate": certificate,
                    # Not yet signed: whether an EU DCC can be made is known once it is.
                    "codes": [
                        (code, CODE_LABELS[code])
                        for code in FORMATS
                        if code != EU_DCC or certificate.has_eu_dcc or not certificate.is_signed()  # type: ignore[attr-defined]
                    ],
                }
                for certificate in held[member.pk]
            ],
        }
        for member in members
    ]
    language = getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)
    return render(
        request,
        "certificates/download.html",
        {
            "account": account,
            "rows": rows,
            "language_choices": settings.LANGUAGES,
            "language": language,
            "variants": [DOMESTIC, INTERNATIONAL],
        },
    )


@require_GET
@account_required
def download(request: HttpRequest, account: Account, reference: str, target: str) -> HttpResponse:
    """Download a member's certificate as a PDF in the chosen language, variant and codes."""
    try:
        beneficiary = beneficiary_for_account(account, reference)
        certificate = current_certificate(beneficiary, target)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        if error.status == 404:
            raise Http404 from None
        raise
    query = request.GET
    language = query.get("language") or str(getattr(request, "LANGUAGE_CODE", account.language))
    try:
        certificate, choice = document_choice(
            certificate=certificate,
            language=language,
            variant=query.get("variant") or DOMESTIC,
            codes=requested_codes(query.getlist("codes")),
        )
    except DomainError as error:
        if error.status == 404:
            raise Http404 from None
        context = {"errors": refusal(error), "member": beneficiary}
        return refused(request, "certificates/download_refused.html", context, error)
    return document_response(request, certificate, choice)
