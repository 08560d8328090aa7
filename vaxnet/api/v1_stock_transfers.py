"""v1 API: stock for staff (`/api/v1/stock/...`): transfers and requisitions between stores.

A store sends transfers to the stores it supplies and asks its supplier for doses with a
requisition, which the supplier approves, refuses or sends. The staff session, access
chokepoints, rate limit, Idempotency-Key handling and error shape are v1_stock's.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Router

from vaxnet.api import v1_stock_schemas as s
from vaxnet.api.v1_idempotency import Answer, json_response
from vaxnet.api.v1_stock import (
    ADMINS,
    ERRORS,
    _answer,
    _batch,
    _id,
    _ref,
    _store,
    _transfer_out,
    _user,
    _write,
    staff,
)
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.stock import queries
from vaxnet.stock import requisitions as moves_between
from vaxnet.stock.models import Batch, Requisition
from vaxnet.stock.reports import STOCK_ROLES
from vaxnet.vaccines.models import Vaccine

router = Router(tags=["Stock"])


# Helpers


def _batch_doses(country_id: int, lines: list[s.BatchDosesIn]) -> dict[Batch, int]:
    found: dict[str, Batch] = {}
    doses: dict[Batch, int] = {}
    for line in lines:
        if line.batch not in found:  # each batch read once, however many lines name it
            found[line.batch] = _batch(country_id, line.batch, "lines")
        batch = found[line.batch]
        doses[batch] = doses.get(batch, 0) + line.doses
    return doses


def _vaccine_doses(vaccines: dict[str, Vaccine], lines: list[s.VaccineDosesIn]) -> dict:
    doses: dict[Vaccine, int] = {}
    for line in lines:
        vaccine = vaccines.get(line.vaccine.strip())
        if vaccine is None:
            raise DomainError(
                "vaccine_unavailable", _("This vaccine is not offered here."), field="lines"
            )
        doses[vaccine] = doses.get(vaccine, 0) + line.doses
    return doses


def _requisition_out(requisition: Requisition) -> dict[str, Any]:
    lines = requisition.lines.select_related("vaccine").order_by("vaccine__code")
    return {
        "id": requisition.public_id,
        "status": requisition.status,
        "requester": _ref(requisition.requester),
        "supplier": _ref(requisition.supplier),
        "note": requisition.note,
        "requested_at": requisition.requested_at,
        "decided_at": requisition.decided_at,
        "lines": [
            {
                "vaccine": line.vaccine.code,
                "doses_requested": line.doses_requested,
                "doses_approved": line.doses_approved,
            }
            for line in lines
        ],
        "transfers": list(
            requisition.transfers.order_by("dispatched_at").values_list("public_id", flat=True)
        ),
    }


# Transfers


@router.post(
    "/stock/stores/{store_id}/transfers",
    response={201: s.TransferOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_transfer_dispatch",
    summary="Send a transfer to a store this one supplies",
)
def transfer_dispatch(request: HttpRequest, store_id: str, payload: s.DispatchIn) -> HttpResponse:
    """Send batches, in whole vials, to a store this one supplies: all or none."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        destination = store.children.filter(active=True, public_id=_id(payload.destination)).first()
        if destination is None:
            raise DomainError(
                "destination_unknown",
                _("Send to a store that this one supplies."),
                field="destination",
            )
        transfer = moves_between.transfer_dispatch(
            by=user,
            source=store,
            destination=destination,
            lines=_batch_doses(store.region.country_id, payload.lines),
        )
        return 201, _answer(s.TransferOut, _transfer_out(transfer))

    return _write(request, work)


@router.get(
    "/stock/transfers/{transfer_id}",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_transfer_detail",
    summary="A transfer and its lines",
)
def transfer_detail(request: HttpRequest, transfer_id: str) -> HttpResponse:
    """A transfer to or from a store in the user's scope: what was sent, received, missing."""
    transfer = queries.transfer_for_staff(_user(request), _id(transfer_id), STOCK_ROLES)
    return json_response(200, _answer(s.TransferOut, _transfer_out(transfer)))


@router.post(
    "/stock/transfers/{transfer_id}/receipt",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_transfer_receive",
    summary="Receive a transfer at its destination",
)
def transfer_receive(
    request: HttpRequest, transfer_id: str, payload: s.TransferReceiptIn
) -> HttpResponse:
    """Receive a transfer: per batch, doses in good order and damaged; the rest is short."""

    def work(user: User) -> Answer:
        transfer = queries.transfer_for_staff(user, _id(transfer_id), STOCK_ROLES)
        _store(user, transfer.destination.public_id)
        received = damaged = None
        if payload.lines is not None:
            sent = {
                line.batch.public_id: line.batch for line in transfer.lines.select_related("batch")
            }
            received, damaged = {}, {}
            for line in payload.lines:
                batch = sent.get(_id(line.batch))
                if batch is None:
                    raise DomainError(
                        "batch_not_sent", _("Only batches sent in this transfer can be received.")
                    )
                received[batch] = line.received
                if line.damaged:
                    damaged[batch] = line.damaged
        done = moves_between.transfer_receive(
            by=user, transfer=transfer, received=received, damaged=damaged
        )
        return 200, _answer(s.TransferOut, _transfer_out(done))

    return _write(request, work)


@router.post(
    "/stock/transfers/{transfer_id}/resolution",
    response={200: s.TransferOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_transfer_resolve",
    summary="Resolve a transfer's discrepancy (administrators)",
)
def transfer_resolve(
    request: HttpRequest, transfer_id: str, payload: s.ResolutionIn
) -> HttpResponse:
    """Close a transfer's missing or damaged doses with a note of what was found or done."""

    def work(user: User) -> Answer:
        transfer = queries.transfer_for_staff(user, _id(transfer_id), ADMINS)
        done = moves_between.transfer_resolve(
            by=user, transfer=transfer, resolution=payload.resolution
        )
        return 200, _answer(s.TransferOut, _transfer_out(done))

    return _write(request, work)


# Requisitions


def _supplier_side(user: User, requisition_id: str) -> Requisition:
    """Return the requisition if the user may act on the store asked (its supplier)."""
    requisition = queries.requisition_for_staff(user, _id(requisition_id), STOCK_ROLES)
    _store(user, requisition.supplier.public_id)
    return requisition


@router.post(
    "/stock/stores/{store_id}/requisitions",
    response={201: s.RequisitionOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_requisition_create",
    summary="Ask the store that supplies this one for doses",
)
def requisition_create(
    request: HttpRequest, store_id: str, payload: s.RequisitionIn
) -> HttpResponse:
    """Ask the supplying store for doses of one or more vaccines (by code)."""

    def work(user: User) -> Answer:
        store = _store(user, store_id)
        vaccines = Vaccine.objects.filter(
            country_id=store.region.country_id,
            code__in=[line.vaccine.strip() for line in payload.lines],
        )
        requisition = moves_between.requisition_create(
            by=user,
            requester=store,
            lines=_vaccine_doses({v.code: v for v in vaccines}, payload.lines),
            note=payload.note,
        )
        return 201, _answer(s.RequisitionOut, _requisition_out(requisition))

    return _write(request, work)


@router.get(
    "/stock/requisitions/{requisition_id}",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_requisition_detail",
    summary="A requisition and its lines",
)
def requisition_detail(request: HttpRequest, requisition_id: str) -> HttpResponse:
    """A requisition made by or of a store in the user's scope, with the transfers sending it."""
    requisition = queries.requisition_for_staff(_user(request), _id(requisition_id), STOCK_ROLES)
    return json_response(200, _answer(s.RequisitionOut, _requisition_out(requisition)))


@router.post(
    "/stock/requisitions/{requisition_id}/approval",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_requisition_approve",
    summary="Approve a requisition, in full or in part (the supplier)",
)
def requisition_approve(
    request: HttpRequest, requisition_id: str, payload: s.ApprovalIn
) -> HttpResponse:
    """Approve all that was asked for, or the doses per vaccine given (a vaccine left out: none)."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        approved = None
        if payload.lines is not None:
            asked = {
                line.vaccine.code: line.vaccine
                for line in requisition.lines.select_related("vaccine")
            }
            approved = _vaccine_doses(asked, payload.lines)
        done = moves_between.requisition_approve(
            by=user, requisition=requisition, approved=approved
        )
        return 200, _answer(s.RequisitionOut, _requisition_out(done))

    return _write(request, work)


@router.post(
    "/stock/requisitions/{requisition_id}/rejection",
    response={200: s.RequisitionOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_requisition_reject",
    summary="Refuse a requisition (the supplier)",
)
def requisition_reject(
    request: HttpRequest, requisition_id: str, payload: s.RejectionIn
) -> HttpResponse:
    """Refuse a requisition that waits for a decision, saying why."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        done = moves_between.requisition_reject(
            by=user, requisition=requisition, reason=payload.reason
        )
        return 200, _answer(s.RequisitionOut, _requisition_out(done))

    return _write(request, work)


@router.post(
    "/stock/requisitions/{requisition_id}/dispatch",
    response={201: s.TransferOut, **ERRORS},
    auth=staff,
    operation_id="vaxnet_api_v1_stock_requisition_dispatch",
    summary="Send an approved requisition (the supplier)",
)
def requisition_dispatch(
    request: HttpRequest, requisition_id: str, payload: s.RequisitionDispatchIn
) -> HttpResponse:
    """Send the batches given, or the supplier's first to expire first; answer the transfer."""

    def work(user: User) -> Answer:
        requisition = _supplier_side(user, requisition_id)
        supplier = _store(user, requisition.supplier.public_id)
        lines = None
        if payload.lines is not None:
            lines = _batch_doses(supplier.region.country_id, payload.lines)
        transfer = moves_between.requisition_dispatch(by=user, requisition=requisition, lines=lines)
        return 201, _answer(s.TransferOut, _transfer_out(transfer))

    return _write(request, work)
