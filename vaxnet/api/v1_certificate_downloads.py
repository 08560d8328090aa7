"""v1 API: a citizen's certificates, as data with their QR payloads and as PDFs.

Bearer token of /auth/token, access through people.access (missing and not-yours are both
404); refusals are {"error": {"code", "message"}} in the caller's language, as on all of v1.
"""

from datetime import datetime

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from vaxnet.api.v1_auth import BearerToken, caller_language
from vaxnet.api.v1_idempotency import json_response
from vaxnet.api.v1_schemas import ErrorOut
from vaxnet.certificates.documents import (
    DOMESTIC,
    current_certificate,
    current_certificates_of,
    document_choice,
    signed_certificate,
)
from vaxnet.certificates.download_views import document_response, requested_codes
from vaxnet.certificates.models import Certificate
from vaxnet.core.errors import DomainError
from vaxnet.people.access import beneficiary_for_account
from vaxnet.people.models import Account

router = Router(tags=["Certificates"])
bearer = BearerToken()
ERRORS: dict[int, type[Schema]] = {400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut}


class CertificateOut(Schema):
    uvci: str
    target: str
    kind: str
    version: int
    doses: int
    issued_at: datetime
    status: str
    payloads: dict[str, str]


class CertificatesOut(Schema):
    certificates: list[CertificateOut]


def _account(request: HttpRequest) -> Account:
    account: Account = request.auth  # type: ignore[attr-defined]
    return account


def _certificate_out(certificate: Certificate) -> dict[str, object]:
    return {
        "uvci": certificate.uvci,
        "target": certificate.target,
        "kind": certificate.kind,
        "version": certificate.version,
        "doses": certificate.doses,
        "issued_at": certificate.issued_at.isoformat(),
        "status": certificate.status,
        "payloads": dict(certificate.payloads),
    }


@router.get(
    "/beneficiaries/{reference}/certificates",
    response={200: CertificatesOut, **ERRORS},
    auth=bearer,
    summary="A person's current certificates, with the QR text of each format",
)
def certificates_list(request: HttpRequest, reference: str) -> HttpResponse:
    """The person's valid certificates, one per disease, signed on first use."""
    beneficiary = beneficiary_for_account(_account(request), reference)
    listed = []
    for certificate in current_certificates_of([beneficiary]):
        try:
            listed.append(_certificate_out(signed_certificate(certificate)))
        except DomainError:
            continue  # replaced and revoked while this was read: nothing to show for it
    return json_response(200, {"certificates": listed})


@router.get(
    "/beneficiaries/{reference}/certificate.pdf",
    response={200: None, 304: None, **ERRORS},
    auth=bearer,
    summary="A person's certificate as a PDF",
)
def certificate_pdf(
    request: HttpRequest,
    reference: str,
    language: str = "",
    variant: str = DOMESTIC,
    codes: str = "",
    target: str = "",
) -> HttpResponse:
    """The PDF in a pack language (default: the caller's), domestic or international.

    `codes` is a comma-separated choice of w3c_vc, eu_dcc and shc (default: the variant's).
    """
    account = _account(request)
    beneficiary = beneficiary_for_account(account, reference)
    certificate = current_certificate(beneficiary, target or None)
    certificate, choice = document_choice(
        certificate=certificate,
        language=language or caller_language(request, account),
        variant=variant,
        codes=requested_codes([codes]),
    )
    return document_response(request, certificate, choice)
