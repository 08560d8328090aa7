"""v1 API: corrections of personal details, asked for by citizens and decided by admins.

Citizens ask with their bearer token; administrators decide with their staff session (and
the CSRF token), reaching a request through core.access.correction_for_staff. Every POST
takes an Idempotency-Key; refusals are {"error": {"code", "message"}} like all of v1. The
rules are in vaxnet.certificates.corrections.
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import Field

from vaxnet.api.v1 import _account, _scope, bearer
from vaxnet.api.v1_idempotency import Answer, idempotent, json_response
from vaxnet.api.v1_schemas import NoNul, Reference
from vaxnet.api.v1_stock import ERRORS, _user, _write, staff
from vaxnet.certificates import corrections
from vaxnet.certificates.models import CorrectionRequest
from vaxnet.core.access import correction_for_staff
from vaxnet.core.models import User
from vaxnet.people.access import beneficiary_for_account

router = Router(tags=["Corrections"])

Text = Annotated[str, Field(max_length=600), NoNul]
Code = Annotated[str, Field(max_length=40), NoNul]


class CorrectionIn(Schema):
    field: Code
    value: Text
    reason: Text
    id_type: Code | None = None


class DecisionIn(Schema):
    approve: bool
    note: Text = ""


class StatusQuery(Schema):
    status: Code = CorrectionRequest.Status.PENDING


class CorrectionOut(Schema):
    id: str
    beneficiary: str
    field: str
    current_value: str
    requested_value: str
    requested_id_type: str
    reason: str
    status: str
    requested_at: datetime
    decided_at: datetime | None
    decision_note: str


class CorrectionsOut(Schema):
    corrections: list[CorrectionOut]


class StaffCorrectionOut(CorrectionOut):
    name: str


class StaffCorrectionsOut(Schema):
    corrections: list[StaffCorrectionOut]


def _out(request: CorrectionRequest, *, staff_view: bool = False) -> dict[str, Any]:
    values = {
        "id": request.public_id,
        "beneficiary": request.beneficiary.reference,
        "field": request.field,
        "current_value": request.current_value,
        "requested_value": request.requested_value,
        "requested_id_type": request.requested_id_type,
        "reason": request.reason,
        "status": request.status,
        "requested_at": request.requested_at,
        "decided_at": request.decided_at,
        "decision_note": request.decision_note,
    }
    if staff_view:
        return StaffCorrectionOut.model_validate(
            {**values, "name": request.beneficiary.name}
        ).model_dump(mode="json")
    return CorrectionOut.model_validate(values).model_dump(mode="json")


@router.post(
    "/beneficiaries/{reference}/corrections",
    response={201: CorrectionOut, **ERRORS},
    auth=bearer,
    summary="Ask for a correction of a member's details",
)
def correction_ask(
    request: HttpRequest, reference: Reference, payload: CorrectionIn
) -> HttpResponse:
    """Ask to correct the name, birth_date, sex or id_document of a vaccinated member.

    For an ID document give its number as the value (and id_type for another kind of
    document): it is checked and kept only as a keyed hash and its last 4 characters.
    """
    account = _account(request)

    def work() -> Answer:
        member = beneficiary_for_account(account, reference)
        asked = corrections.correction_request(
            account=account,
            beneficiary=member,
            field=payload.field,
            value=payload.value,
            reason=payload.reason,
            id_type=payload.id_type,
        )
        return 201, _out(asked)

    return idempotent(request, scope=_scope(account), work=work)


@router.get(
    "/beneficiaries/{reference}/corrections",
    response={200: CorrectionsOut, **ERRORS},
    auth=bearer,
    summary="A member's correction requests and their status",
)
def correction_list(request: HttpRequest, reference: Reference) -> HttpResponse:
    """Every correction request of the member, latest first."""
    member = beneficiary_for_account(_account(request), reference)
    found = CorrectionRequest.objects.filter(beneficiary=member).order_by("-requested_at", "-id")
    for item in found:
        item.beneficiary = member
    return json_response(200, {"corrections": [_out(item) for item in found[:100]]})


@router.get(
    "/corrections",
    response={200: StaffCorrectionsOut, **ERRORS},
    auth=staff,
    summary="Correction requests to decide, in the administrator's scope",
)
def correction_queue(request: HttpRequest, filters: Query[StatusQuery]) -> HttpResponse:
    """The requests of people vaccinated in the administrator's region, oldest first."""
    found = corrections.corrections_for_staff(_user(request), filters.status)
    return json_response(200, {"corrections": [_out(item, staff_view=True) for item in found]})


@router.post(
    "/corrections/{public_id}/decision",
    response={200: StaffCorrectionOut, **ERRORS},
    auth=staff,
    summary="Approve or reject a correction request",
)
def correction_decision(request: HttpRequest, public_id: str, payload: DecisionIn) -> HttpResponse:
    """Approve (correct the person, revoke and re-issue) or reject (with a note); SMS either way."""

    def work(user: User) -> Answer:
        found = correction_for_staff(user, public_id)
        decided = corrections.correction_decide(
            by=user, request=found, approve=payload.approve, note=payload.note
        )
        decided.beneficiary.refresh_from_db()
        return 200, _out(decided, staff_view=True)

    return _write(request, work)
