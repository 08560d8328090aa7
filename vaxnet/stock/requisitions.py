"""Between stores: transfers, and the requisitions by which a store asks its supplier for one.

A transfer leaves the source in one transaction (DISPATCH moves) and enters the destination
when received (TRANSFER_IN moves for the doses received in good order); what is short or
damaged stays on the transfer as a discrepancy until resolved.

Both sides follow one status: requested → approved (in full or in part) or rejected →
dispatched (a transfer linked to it) → received (when that transfer is received).
"""

from collections.abc import Mapping
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vaxnet.core.audit import audit_record
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.stock.models import Batch, Requisition, RequisitionLine, Store, Transfer, TransferLine
from vaxnet.stock.queries import fefo_allocate
from vaxnet.stock.services import Kind, check_active, check_usable, record_move, whole_vials
from vaxnet.vaccines.models import Vaccine

# --- transfers --------------------------------------------------------------------------------


def transfer_dispatch(
    *,
    by: User | None,
    source: Store,
    destination: Store,
    lines: Mapping[Batch, int],
    requisition: Requisition | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Send batches (doses per batch, whole vials) from one store to another: all or none."""
    if source.pk == destination.pk:
        raise DomainError("same_store", _("A transfer goes to another store."), field="destination")
    if not lines:
        raise DomainError("no_lines", _("Choose what to send."), field="lines")
    check_active(source)
    check_active(destination)
    now = now or timezone.now()
    today = timezone.localdate(now)
    vials = {batch: whole_vials(batch, doses, field="lines") for batch, doses in lines.items()}
    with transaction.atomic():
        transfer = Transfer(
            source=source,
            destination=destination,
            requisition=requisition,
            dispatched_at=now,
            dispatched_by=by if by is not None and by.pk else None,
        )
        transfer.save(force_insert=True)
        for batch, doses in sorted(lines.items(), key=lambda item: item[0].pk):
            check_usable(batch, on=today)
            TransferLine.objects.create(transfer=transfer, batch=batch, doses_sent=doses)
            record_move(
                store=source,
                batch=batch,
                kind=Kind.DISPATCH,
                doses=-doses,
                vials=-vials[batch],
                by=by,
                at=now,
                transfer=transfer,
            )
        audit_record(
            actor=by,
            action="stock.transfer_dispatch",
            obj=transfer,
            data={
                "from": source.public_id,
                "to": destination.public_id,
                "lines": {batch.public_id: doses for batch, doses in lines.items()},
            },
        )
    return transfer


def transfer_receive(
    *,
    by: User | None,
    transfer: Transfer,
    received: Mapping[Batch, int] | None = None,
    damaged: Mapping[Batch, int] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Receive a transfer: the doses received in good order enter the destination.

    `received` gives the doses received in good order per batch (a batch left out: none;
    `received` not given: all sent but the damaged), `damaged` those that arrived unusable;
    what is neither is short. Any short or damaged dose leaves
    the transfer in DISCREPANCY until it is resolved. A batch recalled or expired while in
    transit is received all the same, so that it can be returned or written off.
    """
    now = now or timezone.now()
    damaged = damaged or {}
    lines = list(transfer.lines.select_related("batch").order_by("batch_id"))
    known = {line.batch_id for line in lines}
    if any(batch.pk not in known for batch in [*(received or {}), *damaged]):
        raise DomainError(
            "batch_not_sent", _("Only batches sent in this transfer can be received.")
        )
    with transaction.atomic():
        changed = Transfer.objects.filter(pk=transfer.pk, status=Transfer.Status.IN_TRANSIT).update(
            status=Transfer.Status.RECEIVED,
            received_at=now,
            received_by=by if by is not None and by.pk else None,
        )
        if not changed:
            raise DomainError("transfer_received", _("This transfer has been received already."))
        short_any = False
        summary = {}
        by_id_received = {batch.pk: doses for batch, doses in (received or {}).items()}
        by_id_damaged = {batch.pk: doses for batch, doses in damaged.items()}
        for line in lines:
            bad = by_id_damaged.get(line.batch_id, 0)
            if received is None:
                good = line.doses_sent - bad
            else:
                good = by_id_received.get(line.batch_id, 0)
            if good < 0 or bad < 0 or good + bad > line.doses_sent:
                raise DomainError(
                    "received_more_than_sent",
                    _("For batch {lot}, {sent} doses were sent.").format(
                        lot=line.batch.lot_number, sent=line.doses_sent
                    ),
                )
            if bad:
                whole_vials(line.batch, bad, field="damaged")
            line.doses_received = good
            line.doses_damaged = bad
            line.doses_short = line.doses_sent - good - bad
            line.save(update_fields=["doses_received", "doses_damaged", "doses_short"])
            short_any = short_any or bool(line.doses_short or line.doses_damaged)
            summary[line.batch.public_id] = [good, line.doses_short, bad]
            if good:
                record_move(
                    store=transfer.destination,
                    batch=line.batch,
                    kind=Kind.TRANSFER_IN,
                    doses=good,
                    vials=whole_vials(line.batch, good, field="received"),
                    by=by,
                    at=now,
                    transfer=transfer,
                )
        if short_any:
            Transfer.objects.filter(pk=transfer.pk).update(status=Transfer.Status.DISCREPANCY)
        if transfer.requisition_id is not None:
            Requisition.objects.filter(
                pk=transfer.requisition_id, status=Requisition.Status.DISPATCHED
            ).update(status=Requisition.Status.RECEIVED)
        audit_record(
            actor=by,
            action="stock.transfer_receive",
            obj=transfer,
            data={"lines": summary, "discrepancy": short_any},
        )
    transfer.refresh_from_db()
    return transfer


def transfer_resolve(*, by: User | None, transfer: Transfer, resolution: str) -> Transfer:
    """Close a transfer's discrepancy with a note of what was found or done."""
    resolution = resolution.strip()
    if not resolution:
        raise DomainError(
            "resolution_required", _("Say how the discrepancy was resolved."), field="resolution"
        )
    with transaction.atomic():
        changed = Transfer.objects.filter(
            pk=transfer.pk, status=Transfer.Status.DISCREPANCY
        ).update(status=Transfer.Status.RESOLVED, resolution=resolution)
        if not changed:
            raise DomainError(
                "no_discrepancy", _("This transfer has no discrepancy waiting to be resolved.")
            )
        audit_record(
            actor=by,
            action="stock.transfer_resolve",
            obj=transfer,
            data={"resolution": resolution},
        )
    transfer.refresh_from_db()
    return transfer


# --- requisitions ---------------------------------------------------------------------------


def requisition_create(
    *,
    by: User | None,
    requester: Store,
    lines: Mapping[Vaccine, int],
    note: str = "",
    now: datetime | None = None,
) -> Requisition:
    """Ask the store that supplies the requester for doses of one or more vaccines."""
    if requester.parent_id is None:
        raise DomainError("no_supplier", _("No store supplies {store}.").format(store=requester))
    if not lines or any(doses <= 0 for doses in lines.values()):
        raise DomainError("no_lines", _("Ask for some doses of each vaccine."), field="lines")
    country_id = requester.region.country_id
    if any(vaccine.country_id != country_id or not vaccine.active for vaccine in lines):
        raise DomainError(
            "vaccine_unavailable", _("This vaccine is not offered here."), field="lines"
        )
    now = now or timezone.now()
    with transaction.atomic():
        requisition = Requisition(
            requester=requester,
            supplier_id=requester.parent_id,
            note=note.strip(),
            requested_at=now,
        )
        requisition.save(force_insert=True)
        RequisitionLine.objects.bulk_create(
            RequisitionLine(requisition=requisition, vaccine=vaccine, doses_requested=doses)
            for vaccine, doses in lines.items()
        )
        audit_record(
            actor=by,
            action="stock.requisition_create",
            obj=requisition,
            data={
                "requester": requester.public_id,
                "lines": {vaccine.code: doses for vaccine, doses in lines.items()},
            },
        )
    return requisition


def requisition_approve(
    *,
    by: User | None,
    requisition: Requisition,
    approved: Mapping[Vaccine, int] | None = None,
    now: datetime | None = None,
) -> Requisition:
    """Approve a requisition in full (`approved` not given) or in part (doses per vaccine).

    A vaccine left out of `approved` is approved for no dose; none at all is a rejection.
    """
    lines = list(requisition.lines.select_related("vaccine"))
    asked = {line.vaccine_id: line for line in lines}
    if approved is None:
        decided = {line.vaccine_id: line.doses_requested for line in lines}
    else:
        if any(vaccine.pk not in asked for vaccine in approved):
            raise DomainError(
                "vaccine_not_requested", _("Approve only the vaccines asked for."), field="lines"
            )
        decided = {line.vaccine_id: approved.get(line.vaccine, 0) for line in lines}
    for vaccine_id, doses in decided.items():
        line = asked[vaccine_id]
        if doses < 0 or doses > line.doses_requested:
            raise DomainError(
                "approved_more_than_requested",
                _("For {vaccine}, approve between 0 and the {doses} doses asked for.").format(
                    vaccine=line.vaccine.code, doses=line.doses_requested
                ),
                field="lines",
            )
    if not any(decided.values()):
        raise DomainError(
            "nothing_approved", _("Nothing is approved: reject the requisition instead.")
        )
    now = now or timezone.now()
    with transaction.atomic():
        _decide(requisition, Requisition.Status.APPROVED, now)
        for vaccine_id, doses in decided.items():
            RequisitionLine.objects.filter(pk=asked[vaccine_id].pk).update(doses_approved=doses)
        audit_record(
            actor=by,
            action="stock.requisition_approve",
            obj=requisition,
            data={asked[key].vaccine.code: doses for key, doses in decided.items()},
        )
    requisition.refresh_from_db()
    return requisition


def requisition_reject(
    *, by: User | None, requisition: Requisition, reason: str, now: datetime | None = None
) -> Requisition:
    """Refuse a requisition, saying why."""
    reason = reason.strip()
    if not reason:
        raise DomainError(
            "reason_required", _("Say why the requisition is refused."), field="reason"
        )
    now = now or timezone.now()
    with transaction.atomic():
        _decide(requisition, Requisition.Status.REJECTED, now)
        requisition.lines.update(doses_approved=0)
        audit_record(
            actor=by, action="stock.requisition_reject", obj=requisition, data={"reason": reason}
        )
    requisition.refresh_from_db()
    return requisition


def _decide(requisition: Requisition, status: str, now: datetime) -> None:
    changed = Requisition.objects.filter(
        pk=requisition.pk, status=Requisition.Status.REQUESTED
    ).update(status=status, decided_at=now)
    if not changed:
        raise DomainError("requisition_decided", _("This requisition has been decided already."))


def requisition_dispatch(
    *,
    by: User | None,
    requisition: Requisition,
    lines: Mapping[Batch, int] | None = None,
    now: datetime | None = None,
) -> Transfer:
    """Send an approved requisition from the supplier: the batches given, or first-expiry-first.

    Never more of a vaccine than approved; without `lines`, the supplier's usable batches
    are chosen first to expire first, in whole vials (see `queries.fefo_allocate`).
    """
    if requisition.status != Requisition.Status.APPROVED:
        raise _not_approved()
    now = now or timezone.now()
    approved = {
        line.vaccine_id: (line.vaccine, line.doses_approved or 0)
        for line in requisition.lines.select_related("vaccine")
    }
    supplier = requisition.supplier
    if lines is None:
        today = timezone.localdate(now)
        lines = {
            batch: doses
            for vaccine, wanted in approved.values()
            if wanted
            for batch, doses in fefo_allocate(supplier, vaccine, wanted, today)
        }
        if not lines:
            raise DomainError(
                "stock_insufficient",
                _("{store} holds no usable stock of the vaccines approved.").format(
                    store=supplier.name
                ),
            )
    sent: dict[int, int] = {}
    for batch, doses in lines.items():
        sent[batch.vaccine_id] = sent.get(batch.vaccine_id, 0) + doses
    for vaccine_id, doses in sent.items():
        if vaccine_id not in approved or doses > approved[vaccine_id][1]:
            raise DomainError(
                "more_than_approved",
                _("Send no more of each vaccine than was approved."),
                field="lines",
            )
    with transaction.atomic():
        changed = Requisition.objects.filter(
            pk=requisition.pk, status=Requisition.Status.APPROVED
        ).update(status=Requisition.Status.DISPATCHED)
        if not changed:
            raise _not_approved()
        transfer = transfer_dispatch(
            by=by,
            source=supplier,
            destination=requisition.requester,
            lines=lines,
            requisition=requisition,
            now=now,
        )
    requisition.refresh_from_db()
    return transfer


def _not_approved() -> DomainError:
    return DomainError(
        "requisition_not_approved", _("Only an approved requisition can be dispatched.")
    )
