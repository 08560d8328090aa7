"""The ledger: receipts, wastage, doses given, counts and their approval, recalls, expiry, scope."""

from datetime import date, timedelta

import pytest
import time_machine

from vaxnet.core.errors import NotFound
from vaxnet.core.models import AuditEvent, User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility, Role
from vaxnet.stock.models import Balance, PendingAdjustment, StockMove, Store
from vaxnet.stock.queries import (
    adjustment_for_staff,
    balance,
    balances,
    fefo,
    fefo_allocate,
    ledger_balance,
    store_for_staff,
)
from vaxnet.stock.services import (
    adjustment_decide,
    batch_recall,
    stock_consume,
    stock_count,
    stock_receive,
    stock_waste,
)
from vaxnet.vaccines.models import Vaccine

from .ledger_helpers import NOW, facility_store, make_batch, refusal_code, stocked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_it_receives_whole_vials_and_keeps_the_balance(store: Store) -> None:
    batch = make_batch("L1")

    move = stock_receive(by=None, store=store, batch=batch, doses=200, supplier="Serum Institute")

    assert (move.kind, move.doses, move.vials, move.note) == ("receipt", 200, 20, "Serum Institute")
    assert balance(store, batch) == ledger_balance(store, batch) == 200
    assert Balance.objects.get(store=store, batch=batch).vials == 20
    assert AuditEvent.objects.filter(action="stock.receive", object_id=str(move.pk)).exists()


def test_it_refuses_part_of_a_vial_or_nothing(store: Store) -> None:
    batch = make_batch("L1")

    assert (
        refusal_code(stock_receive, by=None, store=store, batch=batch, doses=15, supplier="S")
        == "whole_vials"
    )
    assert (
        refusal_code(stock_receive, by=None, store=store, batch=batch, doses=0, supplier="S")
        == "doses_not_positive"
    )
    assert (
        refusal_code(stock_receive, by=None, store=store, batch=batch, doses=10, supplier=" ")
        == "supplier_required"
    )
    assert not StockMove.objects.exists()


def test_it_writes_off_wastage_with_a_reason(store: Store) -> None:
    batch = stocked(store, make_batch("L1"), 100)

    broken = stock_waste(by=None, store=store, batch=batch, doses=10, reason="breakage")
    stale = stock_waste(by=None, store=store, batch=batch, doses=3, reason="open_vial")

    assert (broken.doses, broken.vials, broken.reason) == (-10, -1, "breakage")
    assert (stale.doses, stale.vials, stale.reason) == (-3, 0, "open_vial")
    assert balance(store, batch) == 87
    assert (
        refusal_code(stock_waste, by=None, store=store, batch=batch, doses=10, reason="count")
        == "wastage_reason"
    )
    assert (
        refusal_code(stock_waste, by=None, store=store, batch=batch, doses=5, reason="breakage")
        == "whole_vials"
    )


def test_it_never_goes_below_zero(store: Store) -> None:
    batch = stocked(store, make_batch("L1"), 20)

    assert (
        refusal_code(stock_waste, by=None, store=store, batch=batch, doses=30, reason="expiry")
        == "stock_insufficient"
    )
    assert refusal_code(stock_consume, by=None, store=store, batch=batch, doses=21) == (
        "stock_insufficient"
    )
    other = make_batch("L2")
    assert refusal_code(stock_consume, by=None, store=store, batch=other) == "stock_insufficient"
    assert balance(store, batch) == 20
    assert StockMove.objects.count() == 1
    assert not Balance.objects.filter(batch=other).exists()


def test_it_books_doses_given_from_the_store(store: Store) -> None:
    batch = stocked(store, make_batch("L1"), 20)

    move = stock_consume(by=None, store=store, batch=batch, doses=2)

    assert (move.kind, move.doses, move.vials) == ("consumption", -2, 0)
    assert balance(store, batch) == 18


def test_a_recalled_batch_can_only_be_returned_or_written_off(store: Store) -> None:
    batch = stocked(store, make_batch("L1"), 100)

    batch_recall(by=None, batch=batch, reason="Particles seen in vials")

    assert refusal_code(stock_consume, by=None, store=store, batch=batch) == "batch_recalled"
    assert (
        refusal_code(stock_receive, by=None, store=store, batch=batch, doses=10, supplier="S")
        == "batch_recalled"
    )
    assert (
        refusal_code(stock_count, by=None, store=store, batch=batch, counted_doses=90, reason="c")
        == "batch_recalled"
    )
    stock_waste(by=None, store=store, batch=batch, doses=100, reason="recall")
    assert balance(store, batch) == 0
    assert refusal_code(batch_recall, by=None, batch=batch, reason="again") == "batch_recalled"


def test_a_stale_copy_of_a_batch_still_sees_its_recall(store: Store) -> None:
    batch = stocked(store, make_batch("L1"), 100)
    stale = type(batch).objects.get(pk=batch.pk)

    batch_recall(by=None, batch=batch, reason="Recall notice 12")

    assert stale.recalled_at is None
    assert refusal_code(stock_consume, by=None, store=store, batch=stale) == "batch_recalled"


def test_an_expired_batch_cannot_be_given_or_received(store: Store) -> None:
    today = NOW.date()
    batch = stocked(store, make_batch("L1", expires_on=today), 100)

    stock_consume(by=None, store=store, batch=batch)
    # Midnight in the country's zone, while it is still the day before in UTC.
    with time_machine.travel(NOW.replace(hour=0, minute=30) + timedelta(days=1), tick=False):
        assert refusal_code(stock_consume, by=None, store=store, batch=batch) == "batch_expired"
        stock_waste(by=None, store=store, batch=batch, doses=90, reason="expiry")
    old = make_batch("L0", expires_on=date(2026, 1, 31))
    assert (
        refusal_code(stock_receive, by=None, store=store, batch=old, doses=10, supplier="S")
        == "batch_expired"
    )


def test_a_small_count_difference_is_adjusted_at_once(store: Store, store_keeper: User) -> None:
    batch = stocked(store, make_batch("L1"), 200)

    outcome = stock_count(
        by=store_keeper, store=store, batch=batch, counted_doses=190, reason="One vial missing"
    )

    assert outcome.difference == -10 and outcome.pending is None
    assert outcome.move is not None
    assert (outcome.move.kind, outcome.move.reason, outcome.move.vials) == (
        "adjustment",
        "count",
        -1,
    )
    assert balance(store, batch) == 190
    same = stock_count(by=store_keeper, store=store, batch=batch, counted_doses=190, reason="ok")
    assert same.difference == 0 and same.move is None and same.pending is None
    assert AuditEvent.objects.filter(action="stock.count").count() == 2


def test_a_large_difference_waits_for_the_district(
    store: Store, store_keeper: User, district_admin: User
) -> None:
    batch = stocked(store, make_batch("L1"), 500)

    outcome = stock_count(
        by=store_keeper, store=store, batch=batch, counted_doses=300, reason="Freezer failure"
    )

    assert outcome.difference == -200 and outcome.move is None
    pending = outcome.pending
    assert pending is not None and pending.status == PendingAdjustment.Status.WAITING
    assert balance(store, batch) == 500
    # Issues since the count stay: the difference counted is applied, not the count.
    stock_consume(by=None, store=store, batch=batch, doses=50)
    found = adjustment_for_staff(district_admin, pending.public_id, [Role.DISTRICT_ADMIN])
    assert (
        refusal_code(adjustment_decide, by=store_keeper, pending=found, approve=True) == "own_count"
    )

    adjustment_decide(by=district_admin, pending=found, approve=True)

    assert found.status == PendingAdjustment.Status.APPROVED
    assert found.decided_by == district_admin
    assert balance(store, batch) == 250 == ledger_balance(store, batch)
    assert (
        refusal_code(adjustment_decide, by=district_admin, pending=found, approve=False)
        == "adjustment_decided"
    )


def test_an_approval_that_would_go_below_zero_is_refused(
    store: Store, store_keeper: User, district_admin: User
) -> None:
    batch = stocked(store, make_batch("L1"), 500)
    pending = stock_count(
        by=store_keeper, store=store, batch=batch, counted_doses=300, reason="Lost"
    ).pending
    assert pending is not None
    stock_waste(by=None, store=store, batch=batch, doses=400, reason="breakage")

    code = refusal_code(adjustment_decide, by=district_admin, pending=pending, approve=True)

    assert code == "stock_insufficient"
    pending.refresh_from_db()
    assert pending.status == PendingAdjustment.Status.WAITING
    adjustment_decide(by=district_admin, pending=pending, approve=False)
    assert pending.status == PendingAdjustment.Status.REJECTED
    assert balance(store, batch) == 100


def test_the_threshold_comes_from_the_pack(country: Country, store: Store) -> None:
    country.config = {**country.config, "stock": {"adjustment_approval_doses": 5}}
    country.save(update_fields=["config"])
    store.refresh_from_db()
    batch = stocked(store, make_batch("L1"), 100)

    outcome = stock_count(by=None, store=store, batch=batch, counted_doses=90, reason="Count")

    assert outcome.pending is not None and outcome.move is None


def test_fefo_suggests_the_first_to_expire_and_skips_the_unusable(store: Store) -> None:
    later = stocked(store, make_batch("LATE", expires_on=date(2027, 6, 30)), 100)
    sooner = stocked(store, make_batch("SOON", expires_on=date(2026, 6, 30)), 30)
    recalled = stocked(store, make_batch("BAD", expires_on=date(2026, 4, 1)), 100)
    batch_recall(by=None, batch=recalled, reason="Recall")
    vvm = stocked(store, make_batch("HOT", expires_on=date(2026, 4, 2)), 100)
    type(vvm).objects.filter(pk=vvm.pk).update(vvm_stage=3)
    stocked(store, make_batch("GONE", expires_on=date(2026, 3, 10)), 100)
    vaccine = Vaccine.objects.get(code="COVISHIELD")

    assert fefo(store, vaccine, date(2026, 3, 20)) == [(sooner, 30), (later, 100)]
    assert fefo_allocate(store, vaccine, 75, date(2026, 3, 20)) == [(sooner, 30), (later, 40)]
    assert [b.lot_number for b in (row.batch for row in balances(store))] == [
        "GONE",
        "BAD",
        "HOT",
        "SOON",
        "LATE",
    ]


def test_staff_see_only_their_stores(
    hill_phc: Facility,
    sea_hospital: Facility,
    store_keeper: User,
    district_admin: User,
    outsider: User,
) -> None:
    mine = facility_store(hill_phc)
    other = facility_store(sea_hospital)
    district = mine.parent
    assert district is not None

    assert store_for_staff(store_keeper, mine.public_id, [Role.STORE_KEEPER]) == mine
    assert store_for_staff(district_admin, mine.public_id, [Role.DISTRICT_ADMIN]) == mine
    assert store_for_staff(district_admin, district.public_id, [Role.DISTRICT_ADMIN]) == district
    for user, store in [
        (store_keeper, other),
        (store_keeper, district),
        (district_admin, other),
        (outsider, mine),
    ]:
        with pytest.raises(NotFound):
            store_for_staff(user, store.public_id, [Role.STORE_KEEPER, Role.DISTRICT_ADMIN])
    with pytest.raises(NotFound):
        store_for_staff(store_keeper, "missing", [Role.STORE_KEEPER])
    with pytest.raises(NotFound):
        store_for_staff(store_keeper, mine.public_id, [Role.DISTRICT_ADMIN])


def test_a_district_store_keeper_runs_the_district_store_only(
    hill_phc: Facility, district_admin: User
) -> None:
    mine = facility_store(hill_phc)
    district = mine.parent
    assert district is not None
    keeper = User.objects.create_user(username="district_keeper", password="x" * 20)
    keeper.memberships.create(role=Role.STORE_KEEPER, region=district.region)

    assert store_for_staff(keeper, district.public_id, [Role.STORE_KEEPER]) == district
    with pytest.raises(NotFound):
        store_for_staff(keeper, mine.public_id, [Role.STORE_KEEPER])
