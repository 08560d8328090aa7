"""v1 API: closing a session at the end of its day, and its summary (`/api/v1/sessions/...`).

Staff sign in at /staff/sign-in/ and call with that Django session (writes with the CSRF
token). The session is reached through core.access with the closers' roles; the close
goes through vaccination.close.session_close and takes an Idempotency-Key.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema

from vaxnet.api.v1_idempotency import Answer, json_response
from vaxnet.api.v1_stock import ERRORS, _batch, _id, _write, staff
from vaxnet.core.access import session_for_staff
from vaxnet.core.models import User
from vaxnet.vaccination import roles
from vaxnet.vaccination.close import SessionSummary, close_lines, session_close, session_summary

router = Router(tags=["Vaccination"])


class VialsBackIn(Schema):
    batch: str = Field(max_length=16, description="the batch's public id")
    vials: int = Field(ge=0, le=100_000, description="whole vials returned unopened")


class SessionCloseIn(Schema):
    unopened_vials: list[VialsBackIn] | None = Field(
        default=None,
        max_length=100,
        description=(
            "unopened vials returned per batch; a batch left out returns the whole vials the "
            "doses given did not need"
        ),
    )


class BatchSummaryOut(Schema):
    batch: str
    lot_number: str
    vials_issued: int
    vials_opened: int
    vials_returned: int
    doses_given: int
    doses_wasted: int


class SessionSummaryOut(Schema):
    session: str
    status: str
    batches: list[BatchSummaryOut]
    vaccinated: int
    not_given: int
    no_show: int
    walk_ins: int
    checked_in: int
    booked: int


def _summary_out(summary: SessionSummary) -> dict[str, Any]:
    data = SessionSummaryOut(
        session=summary.session.public_id,
        status=summary.session.status,
        batches=[
            BatchSummaryOut(
                batch=line.batch.public_id,
                lot_number=line.batch.lot_number,
                vials_issued=line.vials_issued,
                vials_opened=line.vials_opened,
                vials_returned=line.vials_returned,
                doses_given=line.doses_given,
                doses_wasted=line.wastage,
            )
            for line in summary.batches
        ],
        vaccinated=summary.vaccinated,
        not_given=summary.not_given,
        no_show=summary.no_show,
        walk_ins=summary.walk_ins,
        checked_in=summary.checked_in,
        booked=summary.booked,
    )
    return data.model_dump(mode="json")


@router.post(
    "/sessions/{public_id}/close",
    response={200: SessionSummaryOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_session_close",
    summary="Close a session: vials returned, wastage, no-shows",
)
def close(request: HttpRequest, public_id: str, payload: SessionCloseIn) -> HttpResponse:
    """Close a session of the day: return unopened vials, book doses and wastage, mark no-shows."""

    def work(user: User) -> Answer:
        session = session_for_staff(user, _id(public_id), roles=roles.CLOSERS)
        unopened = {line.batch: line.unopened for line in close_lines(session)}
        for line in payload.unopened_vials or []:
            unopened[_batch(session.facility.country_id, line.batch)] = line.vials
        summary = session_close(by=user, session=session, unopened_vials=unopened)
        return 200, _summary_out(summary)

    return _write(request, work)


@router.get(
    "/sessions/{public_id}/summary",
    response={200: SessionSummaryOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_session_summary",
    summary="A session's day in figures",
)
def summary(request: HttpRequest, public_id: str) -> HttpResponse:
    """Return a session's figures: per batch vials and doses, per outcome its appointments."""
    user: User = request.auth  # type: ignore[attr-defined]
    session = session_for_staff(user, _id(public_id), roles=roles.CLOSERS)
    return json_response(200, _summary_out(session_summary(session)))
