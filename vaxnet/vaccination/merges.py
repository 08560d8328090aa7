"""Merging a person registered twice, and undoing it.

Nothing moves: the duplicate points at the kept registration (`Beneficiary.merged_into`)
and the kept person's dose history reads the duplicate's doses too
(`booking.queries.dose_history`). Undoing clears the pointer, so that each registration
has exactly what it had. Who may merge is decided by the caller through
`core.access.beneficiary_for_staff(roles=roles.MERGERS)` for both references.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.booking.models import Appointment
from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.core.rows import insert_returning
from vaxnet.people.models import Beneficiary
from vaxnet.vaccination import events
from vaxnet.vaccination.corrections import clean_reason
from vaxnet.vaccination.models import BeneficiaryMerge, Vaccination

LIVE = (Appointment.Status.BOOKED, Appointment.Status.CHECKED_IN)


@dataclass(frozen=True)
class Clash:
    """A dose number of a disease that both registrations have a valid record of."""

    target: str
    dose_number: int


@dataclass(frozen=True)
class MergeOutcome:
    """A merge made, and the doses both registrations hold (likely one record to withdraw)."""

    merge: BeneficiaryMerge
    clashes: list[Clash] = field(default_factory=list)


def merge_clashes(kept: Beneficiary, merged: Beneficiary) -> list[Clash]:
    """Return the (disease, dose number) pairs both people have a valid record of."""
    rows = (
        Vaccination.objects.filter(
            beneficiary_id__in=[kept.pk, merged.pk], status=Vaccination.Status.VALID
        )
        .values_list("beneficiary_id", "target", "dose_number")
        .distinct()
    )
    counts = Counter((target, number) for _person, target, number in rows)
    return [Clash(target, number) for (target, number), n in sorted(counts.items()) if n > 1]


def _check_mergeable(kept: Beneficiary, merged: Beneficiary) -> None:
    """Refuse a merge that would not leave one person with both registrations' doses."""
    if kept.pk == merged.pk:
        raise DomainError(
            "same_person", _("These are the same registration."), field="merged", status=422
        )
    if kept.country_id != merged.country_id:
        raise DomainError(
            "other_country",
            _("The two registrations belong to different countries."),
            field="merged",
        )
    for person, name in ((kept, "kept"), (merged, "merged")):
        if person.merged_into_id is not None:
            raise DomainError(
                "already_merged",
                _("Registration {reference} is already merged into another.").format(
                    reference=person.reference
                ),
                field=name,
                status=409,
            )
    if Beneficiary.objects.filter(merged_into=merged).exists():
        raise DomainError(
            "duplicate_has_duplicates",
            _(
                "Other registrations are merged into {reference}: undo those merges first, "
                "or keep this one."
            ).format(reference=merged.reference),
            field="merged",
            status=409,
        )
    if Appointment.objects.filter(beneficiary=merged, status__in=LIVE).exists():
        raise DomainError(
            "duplicate_has_appointments",
            _(
                "Registration {reference} has appointments booked or checked in: cancel them first."
            ).format(reference=merged.reference),
            field="merged",
            status=409,
        )


def beneficiary_merge(
    *,
    by: User,
    kept: Beneficiary,
    merged: Beneficiary,
    reason: str,
    now: datetime | None = None,
) -> MergeOutcome:
    """Merge a duplicate registration into the kept one; its doses then count for the kept person.

    Refuses the same registration, one already merged on either side, one that others are
    merged into, another country's and a duplicate with live appointments. Doses both hold
    (the same dose of the same disease) are merged all the same and listed in the outcome:
    one of the two records is most likely to be marked entered in error.
    """
    now = now or timezone.now()
    reason = clean_reason(reason)
    with transaction.atomic():
        # Both rows are held (PostgreSQL) so that two admins merging them crosswise wait.
        held = {
            person.pk: person
            for person in Beneficiary.objects.select_for_update()
            .filter(pk__in=[kept.pk, merged.pk])
            .order_by("pk")
        }
        kept = held.get(kept.pk, kept)
        merged = held.get(merged.pk, merged)
        _check_mergeable(kept, merged)
        changed = Beneficiary.objects.filter(pk=merged.pk, merged_into__isnull=True).update(
            merged_into=kept, updated_at=now
        )
        if not changed:
            raise DomainError(
                "already_merged",
                _("Registration {reference} is already merged into another.").format(
                    reference=merged.reference
                ),
                field="merged",
                status=409,
            )
        merged.merged_into = kept
        merge = BeneficiaryMerge(kept=kept, merged=merged, reason=reason, by=by, at=now)
        try:
            with transaction.atomic():
                insert_returning(merge)
        except IntegrityError:
            raise DomainError(
                "already_merged",
                _("Registration {reference} is already merged into another.").format(
                    reference=merged.reference
                ),
                field="merged",
                status=409,
            ) from None
        clashes = merge_clashes(kept, merged)
        audit_record(
            actor=by,
            action="beneficiary.merge",
            obj=merge,
            data={
                "kept": kept.reference,
                "merged": merged.reference,
                "reason": reason,
                "same_doses": [[c.target, c.dose_number] for c in clashes],
            },
        )
        events.beneficiaries_merged(kept.pk, merged.pk)
    return MergeOutcome(merge=merge, clashes=clashes)


def beneficiary_merge_undo(
    *, by: User, merge: BeneficiaryMerge, reason: str, now: datetime | None = None
) -> BeneficiaryMerge:
    """Undo a merge: the duplicate stands on its own again, with exactly its own doses.

    Refused once a valid dose has been recorded for the kept person since the merge: its
    dose number may have counted the duplicate's doses. Mark that record entered in error
    first, if the merge really was wrong.
    """
    now = now or timezone.now()
    reason = clean_reason(reason)
    if merge.undone_at is not None:
        raise DomainError("merge_undone", _("This merge has already been undone."), status=409)
    with transaction.atomic():
        since = Vaccination.objects.filter(
            beneficiary_id=merge.kept_id,
            status=Vaccination.Status.VALID,
            recorded_at__gte=merge.at,
        ).exists()
        if since:
            raise DomainError(
                "doses_since_merge",
                _(
                    "A dose has been recorded for the kept person since the merge, and its "
                    "number may count the duplicate's doses: mark that record entered in "
                    "error first if the merge was wrong."
                ),
                status=409,
            )
        changed = BeneficiaryMerge.objects.filter(pk=merge.pk, undone_at__isnull=True).update(
            undone_at=now, undone_by=by, undo_reason=reason
        )
        if not changed:
            raise DomainError("merge_undone", _("This merge has already been undone."), status=409)
        Beneficiary.objects.filter(pk=merge.merged_id, merged_into_id=merge.kept_id).update(
            merged_into=None, updated_at=now
        )
        audit_record(
            actor=by,
            action="beneficiary.merge_undo",
            obj=merge,
            data={
                "kept": merge.kept.reference,
                "merged": merge.merged.reference,
                "reason": reason,
            },
        )
        events.beneficiaries_merged(merge.kept_id, merge.merged_id)
    merge.undone_at = now
    merge.undone_by = by
    merge.undo_reason = reason
    return merge
