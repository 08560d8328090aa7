"""v1 API: offline vaccinator devices send the doses they recorded (`/api/v1/sync/...`).

A device sends up to 500 records at once, each with the UUID it made for it; the answer
gives each its own result (recorded, duplicate or conflict), in the order sent. A record
sent again, in any later batch, answers what it answered first and changes nothing, so a
device that lost an answer simply sends the whole batch again (vaxnet.vaccination.sync).
Staff call with their Django session and the CSRF token, as for the stock API; sessions
out of the caller's scope answer a conflict "not_found" per record.
"""

from django.http import HttpRequest, HttpResponse
from ninja import Router

from vaxnet.api.v1_idempotency import json_response
from vaxnet.api.v1_stock import ERRORS, staff
from vaxnet.api.v1_vaccination_schemas import SyncIn, SyncOut
from vaxnet.core.models import User
from vaxnet.core.ratelimit import check_rate
from vaxnet.vaccination.sync import Item, vaccinations_sync

router = Router(tags=["Vaccination"])

# Batches per user (hits, window in seconds): a device syncs a day's work in a few.
BATCHES_PER_USER = (600, 3600)


@router.post(
    "/sync/vaccinations",
    response={200: SyncOut, **ERRORS},
    auth=staff,
    summary="Send the doses an offline device recorded",
)
def sync_vaccinations(request: HttpRequest, payload: SyncIn) -> HttpResponse:
    """Record a batch of offline records; each answers recorded, duplicate or conflict.

    The records' client ids make the call idempotent: no Idempotency-Key is needed (one
    sent is ignored), and a replayed batch answers exactly as the first time.
    """
    user: User = request.auth  # type: ignore[attr-defined]
    check_rate(f"api:v1:sync:user:{user.pk}", BATCHES_PER_USER[0], BATCHES_PER_USER[1])
    outcomes = vaccinations_sync(
        by=user,
        items=[
            Item(
                client_id=item.client_id,
                device_time=item.device_time,
                session=item.session.strip(),
                appointment=(item.appointment or "").strip(),
                beneficiary=(item.beneficiary or "").strip(),
                batch=(item.batch or "").strip(),
                site=item.site,
                outcome=item.outcome,
                reason=item.reason,
                note=item.note,
                expected_dose=item.expected_dose,
            )
            for item in payload.items
        ],
    )
    results = [
        {
            "client_id": str(o.client_id),
            "result": o.result,
            "code": o.code,
            "message": o.message,
            "record": o.record,
            "dose": o.dose_number,
        }
        for o in outcomes
    ]
    return json_response(200, {"results": results})
