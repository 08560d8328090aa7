"""Issuing, revoking and signing certificates.

Issuance runs inside the transaction that records, corrects or merges doses (through
vaccination.events), so a dose and the certificate that shows it commit together. It only
writes the certificate's row: the record, the signatures and the PDF are made on first use
(`certificate_sign`) and kept, so that recording stays fast at a national peak.
"""

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from vaxnet.certificates.formats.base import EU_DCC, SHC, W3C_VC
from vaxnet.certificates.keys import keystore
from vaxnet.certificates.models import Certificate, new_uvci
from vaxnet.certificates.queries import certificate_record, dose_owners
from vaxnet.core.audit import audit_record
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.models import VaccineDose

KIND_OF_DOSE = {"booster": Certificate.Kind.BOOSTER, "precaution": Certificate.Kind.BOOSTER}


def _kind(last: Mapping[str, Any]) -> str:
    """Return the kind of certificate a person's last valid dose makes."""
    if last["dose_kind"] in KIND_OF_DOSE:
        return KIND_OF_DOSE[last["dose_kind"]]
    primary = VaccineDose.objects.filter(
        vaccine_id=last["vaccine_id"], kind=VaccineDose.Kind.PRIMARY
    ).count()
    return (
        Certificate.Kind.FINAL if last["dose_number"] >= primary else Certificate.Kind.PROVISIONAL
    )


def certificate_issue(
    *,
    beneficiary_id: int,
    target: str,
    revoked_for: str = "",
    actor: User | None = None,
    at: datetime | None = None,
) -> Certificate | None:
    """Issue the person's certificate for a disease anew from their valid doses.

    The certificate it replaces is superseded (a new dose: it stays valid for verifiers) or,
    given `revoked_for`, revoked (it goes on the revocation list). Returns None when the person
    has no valid dose left for the disease.
    """
    at = at or timezone.now()
    with transaction.atomic():
        # One issuance per person at a time: the second waits, then sees the first's result.
        held = list(
            Beneficiary.objects.select_for_update()
            .filter(pk=beneficiary_id)
            # Without the default ordering's join to the (nullable) account, which
            # PostgreSQL refuses to lock.
            .order_by()
            .values_list("merged_into_id", flat=True)
        )
        # A registration merged into another has no certificate of its own: its doses show
        # on the kept person's.
        merged = bool(held and held[0])
        doses = list(
            Vaccination.objects.filter(
                beneficiary_id__in=dose_owners(beneficiary_id),
                target=target,
                status=Vaccination.Status.VALID,
            )
            .order_by("dose_number")
            .values("dose_number", "dose_kind", "vaccine_id")
        )
        ended = Certificate.objects.filter(
            beneficiary_id=beneficiary_id, target=target, status=Certificate.Status.VALID
        ).update(
            status=Certificate.Status.REVOKED if revoked_for else Certificate.Status.SUPERSEDED,
            revoked_for=revoked_for,
            ended_at=at,
        )
        if ended and revoked_for:
            audit_record(
                actor=actor,
                action="certificate.revoke",
                object_type="certificates.certificate",
                object_id=f"{beneficiary_id}:{target}",
                data={"reason": revoked_for},
            )
        if not doses or merged:
            return None
        last_version = Certificate.objects.filter(
            beneficiary_id=beneficiary_id, target=target
        ).aggregate(v=Max("version"))["v"]
        prefix = (
            Beneficiary.objects.filter(pk=beneficiary_id)
            .values_list("country__config__certificate__uvci_prefix", flat=True)
            .first()
        )
        certificate = Certificate.objects.create(
            uvci=new_uvci(str(prefix or f"URN:UVCI:01:{settings.VAXNET_COUNTRY}")),
            beneficiary_id=beneficiary_id,
            target=target,
            kind=_kind(doses[-1]),
            version=(last_version or 0) + 1,
            doses=len(doses),
            issued_at=at,
        )
    return certificate


def certificates_reissue(
    *, beneficiary_id: int, revoked_for: str, actor: User | None = None
) -> list[Certificate]:
    """Revoke and re-issue every certificate of a person, after their details changed."""
    targets = set(
        Vaccination.objects.filter(
            beneficiary_id=beneficiary_id, status=Vaccination.Status.VALID
        ).values_list("target", flat=True)
    ) | set(
        Certificate.objects.filter(
            beneficiary_id=beneficiary_id, status=Certificate.Status.VALID
        ).values_list("target", flat=True)
    )
    issued = []
    for target in sorted(targets):
        certificate = certificate_issue(
            beneficiary_id=beneficiary_id, target=target, revoked_for=revoked_for, actor=actor
        )
        if certificate is not None:
            issued.append(certificate)
    return issued


def certificate_sign(certificate: Certificate) -> Certificate:
    """Build, sign and keep a valid certificate's record and payloads, once.

    The row is locked while it is signed, so two first downloads sign it once; a certificate
    that was superseded or revoked meanwhile is returned as it is (callers look up the current
    one again).
    """
    # The format modules pull in JSON-LD and CBOR: loaded when a certificate is first signed.
    from vaxnet.certificates.formats import eu_dcc, shc, w3c_vc

    if certificate.is_signed():
        return certificate
    with transaction.atomic():
        held = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if held.is_signed() or held.status != Certificate.Status.VALID:
            return held
        # The formats' issuance times (W3C proof `created`, SMART `nbf`, EU `iat`) are the
        # signing time: verifiers check them against the signing key's validity, and the key
        # may be newer than the certificate's row.
        record = replace(certificate_record(held), issued_at=timezone.now())
        store = keystore()
        expires_at = record.issued_at + timedelta(days=settings.CERTIFICATE_VALIDITY_DAYS)
        payloads: dict[str, str] = {}
        kids: dict[str, str] = {}
        key = store.signing_key(W3C_VC)
        payloads[W3C_VC] = w3c_vc.encode(record, key)
        kids[W3C_VC] = key.kid
        if eu_dcc.supports(record):
            key = store.signing_key(EU_DCC)
            payloads[EU_DCC] = eu_dcc.encode(record, key, expires_at=expires_at)
            kids[EU_DCC] = key.kid
        key = store.signing_key(SHC)
        rid = shc.revocation_id(record.certificate_id, store.rid_secret())
        payloads[SHC] = shc.encode(record, key, rid=rid)
        kids[SHC] = key.kid
        held.record = record.as_json()
        held.payloads = payloads
        held.kids = kids
        held.signed_at = timezone.now()
        held.save(update_fields=["record", "payloads", "kids", "signed_at"])
    return held
