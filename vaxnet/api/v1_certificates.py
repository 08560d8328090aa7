"""v1 API: certificate verification for anyone (`POST /api/v1/certificates/verify`).

No authentication; rate limited per client address like the verify page. Valid, invalid
and revoked certificates all answer 200 with the verdict; only a request that holds no
certificate to check (nothing given, or too much) is refused, with 400.
"""

import base64
import binascii

from django.http import HttpRequest
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from vaxnet.api.v1 import ERRORS
from vaxnet.api.v1_auth import speak
from vaxnet.certificates.trust import trust_from_store
from vaxnet.certificates.verify import MAX_BYTES, public_summary, reason_message, verify_any
from vaxnet.certificates.verify_views import verify_rate
from vaxnet.core.errors import DomainError

router = Router(tags=["certificates"])


class VerifyIn(Schema):
    """A certificate's QR content: its text, or the QR's raw bytes in base64 (DIVOC's ZIP)."""

    text: str | None = None
    qr_base64: str | None = None


class DoseOut(Schema):
    vaccine: str
    number: int
    of: int
    date: str


class CertificateOut(Schema):
    """The least a verifier shows: who, how old, what vaccine, which doses."""

    name: str
    age: int | None
    vaccine: str
    doses: list[DoseOut]


class VerifyOut(Schema):
    status: str  # valid | invalid | revoked
    format: str  # w3c_vc | eu_dcc | shc, or "" when unreadable
    reason: str  # a reason code when not valid, else ""
    message: str  # the reason in the caller's language, else ""
    certificate: CertificateOut | None


def _bad(code: str, message: str | Promise, field: str) -> DomainError:
    return DomainError(code, message, field=field, status=400)


def _input(payload: VerifyIn) -> str | bytes:
    """Return what to verify, or refuse a request that holds nothing to check or too much."""
    if payload.qr_base64:
        # Base64 is a third longer than the bytes it carries.
        if len(payload.qr_base64) > MAX_BYTES * 4 // 3 + 4:
            raise _bad("certificate_too_large", _("The QR content is too large."), "qr_base64")
        try:
            return base64.b64decode(payload.qr_base64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise _bad(
                "qr_base64_invalid", _("qr_base64 is not valid base64."), "qr_base64"
            ) from None
    if not payload.text or not payload.text.strip():
        raise _bad(
            "certificate_missing",
            _("Give the certificate's QR text in text, or its bytes in qr_base64."),
            "text",
        )
    if len(payload.text) > MAX_BYTES:
        raise _bad("certificate_too_large", _("The QR content is too large."), "text")
    return payload.text


@router.post(
    "/certificates/verify",
    response={200: VerifyOut, **ERRORS},
    summary="Verify a vaccination certificate (EU DCC, SMART Health Card or DIVOC)",
    auth=None,
)
def certificates_verify(request: HttpRequest, payload: VerifyIn) -> VerifyOut:
    """Check a certificate's signature, key, revocation and dates; answer the minimum it says."""
    speak(request)
    verify_rate(request, "api")
    verdict = verify_any(_input(payload), trust_from_store())
    summary = public_summary(verdict)
    return VerifyOut(
        status=verdict.status,
        format=verdict.format,
        reason=verdict.reason,
        message="" if verdict.valid else reason_message(verdict.reason),
        certificate=CertificateOut(**{k: v for k, v in summary.items() if k != "status"})
        if "name" in summary
        else None,
    )
