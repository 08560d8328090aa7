"""What follows a dose recorded or corrected, inside the same transaction.

The public dashboard's counters and the person's certificate are kept from these events;
each of those apps adds its call here, so that a dose and everything derived from it
commit together.
"""

from collections.abc import Iterable
from datetime import datetime

from vaxnet.certificates.models import Certificate
from vaxnet.certificates.services import (
    certificate_issue,
    certificates_issue,
    certificates_reissue,
)
from vaxnet.dashboard.services import people_tallied
from vaxnet.vaccination.models import Vaccination


def dose_recorded(vaccination: Vaccination) -> None:
    """Bring what derives from the person's doses up to date after a dose was recorded."""
    certificate_issue(
        beneficiary_id=vaccination.beneficiary_id,
        target=vaccination.target,
        at=vaccination.recorded_at,
    )
    people_tallied([vaccination.beneficiary_id])


def doses_recorded(vaccinations: Iterable[Vaccination], *, at: datetime) -> None:
    """Bring what derives from many people's doses up to date after a batch was recorded."""
    given = list(vaccinations)
    certificates_issue(pairs=[(v.beneficiary_id, v.target) for v in given], at=at)
    people_tallied({v.beneficiary_id for v in given})


def dose_entered_in_error(vaccination: Vaccination) -> None:
    """Bring what derives from the person's doses up to date after a record was withdrawn."""
    # The certificate listed a dose that was not given: it must not verify any more.
    certificate_issue(
        beneficiary_id=vaccination.beneficiary_id,
        target=vaccination.target,
        revoked_for=Certificate.RevokedFor.DOSE_IN_ERROR,
        actor=vaccination.error_by,
    )
    people_tallied([vaccination.beneficiary_id])


def beneficiaries_merged(kept_id: int, merged_id: int) -> None:
    """Bring what derives from two people's doses up to date after a merge or its undoing."""
    for beneficiary_id in (kept_id, merged_id):
        certificates_reissue(
            beneficiary_id=beneficiary_id, revoked_for=Certificate.RevokedFor.MERGE
        )
    people_tallied([kept_id, merged_id])
