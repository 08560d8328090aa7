"""v1 API: corrections of dose records and merges of duplicate registrations, for staff.

Staff session with the CSRF token for writes, an Idempotency-Key on every POST, access
through core.access with roles.CORRECTORS (records) and roles.MERGERS (merges), as the
pages; refusals are {"error": {"code", "message"}}.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema

from vaxnet.api.v1_idempotency import Answer, json_response
from vaxnet.api.v1_stock import ERRORS, _user, _write, staff
from vaxnet.core.access import beneficiary_for_staff, vaccination_for_staff
from vaxnet.core.errors import DomainError, NotFound
from vaxnet.core.models import User
from vaxnet.stock.models import SessionStock
from vaxnet.vaccination import corrections, merges
from vaxnet.vaccination.correction_views import history
from vaxnet.vaccination.models import BeneficiaryMerge, Vaccination
from vaxnet.vaccination.roles import CORRECTORS, MERGERS

router = Router(tags=["Vaccination"])


class ReasonIn(Schema):
    reason: str


class CorrectionIn(Schema):
    reason: str
    beneficiary: str | None = None
    batch: str | None = None
    site: str | None = None
    given_at: datetime | None = None


class MergeIn(Schema):
    kept: str
    merged: str
    reason: str


class RecordOut(Schema):
    id: str
    beneficiary: str
    vaccine: str
    dose_number: int
    batch: str
    lot_number: str
    site: str
    given_at: datetime
    facility: str
    source: str
    status: str
    replaces: str | None
    error_reason: str
    error_at: datetime | None


class MergeOut(Schema):
    id: int
    kept: str
    merged: str
    reason: str
    at: datetime
    undone_at: datetime | None
    same_doses: list[list[Any]] = []


class HistoryOut(Schema):
    reference: str
    name: str
    merged_into: str | None
    records: list[RecordOut]
    merges: list[MergeOut]


def _record_out(record: Vaccination) -> dict[str, Any]:
    return RecordOut.model_validate(
        {
            "id": record.public_id,
            "beneficiary": record.beneficiary.reference,
            "vaccine": record.vaccine.code,
            "dose_number": record.dose_number,
            "batch": record.batch.public_id,
            "lot_number": record.batch.lot_number,
            "site": record.site,
            "given_at": record.given_at,
            "facility": record.facility.code,
            "source": record.source,
            "status": record.status,
            "replaces": record.replaces.public_id if record.replaces_id else None,  # type: ignore[union-attr]
            "error_reason": record.error_reason,
            "error_at": record.error_at,
        }
    ).model_dump(mode="json")


def _merge_out(
    merge: BeneficiaryMerge, clashes: list[merges.Clash] | None = None
) -> dict[str, Any]:
    return MergeOut.model_validate(
        {
            "id": merge.pk,
            "kept": merge.kept.reference,
            "merged": merge.merged.reference,
            "reason": merge.reason,
            "at": merge.at,
            "undone_at": merge.undone_at,
            "same_doses": [[c.target, c.dose_number] for c in clashes or []],
        }
    ).model_dump(mode="json")


def _record(user: User, public_id: str) -> Vaccination:
    return vaccination_for_staff(user, public_id, roles=CORRECTORS)


@router.post(
    "/vaccinations/{public_id}/entered-in-error",
    response={200: RecordOut, **ERRORS},
    auth=staff,
    summary="Mark a dose record entered in error, with the reason",
)
def mark_in_error(request: HttpRequest, public_id: str, payload: ReasonIn) -> HttpResponse:
    """Mark the record entered in error; its dose goes back to the session's vials."""

    def work(user: User) -> Answer:
        record = _record(user, public_id)
        corrections.vaccination_mark_in_error(by=user, vaccination=record, reason=payload.reason)
        return 200, _record_out(record)

    return _write(request, work)


@router.post(
    "/vaccinations/{public_id}/correction",
    response={201: RecordOut, **ERRORS},
    auth=staff,
    summary="Correct a dose record: the wrong one marked in error, the right one made",
)
def correct(request: HttpRequest, public_id: str, payload: CorrectionIn) -> HttpResponse:
    """Make the right record (another person, batch, site or time); the engine numbers it."""

    def work(user: User) -> Answer:
        record = _record(user, public_id)
        person = None
        if payload.beneficiary:
            try:
                person = beneficiary_for_staff(user, payload.beneficiary, roles=CORRECTORS)
            except NotFound:
                raise DomainError(
                    "beneficiary_unknown",
                    _("No person with this reference was seen here."),
                    field="beneficiary",
                    status=422,
                ) from None
        batch = None
        if payload.batch:
            account = (
                SessionStock.objects.filter(
                    session_id=record.session_id, batch__public_id=payload.batch.strip()[:16]
                )
                .select_related("batch")
                .first()
            )
            if account is None:
                raise DomainError(
                    "batch_not_issued",
                    _("This batch was not issued to this session."),
                    field="batch",
                    status=422,
                )
            batch = account.batch
        new = corrections.vaccination_correct(
            by=user,
            vaccination=record,
            reason=payload.reason,
            beneficiary=person,
            batch=batch,
            site=payload.site,
            given_at=payload.given_at,
        )
        return 201, _record_out(new)

    return _write(request, work)


@router.get(
    "/beneficiaries/{reference}/history",
    response={200: HistoryOut, **ERRORS},
    auth=staff,
    summary="A person's dose records, entered-in-error ones and merged duplicates' included",
)
def person_history(request: HttpRequest, reference: str) -> HttpResponse:
    """The person's records (valid or not) and merges, if they were seen in scope."""
    person = beneficiary_for_staff(_user(request), reference, roles=CORRECTORS)
    found = history(person)
    data = {
        "reference": person.reference,
        "name": person.name,
        "merged_into": person.merged_into.reference if person.merged_into else None,
        "records": [_record_out(r) for r in found["records"]],
        "merges": [_merge_out(m) for m in found["merges"]],
    }
    return json_response(200, HistoryOut.model_validate(data).model_dump(mode="json"))


@router.post(
    "/merges",
    response={201: MergeOut, **ERRORS},
    auth=staff,
    summary="Merge a duplicate registration into the kept one (district admins and above)",
)
def merge_create(request: HttpRequest, payload: MergeIn) -> HttpResponse:
    """Merge; `same_doses` lists the doses both held (one record is likely in error)."""

    def work(user: User) -> Answer:
        kept = beneficiary_for_staff(user, payload.kept, roles=MERGERS)
        merged = beneficiary_for_staff(user, payload.merged, roles=MERGERS)
        outcome = merges.beneficiary_merge(by=user, kept=kept, merged=merged, reason=payload.reason)
        return 201, _merge_out(outcome.merge, outcome.clashes)

    return _write(request, work)


@router.post(
    "/merges/{merge_id}/undo",
    response={200: MergeOut, **ERRORS},
    auth=staff,
    summary="Undo a merge",
)
def merge_undo(request: HttpRequest, merge_id: int, payload: ReasonIn) -> HttpResponse:
    """Undo the merge; refused once the kept person had a dose since it."""

    def work(user: User) -> Answer:
        merge = (
            BeneficiaryMerge.objects.filter(pk=merge_id).select_related("kept", "merged").first()
        )
        if merge is None:
            raise NotFound()
        beneficiary_for_staff(user, merge.kept.reference, roles=MERGERS)
        undone = merges.beneficiary_merge_undo(by=user, merge=merge, reason=payload.reason)
        return 200, _merge_out(undone)

    return _write(request, work)
