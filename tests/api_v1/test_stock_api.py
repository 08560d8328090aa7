"""The v1 stock API for staff: stores, the ledger, receipts, wastage, counts, transfers."""

from typing import Any

import pytest
from django.conf import settings
from django.test import Client

from tests.api_v1.helpers import call, error_code
from tests.api_v1.stock_helpers import stock
from tests.stock.fixtures import district as district
from tests.stock.fixtures import phc as phc
from tests.stock.ledger_helpers import make_batch, signed_in, stocked
from vaxnet.core.models import User
from vaxnet.stock.models import PendingAdjustment, StockMove, Store, Transfer
from vaxnet.stock.queries import balance
from vaxnet.stock.requisitions import transfer_dispatch

pytestmark = pytest.mark.django_db


def test_it_lists_the_stores_in_scope(
    phc: Store, district: Store, store_keeper: User, district_admin: User, outsider: User
) -> None:
    keeper = call(signed_in(store_keeper), "get", "stock/stores").json()
    admin = call(signed_in(district_admin), "get", "stock/stores").json()
    none = call(signed_in(outsider), "get", "stock/stores").json()

    assert [store["id"] for store in keeper["stores"]] == [phc.public_id]
    assert {phc.public_id, district.public_id} <= {store["id"] for store in admin["stores"]}
    assert (admin["page"], admin["pages"]) == (1, 1)
    assert none == {"count": 0, "page": 1, "pages": 1, "stores": []}


def test_it_refuses_without_a_staff_session(phc: Store) -> None:
    listed = call(Client(), "get", "stock/stores")
    posted = call(
        Client(), "post", stock(phc, "receipts"), {"batch": "x", "doses": 10, "supplier": "M"}
    )

    assert (listed.status_code, error_code(listed)) == (401, "unauthorized")
    assert (posted.status_code, error_code(posted)) == (401, "unauthorized")


def test_it_needs_the_csrf_token_for_writes(phc: Store, store_keeper: User) -> None:
    batch = make_batch("CSRF-1")
    client = signed_in(store_keeper, csrf=True)
    body = {"batch": batch.public_id, "doses": 100, "supplier": "Maker"}

    refused = call(client, "post", stock(phc, "receipts"), body)
    shown = call(client, "get", stock(phc))
    token = "a" * 32  # a CSRF secret: the cookie and the header must match
    client.cookies[settings.CSRF_COOKIE_NAME] = token
    accepted = client.post(
        f"/api/v1/{stock(phc, 'receipts')}",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )

    assert (refused.status_code, error_code(refused)) == (403, "csrf_failed")
    assert shown.status_code == 200
    assert accepted.status_code == 201, accepted.json()
    assert balance(phc, batch) == 100


def test_it_hides_a_store_out_of_scope(phc: Store, outsider: User) -> None:
    client = signed_in(outsider)
    batch = make_batch("OUT-1")

    shown = call(client, "get", stock(phc))
    moves = call(client, "get", stock(phc, "moves"))
    posted = call(
        client,
        "post",
        stock(phc, "receipts"),
        {"batch": batch.public_id, "doses": 10, "supplier": "M"},
    )
    missing = call(client, "get", "stock/stores/nosuchstore")

    for answer in (shown, moves, posted, missing):
        assert (answer.status_code, error_code(answer)) == (404, "not_found")
    assert balance(phc, batch) == 0


def test_it_shows_a_store_with_its_stock_transit_and_excursions(
    phc: Store, district: Store, district_admin: User, store_keeper: User
) -> None:
    batch = stocked(district, make_batch("SHOW-1"), 500)
    stocked(phc, batch, 100)
    transfer = transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 200})

    answer = call(signed_in(store_keeper), "get", stock(phc))

    assert answer.status_code == 200, answer.json()
    data = answer.json()
    assert data["store"]["id"] == phc.public_id
    assert data["store"]["parent"] == district.public_id
    assert [(row["batch"]["id"], row["doses"]) for row in data["on_hand"]] == [
        (batch.public_id, 100)
    ]
    assert [t["id"] for t in data["in_transit"]] == [transfer.public_id]
    assert data["excursions"] == []


def test_it_registers_a_batch_receives_it_and_lists_the_ledger(
    phc: Store, store_keeper: User
) -> None:
    client = signed_in(store_keeper)
    registered = call(
        client,
        "post",
        "stock/batches",
        {"vaccine": "COVISHIELD", "lot_number": "NEW-1", "expires_on": "2027-01-31"},
    )
    batch_id = registered.json()["id"]

    received = call(
        client,
        "post",
        stock(phc, "receipts"),
        {"batch": batch_id, "doses": 100, "supplier": "Maker"},
    )
    wasted = call(
        client,
        "post",
        stock(phc, "wastage"),
        {"batch": batch_id, "doses": 10, "reason": "breakage"},
    )
    moves = call(client, "get", stock(phc, "moves"))
    receipts = call(client, "get", stock(phc, "moves"), {"kind": "receipt", "batch": batch_id})

    assert registered.status_code == 201, registered.json()
    assert registered.json()["doses_per_vial"] == 10
    assert received.status_code == 201, received.json()
    assert received.json()["balance"] == 100
    assert wasted.status_code == 201, wasted.json()
    assert wasted.json()["move"]["doses"] == -10
    assert wasted.json()["balance"] == 90
    assert [move["kind"] for move in moves.json()["moves"]] == ["wastage", "receipt"]
    assert [move["kind"] for move in receipts.json()["moves"]] == ["receipt"]


def test_it_receives_once_per_idempotency_key(phc: Store, store_keeper: User) -> None:
    client = signed_in(store_keeper)
    batch = make_batch("IDEM-1")
    body = {"batch": batch.public_id, "doses": 100, "supplier": "Maker"}

    first = call(client, "post", stock(phc, "receipts"), body, key="receipt-1")
    again = call(client, "post", stock(phc, "receipts"), body, key="receipt-1")

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert StockMove.objects.filter(store=phc, batch=batch).count() == 1
    assert balance(phc, batch) == 100


def test_it_refuses_wastage_beyond_the_stock_and_bad_bodies(phc: Store, store_keeper: User) -> None:
    client = signed_in(store_keeper)
    batch = stocked(phc, make_batch("SHORT-1"), 50)

    short = call(
        client,
        "post",
        stock(phc, "wastage"),
        {"batch": batch.public_id, "doses": 60, "reason": "breakage"},
    )
    unknown = call(
        client,
        "post",
        stock(phc, "wastage"),
        {"batch": "nosuch", "doses": 10, "reason": "breakage"},
    )
    bad = call(client, "post", stock(phc, "wastage"), {"batch": batch.public_id, "doses": "many"})
    broken = call(client, "post", stock(phc, "wastage"), raw="{not json")

    assert (short.status_code, error_code(short)) == (400, "stock_insufficient")
    assert (unknown.status_code, error_code(unknown)) == (400, "batch_unknown")
    assert (bad.status_code, error_code(bad)) == (422, "invalid_input")
    assert (broken.status_code, error_code(broken)) == (422, "invalid_input")
    assert balance(phc, batch) == 50


def test_it_recalls_a_batch_for_state_and_national_administrators_only(
    phc: Store, store_keeper: User, district_admin: User, state_admin: User
) -> None:
    batch = stocked(phc, make_batch("RECALL-1"), 100)
    path = f"stock/batches/{batch.public_id}/recall"

    keeper = call(signed_in(store_keeper), "post", path, {"reason": "Contaminated"})
    district = call(signed_in(district_admin), "post", path, {"reason": "Contaminated"})
    admin = call(signed_in(state_admin), "post", path, {"reason": "Contaminated"})
    receipt = call(
        signed_in(store_keeper),
        "post",
        stock(phc, "receipts"),
        {"batch": batch.public_id, "doses": 100, "supplier": "Maker"},
    )

    assert (keeper.status_code, error_code(keeper)) == (404, "not_found")
    assert (district.status_code, error_code(district)) == (404, "not_found")
    assert admin.status_code == 200, admin.json()
    assert admin.json()["recalled_at"] is not None
    assert (receipt.status_code, error_code(receipt)) == (400, "batch_recalled")
    assert balance(phc, batch) == 100


def test_it_adjusts_a_count_and_has_a_large_one_decided(
    phc: Store, store_keeper: User, district_admin: User
) -> None:
    keeper = signed_in(store_keeper)
    batch = stocked(phc, make_batch("COUNT-1"), 500)

    small = call(
        keeper,
        "post",
        stock(phc, "counts"),
        {"batch": batch.public_id, "counted_doses": 490, "reason": "Broken vial"},
    )
    large = call(
        keeper,
        "post",
        stock(phc, "counts"),
        {"batch": batch.public_id, "counted_doses": 200, "reason": "Lost box"},
    )
    pending_id = large.json()["adjustment"]["id"]
    own = call(keeper, "post", f"stock/adjustments/{pending_id}/decision", {"approve": True})
    decided = call(
        signed_in(district_admin),
        "post",
        f"stock/adjustments/{pending_id}/decision",
        {"approve": True},
    )
    again = call(
        signed_in(district_admin),
        "post",
        f"stock/adjustments/{pending_id}/decision",
        {"approve": True},
    )

    assert small.status_code == 201, small.json()
    assert (small.json()["difference"], small.json()["balance"]) == (-10, 490)
    assert large.json()["move"] is None
    assert large.json()["difference"] == -290
    assert (own.status_code, error_code(own)) == (404, "not_found")
    assert decided.status_code == 200, decided.json()
    assert decided.json()["status"] == PendingAdjustment.Status.APPROVED
    assert (again.status_code, error_code(again)) == (400, "adjustment_decided")
    assert balance(phc, batch) == 200


def test_it_dispatches_receives_and_resolves_a_transfer(
    phc: Store, district: Store, store_keeper: User, district_admin: User, outsider: User
) -> None:
    admin = signed_in(district_admin)
    keeper = signed_in(store_keeper)
    batch = stocked(district, make_batch("SEND-1"), 500)

    sent = call(
        admin,
        "post",
        stock(district, "transfers"),
        {"destination": phc.public_id, "lines": [{"batch": batch.public_id, "doses": 200}]},
    )
    transfer_id = sent.json()["id"]
    hidden = call(signed_in(outsider), "get", f"stock/transfers/{transfer_id}")
    shown = call(keeper, "get", f"stock/transfers/{transfer_id}")
    received = call(
        keeper,
        "post",
        f"stock/transfers/{transfer_id}/receipt",
        {"lines": [{"batch": batch.public_id, "received": 180, "damaged": 10}]},
    )
    again = call(keeper, "post", f"stock/transfers/{transfer_id}/receipt", {})
    by_keeper = call(
        keeper, "post", f"stock/transfers/{transfer_id}/resolution", {"resolution": "Box lost"}
    )
    resolved = call(
        admin, "post", f"stock/transfers/{transfer_id}/resolution", {"resolution": "Box lost"}
    )

    assert sent.status_code == 201, sent.json()
    assert balance(district, batch) == 300
    assert (hidden.status_code, error_code(hidden)) == (404, "not_found")
    assert shown.json()["status"] == Transfer.Status.IN_TRANSIT
    assert received.status_code == 200, received.json()
    assert received.json()["status"] == Transfer.Status.DISCREPANCY
    assert received.json()["lines"][0]["doses_short"] == 10
    assert (again.status_code, error_code(again)) == (400, "transfer_received")
    assert (by_keeper.status_code, error_code(by_keeper)) == (404, "not_found")
    assert resolved.json()["status"] == Transfer.Status.RESOLVED
    assert balance(phc, batch) == 180


def test_it_refuses_a_transfer_beyond_the_stock(
    phc: Store, district: Store, district_admin: User
) -> None:
    batch = stocked(district, make_batch("SEND-2"), 100)
    body: dict[str, Any] = {
        "destination": phc.public_id,
        "lines": [{"batch": batch.public_id, "doses": 200}],
    }

    short = call(signed_in(district_admin), "post", stock(district, "transfers"), body)
    upward = call(
        signed_in(district_admin),
        "post",
        stock(phc, "transfers"),
        {**body, "destination": district.public_id},
    )

    assert (short.status_code, error_code(short)) == (400, "stock_insufficient")
    assert (upward.status_code, error_code(upward)) == (400, "destination_unknown")
    assert balance(district, batch) == 100
    assert not Transfer.objects.exists()
