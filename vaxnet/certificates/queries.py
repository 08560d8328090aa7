"""Reads for certificates: the record a certificate holds, the current ones, the revoked."""

from django.conf import settings
from django.utils import translation

from vaxnet.certificates.formats.shc import revocation_id
from vaxnet.certificates.icao import icao_name
from vaxnet.certificates.models import Certificate
from vaxnet.certificates.record import CertificateRecord, DoseEntry
from vaxnet.core.i18n import localized
from vaxnet.countries.models import Country
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.models import VaccineDose


def issuing_country(country: Country) -> str:
    """Return the ISO 3166-1 alpha-2 code certificates carry for a pack's country."""
    return str(country.setting("certificate", "country", country.code[:2]))


def _series(vaccine_ids: set[int]) -> dict[int, int]:
    """Return the number of primary doses of each vaccine's schedule."""
    counts: dict[int, int] = dict.fromkeys(vaccine_ids, 0)
    for vaccine_id in VaccineDose.objects.filter(
        vaccine_id__in=vaccine_ids, kind=VaccineDose.Kind.PRIMARY
    ).values_list("vaccine_id", flat=True):
        counts[vaccine_id] += 1
    return counts


def dose_owners(beneficiary_id: int) -> list[int]:
    """Return the registrations whose doses a person's certificate lists: theirs and merged ones."""
    return [
        beneficiary_id,
        *Beneficiary.objects.filter(merged_into_id=beneficiary_id).values_list("pk", flat=True),
    ]


def certificate_record(certificate: Certificate) -> CertificateRecord:
    """Return what a certificate says, from the person's details and valid doses as they stand."""
    beneficiary = Beneficiary.objects.select_related("country", "id_type").get(
        pk=certificate.beneficiary_id
    )
    country = beneficiary.country
    doses = list(
        Vaccination.objects.filter(
            beneficiary_id__in=dose_owners(beneficiary.pk),
            target=certificate.target,
            status=Vaccination.Status.VALID,
        )
        .select_related("vaccine", "batch", "facility__region", "facility__country")
        .order_by("dose_number")[: certificate.doses]
    )
    series = _series({d.vaccine_id for d in doses})
    # A certificate is one document for verifiers anywhere: places and the issuer in English
    # (or the pack's first language); the PDF adds the person's own language around it.
    with translation.override("en"):
        entries = tuple(
            DoseEntry(
                number=d.dose_number,
                series=max(series.get(d.vaccine_id, 0), d.dose_number)
                if d.dose_kind == VaccineDose.Kind.PRIMARY
                else d.dose_number,
                kind=d.dose_kind,
                vaccine_code=d.vaccine.code,
                vaccine_name=d.vaccine.name,
                manufacturer=d.batch.manufacturer or d.vaccine.manufacturer,
                lot=d.batch.lot_number,
                given_on=d.given_on,
                facility=localized(d.facility.names) or d.facility.code,
                region=localized(d.facility.region.names),
                country=issuing_country(d.facility.country),
                target=d.target,
                codes=dict(d.vaccine.codes),
            )
            for d in doses
        )
        issuer = localized(country.setting("certificate", "issuer", {})) or country.name
    birth = beneficiary.birth_date.isoformat() if beneficiary.birth_date else ""
    return CertificateRecord(
        certificate_id=certificate.uvci,
        kind=certificate.kind,
        version=certificate.version,
        issued_at=certificate.issued_at,
        name=beneficiary.name,
        name_latin=icao_name(beneficiary.name),
        birth_date=birth or f"{beneficiary.birth_year:04d}",
        sex=beneficiary.sex,
        masked_id=beneficiary.masked_id(),
        id_type=beneficiary.id_type.code,
        reference=beneficiary.reference,
        doses=entries,
        issuer=issuer,
        issuer_country=issuing_country(country),
        issuer_url=settings.PUBLIC_URL,
        target=certificate.target,
    )


def current_certificates(beneficiary: Beneficiary) -> list[Certificate]:
    """Return a person's valid certificates, one per disease."""
    return list(
        Certificate.objects.filter(
            beneficiary=beneficiary, status=Certificate.Status.VALID
        ).order_by("target")
    )


def revoked_ids() -> list[str]:
    """Return the ids of every revoked certificate, oldest revocation first."""
    return list(
        Certificate.objects.filter(status=Certificate.Status.REVOKED)
        .order_by("ended_at", "id")
        .values_list("uvci", flat=True)
    )


def revoked_rids(secret: bytes, *, kid: str | None = None) -> dict[str, list[str]]:
    """Return the SMART Health Card revocation ids of revoked certificates, per signing kid.

    Oldest revocation first; only certificates that were signed (the others never left).
    """
    rows = Certificate.objects.filter(status=Certificate.Status.REVOKED, signed_at__isnull=False)
    if kid is not None:
        rows = rows.filter(kids__shc=kid)
    out: dict[str, list[str]] = {}
    for uvci, kids in (
        rows.order_by("ended_at", "id").values_list("uvci", "kids").iterator(chunk_size=5000)
    ):
        signer = (kids or {}).get("shc")
        if signer:
            out.setdefault(signer, []).append(revocation_id(uvci, secret))
    return out
