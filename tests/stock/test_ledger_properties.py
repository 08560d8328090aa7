"""Random sequences of stock operations, checked against a plain model of what each store holds.

After every operation each kept balance equals the model's (so none is ever below zero, and
every refusal for want of stock was a true one); after each sequence the kept balances equal
the ledger's sums, and every transfer conserves its doses: sent = received + short + damaged.
"""

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vaxnet.booking.models import Session
from vaxnet.core.errors import DomainError
from vaxnet.core.models import User
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import Balance, Batch, PendingAdjustment, StockMove, Store, Transfer
from vaxnet.stock.queries import balance_mismatches
from vaxnet.stock.requisitions import transfer_dispatch, transfer_receive
from vaxnet.stock.services import (
    adjustment_decide,
    stock_consume,
    stock_count,
    stock_issue,
    stock_receive,
    stock_return,
    stock_waste,
)

from ..booking.test_appointments import make_session
from .ledger_helpers import facility_store, make_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]

SIZE = 10  # doses per vial of the COVISHIELD batches used
THRESHOLD = 100  # the default count difference applied without approval

stores = st.integers(0, 2)
batches = st.integers(0, 1)
operation = st.one_of(
    st.tuples(st.just("receive"), stores, batches, st.integers(1, 20)),
    st.tuples(st.just("dispatch"), stores, stores, batches, st.integers(1, 10)),
    *[st.tuples(st.just("arrive"), st.integers(0, 5), st.integers(0, 10), st.integers(0, 3))] * 2,
    st.tuples(st.just("break"), stores, batches, st.integers(1, 5)),
    st.tuples(st.just("open_vial"), stores, batches, st.integers(1, 15)),
    st.tuples(st.just("consume"), stores, batches, st.integers(1, 30)),
    st.tuples(st.just("count"), stores, batches, st.integers(0, 300)),
    st.tuples(st.just("decide"), st.integers(0, 3), st.booleans()),
    st.tuples(st.just("issue"), batches, st.integers(1, 6)),
    st.tuples(st.just("return"), batches, st.integers(1, 3)),
)


@dataclass
class World:
    """The stores, batches and people the operations act on."""

    stores: list[Store]
    batches: list[Batch]
    session: Session
    keeper: User
    admin: User


@dataclass
class Model:
    """What each store should hold, what is on the road, and what waits for approval."""

    held: dict[tuple[int, int], int] = field(default_factory=dict)
    transit: list[tuple[Transfer, int, int, int]] = field(default_factory=list)
    pending: list[tuple[PendingAdjustment, int, int, int]] = field(default_factory=list)
    out_at_session: dict[int, int] = field(default_factory=dict)

    def has(self, s: int, b: int) -> int:
        return self.held.get((s, b), 0)

    def add(self, s: int, b: int, doses: int) -> None:
        self.held[(s, b)] = self.has(s, b) + doses


@pytest.fixture
def world(
    hill_phc: Facility, river_clinic: Facility, store_keeper: User, district_admin: User
) -> World:
    phc = facility_store(hill_phc)
    assert phc.parent is not None
    return World(
        stores=[phc, phc.parent, facility_store(river_clinic)],
        batches=[make_batch("P1"), make_batch("P2")],
        session=make_session(hill_phc),
        keeper=store_keeper,
        admin=district_admin,
    )


def _refused(call: object, *codes: str) -> bool:
    """Run the call; return whether it was refused with one of the codes (others fail)."""
    try:
        call()  # type: ignore[operator]
    except DomainError as error:
        assert error.code in codes, error
        return True
    return False


def _step(w: World, m: Model, op: tuple) -> None:
    kind = op[0]
    if kind == "receive":
        _k, s, b, vials = op
        stock_receive(
            by=None, store=w.stores[s], batch=w.batches[b], doses=vials * SIZE, supplier="M"
        )
        m.add(s, b, vials * SIZE)
    elif kind == "dispatch":
        _k, s, d, b, vials = op
        if s == d:
            return
        enough = m.has(s, b) >= vials * SIZE
        refused = _refused(
            lambda: m.transit.append(
                (
                    transfer_dispatch(
                        by=None,
                        source=w.stores[s],
                        destination=w.stores[d],
                        lines={w.batches[b]: vials * SIZE},
                    ),
                    d,
                    b,
                    vials,
                )
            ),
            "stock_insufficient",
        )
        assert refused != enough
        if enough:
            m.add(s, b, -vials * SIZE)
    elif kind == "arrive":
        _k, pick, good, bad = op
        if not m.transit:
            return
        transfer, d, b, vials = m.transit.pop(pick % len(m.transit))
        good = min(good, vials)
        bad = min(bad, vials - good)
        batch = w.batches[b]
        transfer_receive(
            by=None, transfer=transfer, received={batch: good * SIZE}, damaged={batch: bad * SIZE}
        )
        m.add(d, b, good * SIZE)
    elif kind in ("break", "open_vial", "consume"):
        _k, s, b, amount = op
        doses = amount * SIZE if kind == "break" else amount
        enough = m.has(s, b) >= doses
        store, batch = w.stores[s], w.batches[b]
        if kind == "consume":
            call = lambda: stock_consume(by=None, store=store, batch=batch, doses=doses)  # noqa: E731
        else:
            reason = "breakage" if kind == "break" else "open_vial"
            call = lambda: stock_waste(  # noqa: E731
                by=None, store=store, batch=batch, doses=doses, reason=reason
            )
        assert _refused(call, "stock_insufficient") != enough
        if enough:
            m.add(s, b, -doses)
    elif kind == "count":
        _k, s, b, counted = op
        outcome = stock_count(
            by=w.keeper, store=w.stores[s], batch=w.batches[b], counted_doses=counted, reason="c"
        )
        difference = counted - m.has(s, b)
        assert outcome.difference == difference
        if outcome.pending is not None:
            assert abs(difference) > THRESHOLD
            m.pending.append((outcome.pending, s, b, difference))
        else:
            assert abs(difference) <= THRESHOLD
            m.held[(s, b)] = counted
    elif kind == "decide":
        _k, pick, approve = op
        if not m.pending:
            return
        pending, s, b, difference = m.pending[pick % len(m.pending)]
        possible = m.has(s, b) + difference >= 0
        refused = _refused(
            lambda: adjustment_decide(by=w.admin, pending=pending, approve=approve),
            "stock_insufficient",
        )
        assert refused == (approve and not possible)
        if not refused:
            m.pending.remove((pending, s, b, difference))
            if approve:
                m.add(s, b, difference)
    elif kind == "issue":
        _k, b, vials = op
        enough = m.has(0, b) >= vials * SIZE
        issue = lambda: stock_issue(  # noqa: E731
            by=None, store=w.stores[0], batch=w.batches[b], session=w.session, vials=vials
        )
        assert _refused(issue, "stock_insufficient") != enough
        if enough:
            m.add(0, b, -vials * SIZE)
            m.out_at_session[b] = m.out_at_session.get(b, 0) + vials
    elif kind == "return":
        _k, b, vials = op
        out = m.out_at_session.get(b, 0)
        back = lambda: stock_return(  # noqa: E731
            by=None, store=w.stores[0], batch=w.batches[b], session=w.session, vials=vials
        )
        assert _refused(back, "return_more_than_issued") != (vials <= out)
        if vials <= out:
            m.add(0, b, vials * SIZE)
            m.out_at_session[b] = out - vials


def _check_balances(w: World, m: Model) -> None:
    kept = {
        (row.store_id, row.batch_id): row.doses
        for row in Balance.objects.filter(store__in=w.stores)
    }
    for s, store in enumerate(w.stores):
        for b, batch in enumerate(w.batches):
            assert kept.get((store.pk, batch.pk), 0) == m.has(s, b) >= 0


def _check_transfers() -> None:
    for transfer in Transfer.objects.prefetch_related("lines"):
        moves = StockMove.objects.filter(transfer=transfer)
        sent = sum(line.doses_sent for line in transfer.lines.all())
        assert moves.filter(kind="dispatch").aggregate(d=Sum("doses"))["d"] == -sent
        arrived = moves.filter(kind="transfer_in").aggregate(d=Sum("doses"))["d"] or 0
        if transfer.status == Transfer.Status.IN_TRANSIT:
            assert arrived == 0
            continue
        for line in transfer.lines.all():
            assert line.doses_received is not None
            assert line.doses_sent == line.doses_received + line.doses_short + line.doses_damaged
        assert arrived == sum(line.doses_received or 0 for line in transfer.lines.all())
        discrepancy = any(line.doses_short or line.doses_damaged for line in transfer.lines.all())
        assert (transfer.status == Transfer.Status.DISCREPANCY) == discrepancy


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(operation, max_size=30))
def test_random_operations_keep_the_ledger_sound(world: World, ops: list[tuple]) -> None:
    with transaction.atomic():
        model = Model()
        # Some stock everywhere to start from, so that most moves can happen.
        for s, b in [(0, 0), (1, 0), (1, 1), (2, 1)]:
            _step(world, model, ("receive", s, b, 10))
        for op in ops:
            _step(world, model, op)
            _check_balances(world, model)
        assert balance_mismatches() == []
        _check_transfers()
        transaction.set_rollback(True)
