"""Transfers between stores and the requisitions that ask for them."""

from collections.abc import Callable
from datetime import date

import pytest
import time_machine

from vaxnet.core.errors import NotFound
from vaxnet.core.models import AuditEvent, User
from vaxnet.facilities.models import Role
from vaxnet.stock.models import Requisition, StockMove, Store, Transfer
from vaxnet.stock.queries import (
    balance,
    doses_in_transit,
    requisition_for_staff,
    requisitions_of,
    transfer_for_staff,
    transfers_in_transit,
)
from vaxnet.stock.requisitions import (
    requisition_approve,
    requisition_create,
    requisition_dispatch,
    requisition_reject,
    transfer_dispatch,
    transfer_receive,
    transfer_resolve,
)
from vaxnet.stock.services import batch_recall
from vaxnet.vaccines.models import Vaccine

from .ledger_helpers import NOW, make_batch, refusal_code, stocked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_a_transfer_leaves_at_once_and_arrives_when_received(district: Store, phc: Store) -> None:
    one = stocked(district, make_batch("L1"), 500)
    two = stocked(district, make_batch("L2"), 100)

    transfer = transfer_dispatch(
        by=None, source=district, destination=phc, lines={one: 200, two: 50}
    )

    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert (balance(district, one), balance(district, two)) == (300, 50)
    assert balance(phc, one) == 0
    assert list(transfers_in_transit(phc)) == [transfer]
    assert doses_in_transit(phc) == {one.pk: 200, two.pk: 50}

    transfer_receive(by=None, transfer=transfer)

    assert transfer.status == Transfer.Status.RECEIVED
    assert (balance(phc, one), balance(phc, two)) == (200, 50)
    assert doses_in_transit(phc) == {}
    kinds = StockMove.objects.filter(transfer=transfer).values_list("kind", "doses")
    assert sorted(kinds) == [
        ("dispatch", -200),
        ("dispatch", -50),
        ("transfer_in", 50),
        ("transfer_in", 200),
    ]
    assert refusal_code(transfer_receive, by=None, transfer=transfer) == "transfer_received"


def test_a_short_or_damaged_receipt_is_a_discrepancy_to_resolve(
    district: Store, phc: Store
) -> None:
    batch = stocked(district, make_batch("L1"), 500)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 300})

    transfer_receive(by=None, transfer=transfer, received={batch: 250}, damaged={batch: 20})

    line = transfer.lines.get()
    assert (line.doses_sent, line.doses_received, line.doses_short, line.doses_damaged) == (
        300,
        250,
        30,
        20,
    )
    assert transfer.status == Transfer.Status.DISCREPANCY
    assert balance(phc, batch) == 250
    assert (
        refusal_code(transfer_resolve, by=None, transfer=transfer, resolution=" ")
        == "resolution_required"
    )
    transfer_resolve(by=None, transfer=transfer, resolution="Carrier broke a box; reported.")
    assert transfer.status == Transfer.Status.RESOLVED
    assert (
        refusal_code(transfer_resolve, by=None, transfer=transfer, resolution="again")
        == "no_discrepancy"
    )


def test_damage_alone_is_received_as_the_rest(district: Store, phc: Store) -> None:
    batch = stocked(district, make_batch("L1"), 100)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 100})

    transfer_receive(by=None, transfer=transfer, damaged={batch: 10})

    assert balance(phc, batch) == 90
    assert transfer.status == Transfer.Status.DISCREPANCY


def test_a_receipt_cannot_exceed_what_was_sent(district: Store, phc: Store) -> None:
    batch = stocked(district, make_batch("L1"), 100)
    other = make_batch("L2")
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 100})

    assert (
        refusal_code(transfer_receive, by=None, transfer=transfer, received={batch: 110})
        == "received_more_than_sent"
    )
    assert (
        refusal_code(transfer_receive, by=None, transfer=transfer, received={other: 10})
        == "batch_not_sent"
    )
    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.IN_TRANSIT
    assert balance(phc, batch) == 0


def test_a_dispatch_is_all_or_nothing(district: Store, phc: Store) -> None:
    enough = stocked(district, make_batch("L1"), 100)
    scarce = stocked(district, make_batch("L2"), 10)

    code = refusal_code(
        transfer_dispatch, by=None, source=district, destination=phc, lines={enough: 50, scarce: 20}
    )

    assert code == "stock_insufficient"
    assert not Transfer.objects.exists()
    assert (balance(district, enough), balance(district, scarce)) == (100, 10)


def test_recalled_and_expired_batches_cannot_be_sent(district: Store, phc: Store) -> None:
    recalled = stocked(district, make_batch("L1"), 100)
    batch_recall(by=None, batch=recalled, reason="Recall")
    expiring = stocked(district, make_batch("L2", expires_on=NOW.date()), 100)

    def send(batch: object) -> Callable[[], object]:
        return lambda: transfer_dispatch(
            by=None,
            source=district,
            destination=phc,
            lines={batch: 10},  # type: ignore[dict-item]
        )

    assert refusal_code(send(recalled)) == "batch_recalled"
    transfer_dispatch(by=None, source=district, destination=phc, lines={expiring: 10})
    with time_machine.travel(date(2026, 3, 3), tick=False):
        assert refusal_code(send(expiring)) == "batch_expired"
    assert refusal_code(
        transfer_dispatch, by=None, source=phc, destination=phc, lines={recalled: 10}
    ) == ("same_store")


def test_a_batch_recalled_in_transit_is_still_received(district: Store, phc: Store) -> None:
    batch = stocked(district, make_batch("L1"), 100)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 100})
    batch_recall(by=None, batch=batch, reason="Recall")

    transfer_receive(by=None, transfer=transfer)

    assert balance(phc, batch) == 100


def test_a_requisition_goes_from_request_to_receipt(
    district: Store, phc: Store, store_keeper: User, district_admin: User
) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    later = stocked(district, make_batch("LATE", expires_on=date(2027, 6, 30)), 500)
    sooner = stocked(district, make_batch("SOON", expires_on=date(2026, 6, 30)), 100)

    requisition = requisition_create(
        by=store_keeper, requester=phc, lines={vaccine: 300}, note="Campaign week"
    )
    assert (requisition.status, requisition.supplier) == (Requisition.Status.REQUESTED, district)
    assert requisition_for_staff(store_keeper, requisition.public_id, [Role.STORE_KEEPER])
    assert requisition_for_staff(district_admin, requisition.public_id, [Role.DISTRICT_ADMIN])
    assert list(requisitions_of(district)) == list(requisitions_of(phc)) == [requisition]

    requisition_approve(by=district_admin, requisition=requisition, approved={vaccine: 250})
    assert requisition.status == Requisition.Status.APPROVED
    assert requisition.lines.get().doses_approved == 250

    transfer = requisition_dispatch(by=district_admin, requisition=requisition)
    assert requisition.status == Requisition.Status.DISPATCHED
    assert transfer.requisition == requisition
    assert sorted((line.batch.lot_number, line.doses_sent) for line in transfer.lines.all()) == [
        ("LATE", 150),
        ("SOON", 100),
    ]
    assert (balance(district, sooner), balance(district, later)) == (0, 350)

    transfer_receive(by=store_keeper, transfer=transfer)
    requisition.refresh_from_db()
    assert requisition.status == Requisition.Status.RECEIVED
    assert balance(phc, sooner) + balance(phc, later) == 250
    assert AuditEvent.objects.filter(action__startswith="stock.requisition").count() == 2


def test_a_requisition_is_refused_when_it_cannot_be_met(
    district: Store, phc: Store, store_keeper: User
) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    requisition = requisition_create(by=store_keeper, requester=phc, lines={vaccine: 300})

    assert (
        refusal_code(requisition_approve, by=None, requisition=requisition, approved={vaccine: 400})
        == "approved_more_than_requested"
    )
    assert (
        refusal_code(requisition_approve, by=None, requisition=requisition, approved={})
        == "nothing_approved"
    )
    assert (
        refusal_code(requisition_dispatch, by=None, requisition=requisition)
        == "requisition_not_approved"
    )
    requisition_approve(by=None, requisition=requisition)
    assert (
        refusal_code(requisition_dispatch, by=None, requisition=requisition) == "stock_insufficient"
    )
    batch = stocked(district, make_batch("L1"), 500)
    assert (
        refusal_code(requisition_dispatch, by=None, requisition=requisition, lines={batch: 310})
        == "more_than_approved"
    )
    assert refusal_code(requisition_reject, by=None, requisition=requisition, reason="No") == (
        "requisition_decided"
    )


def test_a_requisition_can_be_rejected(phc: Store, store_keeper: User) -> None:
    vaccine = Vaccine.objects.get(code="COVISHIELD")
    requisition = requisition_create(by=store_keeper, requester=phc, lines={vaccine: 300})

    requisition_reject(by=None, requisition=requisition, reason="Stock-out at the district")

    assert requisition.status == Requisition.Status.REJECTED
    assert (
        refusal_code(requisition_dispatch, by=None, requisition=requisition)
        == "requisition_not_approved"
    )


def test_the_national_store_asks_nobody(phc: Store) -> None:
    national = phc
    while national.parent is not None:
        national = national.parent
    vaccine = Vaccine.objects.get(code="COVISHIELD")

    assert (
        refusal_code(requisition_create, by=None, requester=national, lines={vaccine: 10})
        == "no_supplier"
    )


def test_transfers_are_seen_from_both_ends_only(
    district: Store, phc: Store, store_keeper: User, district_admin: User, outsider: User
) -> None:
    batch = stocked(district, make_batch("L1"), 100)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 10})

    assert transfer_for_staff(store_keeper, transfer.public_id, [Role.STORE_KEEPER]) == transfer
    assert transfer_for_staff(district_admin, transfer.public_id, [Role.DISTRICT_ADMIN])
    with pytest.raises(NotFound):
        transfer_for_staff(outsider, transfer.public_id)
