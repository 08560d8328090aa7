"""Reads for booking: a beneficiary's dose history and what they may book."""

from collections.abc import Iterable

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
    # Two index lookups joined by UNION ALL: an OR of the two conditions would make
    # PostgreSQL read every record.
    valid = Vaccination.objects.filter(status=Vaccination.Status.VALID).order_by()
    own = valid.filter(beneficiary_id__in=ids).values_list(
        "beneficiary_id", "vaccine__code", "target", "given_on", "id"
    )
    merged = valid.filter(beneficiary__merged_into_id__in=ids).values_list(
        "beneficiary__merged_into_id", "vaccine__code", "target", "given_on", "id"
    )
    for owner, code, target, given_on, _id in own.union(merged, all=True).order_by(
        "given_on", "id"
    ):
        histories[owner].append(PastDose(vaccine_code=code, target=target, given_on=given_on))
    return histories
