"""Issuing, revoking and signing certificates.

Issuance runs inside the transaction that records, corrects or merges doses (through
vaccination.events), so a dose and the certificate that shows it commit together. It only
writes the certificate's row: the record, the signatures and the PDF are made on first use
(`certificate_sign`) and kept, so that recording stays fast at a national peak.
"""

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from vaxnet.certificates.formats.base import EU_DCC, SHC, W3C_VC
from vaxnet.certificates.keys import keystore
from vaxnet.certificates.models import Certificate, new_uvci
from vaxnet.certificates.queries import certificate_record
from vaxnet.core.audit import audit_record
from vaxnet.core.models import User
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.models import VaccineDose

KIND_OF_DOSE = {"booster": Certificate.Kind.BOOSTER, "precaution": Certificate.Kind.BOOSTER}


def _kind(last: Mapping[str, Any], primary_doses: int) -> str:
    """Return the kind of certificate a person's last valid dose makes."""
    if last["dose_kind"] in KIND_OF_DOSE:
        return KIND_OF_DOSE[last["dose_kind"]]
    if last["dose_number"] >= primary_doses:
        return Certificate.Kind.FINAL
    return Certificate.Kind.PROVISIONAL


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
    issued = certificates_issue(
        pairs=[(beneficiary_id, target)], revoked_for=revoked_for, actor=actor, at=at
    )
    return issued[0] if issued else None


def certificates_issue(
    *,
    pairs: Iterable[tuple[int, str]],
    revoked_for: str = "",
    actor: User | None = None,
    at: datetime | None = None,
) -> list[Certificate]:
    """Issue anew the certificates of many (person, disease) pairs in a few statements.

    As `certificate_issue`, for a whole batch of offline records at once: the statements do
    not grow with the batch (the people are locked in one, their doses read in one, the old
    certificates ended in one and the new ones inserted in one).
    """
    at = at or timezone.now()
    wanted = sorted(set(pairs))
    if not wanted:
        return []
    people = sorted({person for person, _target in wanted})
    targets = sorted({target for _person, target in wanted})
    with transaction.atomic():
        # One issuance per person at a time: the second waits, then sees the first's result.
        # In primary-key order, so that two batches never wait for each other in a circle;
        # without the default ordering's join to the (nullable) account, which PostgreSQL
        # refuses to lock.
        merged_into = dict(
            Beneficiary.objects.select_for_update()
            .filter(pk__in=people)
            .order_by("pk")
            .values_list("pk", "merged_into_id")
        )
        # A person's certificate lists their doses and those of registrations merged into
        # them; a registration merged into another has no certificate of its own.
        owner = {person: person for person in people}
        owner.update(
            Beneficiary.objects.filter(merged_into_id__in=people)
            .order_by()
            .values_list("pk", "merged_into_id")
        )
        counted: Counter[tuple[int, str]] = Counter()
        last: dict[tuple[int, str], dict[str, Any]] = {}
        for dose in (
            Vaccination.objects.filter(
                beneficiary_id__in=owner, target__in=targets, status=Vaccination.Status.VALID
            )
            .order_by("dose_number")
            .values("beneficiary_id", "target", "dose_number", "dose_kind", "vaccine_id")
        ):
            key = (owner[dose["beneficiary_id"]], dose["target"])
            counted[key] += 1
            last[key] = dict(dose)
        exact = Q()
        for person, target in wanted:
            exact |= Q(beneficiary_id=person, target=target)
        ended = list(
            Certificate.objects.filter(exact, status=Certificate.Status.VALID)
            .order_by()
            .values_list("beneficiary_id", "target")
        )
        if ended:
            Certificate.objects.filter(exact, status=Certificate.Status.VALID).update(
                status=Certificate.Status.REVOKED if revoked_for else Certificate.Status.SUPERSEDED,
                revoked_for=revoked_for,
                ended_at=at,
            )
        if revoked_for:
            for person, target in ended:
                audit_record(
                    actor=actor,
                    action="certificate.revoke",
                    object_type="certificates.certificate",
                    object_id=f"{person}:{target}",
                    data={"reason": revoked_for},
                )
        issuing = [pair for pair in wanted if pair in last and not merged_into.get(pair[0])]
        if not issuing:
            return []
        versions = {
            (person, target): version
            for person, target, version in Certificate.objects.filter(exact)
            .order_by()
            .values("beneficiary_id", "target")
            .annotate(version=Max("version"))
            .values_list("beneficiary_id", "target", "version")
        }
        primary = Counter(
            VaccineDose.objects.filter(
                vaccine_id__in={last[pair]["vaccine_id"] for pair in issuing},
                kind=VaccineDose.Kind.PRIMARY,
            ).values_list("vaccine_id", flat=True)
        )
        prefixes = dict(
            Beneficiary.objects.filter(pk__in={person for person, _target in issuing})
            .order_by()
            .values_list("pk", "country__config__certificate__uvci_prefix")
        )
        certificates = [
            Certificate(
                uvci=new_uvci(
                    str(prefixes.get(person) or f"URN:UVCI:01:{settings.VAXNET_COUNTRY}")
                ),
                beneficiary_id=person,
                target=target,
                kind=_kind(last[(person, target)], primary[last[(person, target)]["vaccine_id"]]),
                version=versions.get((person, target), 0) + 1,
                doses=counted[(person, target)],
                issued_at=at,
            )
            for person, target in issuing
        ]
        return Certificate.objects.bulk_create(certificates)


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
    return certificates_issue(
        pairs=[(beneficiary_id, target) for target in targets],
        revoked_for=revoked_for,
        actor=actor,
    )


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
