"""Reads for booking: a beneficiary's dose history and what they may book."""

from collections.abc import Iterable

from django.db.models import Q, Subquery

from vaxnet.people.models import Beneficiary
from vaxnet.vaccination.models import Vaccination
from vaxnet.vaccines.eligibility import PastDose


def dose_history(beneficiary: Beneficiary) -> list[PastDose]:
    """Return the valid doses a beneficiary has received, oldest first.

    The doses of a duplicate record merged into this one count too.
    """
    return dose_histories([beneficiary]).get(beneficiary.pk, [])


def dose_histories(beneficiaries: Iterable[Beneficiary]) -> dict[int, list[PastDose]]:
    """Return the valid doses of several beneficiaries in one query, by beneficiary id."""
    ids = [beneficiary.pk for beneficiary in beneficiaries]
    histories: dict[int, list[PastDose]] = {pk: [] for pk in ids}
    if not ids:
        return histories
    # Both conditions on the record's own beneficiary column, so that each is an index lookup
    # (an OR across the join to the people table would read every record).
    duplicates = Beneficiary.objects.filter(merged_into_id__in=ids).values("pk")
    rows = (
        Vaccination.objects.filter(status=Vaccination.Status.VALID)
        .filter(Q(beneficiary_id__in=ids) | Q(beneficiary_id__in=Subquery(duplicates)))
        .values_list(
            "beneficiary_id", "beneficiary__merged_into_id", "vaccine__code", "target", "given_on"
        )
        .order_by("given_on", "id")
    )
    for person, merged_into, code, target, given_on in rows:
        owner = person if person in histories else merged_into
        if owner is not None:
            histories[owner].append(PastDose(vaccine_code=code, target=target, given_on=given_on))
    return histories
