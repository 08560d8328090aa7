"""Certificate PDFs for download: checked choices, rendered once per choice and kept.

A kept PDF is served with three small queries (the person, their current certificate, the
kept bytes) and without loading the certificate's record or payloads. A correction issues a
new certificate, so a kept PDF can never show details that were corrected since.
"""

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from vaxnet.certificates.formats.base import EU_DCC, FORMATS, SHC, W3C_VC
from vaxnet.certificates.models import Certificate, CertificateDocument
from vaxnet.certificates.record import CertificateRecord
from vaxnet.certificates.services import certificate_sign
from vaxnet.core.errors import DomainError
from vaxnet.core.i18n import localized
from vaxnet.core.qr import QrSymbol
from vaxnet.people.models import Account, Beneficiary

DOMESTIC = "domestic"
INTERNATIONAL = "international"
VARIANTS = (DOMESTIC, INTERNATIONAL)
# What each variant shows unless the person chooses: the DIVOC QR at home, as CoWIN's
# certificate had; the codes foreign verifiers read abroad.
DEFAULT_CODES = {DOMESTIC: (W3C_VC,), INTERNATIONAL: (EU_DCC, SHC)}
# Printed under each QR code: the names verifier apps use, the same in every language.
CODE_LABELS = {W3C_VC: "DIVOC (CoWIN)", EU_DCC: "EU DCC", SHC: "SMART Health Card"}
_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


@dataclass(frozen=True)
class Choice:
    """A checked choice of PDF: its language, variant and QR codes in their fixed order."""

    language: str
    variant: str
    codes: tuple[str, ...]

    @property
    def key(self) -> str:
        """Return the codes as CertificateDocument keeps them."""
        return "+".join(self.codes)


def _qr_makers() -> dict[str, Callable[[str], QrSymbol]]:
    # The format modules pull in JSON-LD and CBOR: loaded only when a PDF is rendered.
    from vaxnet.certificates.formats import eu_dcc, shc, w3c_vc

    return {W3C_VC: w3c_vc.qr, EU_DCC: eu_dcc.qr, SHC: shc.qr}


# Whether an EU DCC was made: enough to choose the QR codes without the payloads.
_HAS_EU_DCC = ExpressionWrapper(Q(payloads__has_key=EU_DCC), output_field=BooleanField())


def _lean(certificates: QuerySet[Certificate]) -> QuerySet[Certificate]:
    """Return the certificates without their records and payloads, knowing if an EU DCC exists."""
    return certificates.defer("record", "payloads", "kids").annotate(has_eu_dcc=_HAS_EU_DCC)


def current_certificates_of(beneficiaries: Iterable[Beneficiary]) -> QuerySet[Certificate]:
    """Return the valid certificates of these people, without their records and payloads."""
    return _lean(
        Certificate.objects.filter(
            beneficiary__in=[b.pk for b in beneficiaries], status=Certificate.Status.VALID
        )
    ).order_by("beneficiary_id", "target")


def current_certificate(beneficiary: Beneficiary, target: str | None = None) -> Certificate:
    """Return the person's valid certificate for a disease (the latest issued if none named)."""
    found = Certificate.objects.filter(
        beneficiary_id=beneficiary.pk, status=Certificate.Status.VALID
    )
    if target:
        # At most one valid certificate per person and disease: no order to build.
        found = found.filter(target=target[:40]).order_by()
    else:
        found = found.order_by("-issued_at", "-pk")
    certificate = next(iter(_lean(found)[:1]), None)
    if certificate is None:
        raise DomainError(
            "no_certificate", _("There is no certificate for this person yet."), status=404
        )
    # The caller's person, with what it loaded (its ID document type): not read again.
    certificate.beneficiary = beneficiary
    return certificate


def _formats(certificate: Certificate) -> set[str]:
    """Return the formats a signed certificate has payloads for, loading as little as can be."""
    if "payloads" not in certificate.get_deferred_fields():
        return set(certificate.payloads)
    has_eu = getattr(certificate, "has_eu_dcc", None)
    if has_eu is None:
        return set(certificate.payloads)  # loads the deferred field
    # Signing always makes the W3C and SMART payloads; the EU DCC only where value sets allow.
    return {W3C_VC, SHC, *([EU_DCC] if has_eu else [])}


def signed_certificate(certificate: Certificate) -> Certificate:
    """Return the certificate signed, or the person's newer one if it was replaced meanwhile.

    Refused (404) when the person has no valid certificate left for the disease.
    """
    for _attempt in range(3):
        if certificate.is_signed() and certificate.status == Certificate.Status.VALID:
            return certificate
        signed = certificate_sign(certificate)
        if signed.status == Certificate.Status.VALID:
            return signed
        replacement = (
            Certificate.objects.filter(
                beneficiary_id=certificate.beneficiary_id,
                target=certificate.target,
                status=Certificate.Status.VALID,
            )
            .order_by("-pk")
            .first()
        )
        if replacement is None:
            break
        certificate = replacement
    raise DomainError(
        "no_certificate", _("There is no certificate for this person yet."), status=404
    )


def document_choice(
    *, certificate: Certificate, language: str, variant: str, codes: Iterable[str]
) -> tuple[Certificate, Choice]:
    """Return the certificate signed and the checked language, variant and QR codes of its PDF.

    A language the pack does not offer becomes the pack's first; no codes means the variant's
    defaults. An unknown variant or a code the certificate has no payload for is refused.
    """
    if variant not in VARIANTS:
        raise DomainError(
            "certificate_variant",
            _("Choose the domestic or the international certificate."),
            field="variant",
        )
    offered = [code for code, _name in settings.LANGUAGES]
    if language not in offered:
        language = offered[0]
    if variant == INTERNATIONAL:
        # The international certificate is in English whatever the person reads: one PDF
        # kept for all of them.
        language = "en"
    wanted = [code.strip() for code in codes if code.strip()]
    unknown = [code for code in wanted if code not in FORMATS]
    if unknown:
        raise DomainError(
            "certificate_codes",
            _("Unknown QR code: {code}.").format(code=unknown[0][:20]),
            field="codes",
        )
    certificate = signed_certificate(certificate)
    available = _formats(certificate)
    if wanted:
        missing = [code for code in wanted if code not in available]
        if missing:
            raise DomainError(
                "certificate_codes",
                _("This certificate has no {code} QR code.").format(code=CODE_LABELS[missing[0]]),
                field="codes",
            )
        chosen = tuple(code for code in FORMATS if code in wanted)
    else:
        chosen = tuple(code for code in DEFAULT_CODES[variant] if code in available)
    return certificate, Choice(language=language, variant=variant, codes=chosen)


def document_etag(certificate: Certificate, choice: Choice) -> str:
    """Return the HTTP entity tag of a certificate's PDF: one per certificate version and choice."""
    parts = (certificate.uvci, str(certificate.version), choice.language, choice.variant)
    digest = hashlib.sha256("\n".join((*parts, choice.key)).encode()).hexdigest()[:32]
    return f'"{digest}"'


def _kept(certificate: Certificate, choice: Choice) -> bytes | None:
    """Return the kept PDF of this choice, loading only its bytes, or None."""
    found = CertificateDocument.objects.filter(
        certificate_id=certificate.pk,
        language=choice.language,
        variant=choice.variant,
        codes=choice.key,
    ).values_list("pdf", flat=True)[:1]
    for pdf in found:
        return bytes(pdf)
    return None


@dataclass(frozen=True)
class KeptDocument:
    """A kept PDF found without loading its certificate: what the response needs."""

    pdf: bytes
    etag: str
    filename: str


# What rendering a certificate's PDF reads of it, its person and their ID document type.
_RENDER_FIELDS = (
    "uvci",
    "version",
    "target",
    "kind",
    "status",
    "signed_at",
    "record",
    "payloads",
    "beneficiary__id_type__names",
)


def download_of(
    *, account: Account, reference: str, target: str, language: str, variant: str
) -> KeptDocument | tuple[Certificate, Choice] | None:
    """Return a person's kept PDF, or what rendering it needs, in as few reads as can be.

    For one of the account's people and the variant's default codes: the kept PDF in one
    query (a repeat download, the common case at a peak), else the signed certificate with
    its record, payloads and the person's ID document type, and the choice to render, in a
    second (a first render). None sends the caller down the full path (`document_choice`,
    `certificate_document`): a certificate never signed, another language, the refusals.
    """
    offered = [code for code, _name in settings.LANGUAGES]
    if variant == INTERNATIONAL or language not in offered or not account.active:
        return None  # rare: the full path settles the language and the codes
    choice = Choice(language=language, variant=variant, codes=DEFAULT_CODES[variant])
    mine = {
        "beneficiary__reference": reference,
        "beneficiary__account": account,
        "target": target,
        "status": Certificate.Status.VALID,
    }
    kept = (
        CertificateDocument.objects.filter(
            **{f"certificate__{key}": value for key, value in mine.items()},
            language=choice.language,
            variant=choice.variant,
            codes=choice.key,
        )
        .order_by()
        .values_list("pdf", "certificate__uvci", "certificate__version")[:1]
    )
    for pdf, uvci, version in kept:
        certificate = Certificate(uvci=uvci, version=version, target=target)
        return KeptDocument(
            pdf=bytes(pdf),
            etag=document_etag(certificate, choice),
            filename=pdf_filename(certificate, choice.language),
        )
    found = (
        Certificate.objects.filter(**mine)
        .select_related("beneficiary__id_type")
        .only(*_RENDER_FIELDS)
        .order_by()
    )
    for certificate in found[:1]:
        if certificate.is_signed() and set(choice.codes) <= set(certificate.payloads):
            return certificate, choice
    return None


def document_render(certificate: Certificate, choice: Choice) -> bytes:
    """Render a signed certificate's PDF for a checked choice and keep it."""
    # A lean read left out what a render needs: both in one query.
    deferred = certificate.get_deferred_fields() & {"record", "payloads"}
    if deferred:
        certificate.refresh_from_db(fields=sorted(deferred))
    pdf = _render(certificate, choice)
    # Two first downloads racing both render; the first row stays. The renders are the same
    # bytes (the PDF's dates are the certificate's), so the loser answers with its own.
    CertificateDocument.objects.bulk_create(
        [
            CertificateDocument(
                certificate_id=certificate.pk,
                language=choice.language,
                variant=choice.variant,
                codes=choice.key,
                pdf=pdf,
            )
        ],
        ignore_conflicts=True,
    )
    return pdf


def _render(certificate: Certificate, choice: Choice) -> bytes:
    """Render the PDF of a signed certificate from its kept record and payloads."""
    from vaxnet.certificates.pdf import certificate_pdf

    record = CertificateRecord.from_json(certificate.record or {})
    makers = _qr_makers()
    payloads = certificate.payloads
    qr_codes = [(CODE_LABELS[code], makers[code](payloads[code])) for code in choice.codes]
    if Certificate.beneficiary.is_cached(certificate) and Beneficiary.id_type.is_cached(
        certificate.beneficiary
    ):
        names = certificate.beneficiary.id_type.names
    else:
        names = (
            Beneficiary.objects.filter(pk=certificate.beneficiary_id)
            .values_list("id_type__names", flat=True)
            .first()
        )
    with translation.override(choice.language):
        id_type_name = localized(names) if names else ""
    return certificate_pdf(
        record,
        codes=qr_codes,
        language=choice.language,
        variant=choice.variant,
        id_type_name=id_type_name,
    )


def certificate_document(
    *, certificate: Certificate, language: str, variant: str, codes: tuple[str, ...]
) -> bytes:
    """Return the certificate's PDF for this choice, rendered on first download and kept.

    The certificate is signed first if it never was.
    """
    certificate, choice = document_choice(
        certificate=certificate, language=language, variant=variant, codes=codes
    )
    kept = _kept(certificate, choice)
    if kept is not None:
        return kept
    return document_render(certificate, choice)


def pdf_filename(certificate: Certificate, language: str) -> str:
    """Return the download file name of a certificate's PDF in a language."""
    opaque = certificate.uvci.rsplit(":", 1)[-1].split("#", 1)[0]
    name = _UNSAFE.sub("-", f"{opaque}-v{certificate.version}-{language}").strip("-")
    return f"vaccination-certificate-{name}.pdf"
