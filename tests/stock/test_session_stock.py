"""Vials issued to a session and returned, and the open-vial wastage booked at its close."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from vaxnet.booking.models import Session
from vaxnet.booking.planning import session_cancel
from vaxnet.core.models import AuditEvent
from vaxnet.facilities.models import Facility
from vaxnet.stock.models import StockMove, Store
from vaxnet.stock.queries import balance, ledger_balance
from vaxnet.stock.services import (
    batch_recall,
    session_stock_close,
    stock_issue,
    stock_return,
)

from ..booking.test_appointments import make_session
from .ledger_helpers import NOW, facility_store, make_batch, refusal_code, stocked

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def test_issue_return_and_close_book_the_open_vial_wastage(store: Store, session: Session) -> None:
    one = stocked(store, make_batch("L1"), 100)
    two = stocked(store, make_batch("L2"), 100)
    stock_issue(by=None, store=store, batch=one, session=session, vials=5)
    stock_issue(by=None, store=store, batch=two, session=session, vials=2)
    assert (balance(store, one), balance(store, two)) == (50, 80)
    stock_return(by=None, store=store, batch=one, session=session, vials=1)

    accounts = session_stock_close(
        by=None, session=session, doses_given={one: 27, two: 20}, unopened_vials={one: 1}
    )

    by_lot = {account.batch.lot_number: account for account in accounts}
    # L1: 5 issued, 2 back unopened, 3 opened = 30 doses, 27 given → 3 wasted.
    assert (by_lot["L1"].vials_opened, by_lot["L1"].doses_given, by_lot["L1"].wastage) == (3, 27, 3)
    # L2: 2 opened = 20 doses, all given.
    assert (by_lot["L2"].vials_opened, by_lot["L2"].wastage) == (2, 0)
    assert (balance(store, one), balance(store, two)) == (70, 80)
    assert ledger_balance(store, one) == 70
    wastage = StockMove.objects.get(session=session, kind="wastage")
    assert (wastage.batch, wastage.doses, wastage.reason) == (one, -3, "open_vial")
    given = dict(
        StockMove.objects.filter(session=session, kind="consumption").values_list(
            "batch__lot_number", "doses"
        )
    )
    assert given == {"L1": -27, "L2": -20}
    assert AuditEvent.objects.filter(action="stock.session_close").count() == 1


def test_a_closed_session_takes_no_more_stock(store: Store, session: Session) -> None:
    batch = stocked(store, make_batch("L1"), 100)
    stock_issue(by=None, store=store, batch=batch, session=session, vials=2)
    session_stock_close(by=None, session=session, doses_given={batch: 15})

    assert (
        refusal_code(stock_issue, by=None, store=store, batch=batch, session=session, vials=1)
        == "session_not_open"
    )
    assert (
        refusal_code(stock_return, by=None, store=store, batch=batch, session=session, vials=1)
        == "session_stock_closed"
    )
    assert (
        refusal_code(session_stock_close, by=None, session=session, doses_given={batch: 15})
        == "session_stock_closed"
    )
    assert balance(store, batch) == 80


def test_more_doses_than_opened_vials_hold_is_refused(store: Store, session: Session) -> None:
    batch = stocked(store, make_batch("L1"), 100)
    other = stocked(store, make_batch("L2"), 100)
    stock_issue(by=None, store=store, batch=batch, session=session, vials=2)

    assert (
        refusal_code(session_stock_close, by=None, session=session, doses_given={batch: 21})
        == "doses_exceed_opened"
    )
    assert (
        refusal_code(session_stock_close, by=None, session=session, doses_given={other: 1})
        == "batch_not_issued"
    )
    assert (
        refusal_code(
            session_stock_close,
            by=None,
            session=session,
            doses_given={batch: 5},
            unopened_vials={batch: 3},
        )
        == "return_more_than_issued"
    )
    assert balance(store, batch) == 80
    assert not StockMove.objects.filter(session=session).exclude(kind="issue").exists()


def test_only_unopened_vials_out_at_the_session_can_come_back(
    store: Store, session: Session
) -> None:
    batch = stocked(store, make_batch("L1"), 100)
    stock_issue(by=None, store=store, batch=batch, session=session, vials=2)
    stock_return(by=None, store=store, batch=batch, session=session, vials=2)

    assert (
        refusal_code(stock_return, by=None, store=store, batch=batch, session=session, vials=1)
        == "return_more_than_issued"
    )
    assert balance(store, batch) == 100


def test_issue_refuses_what_cannot_be_used(
    store: Store, session: Session, sea_hospital: Facility
) -> None:
    batch = stocked(store, make_batch("L1"), 30)
    other_vaccine = stocked(store, make_batch("C1", vaccine="COVAXIN"), 40)
    # The session is tomorrow: a batch that expires today cannot be issued to it.
    expiring = stocked(store, make_batch("L2", expires_on=NOW.date()), 100)
    recalled = stocked(store, make_batch("L3"), 100)
    batch_recall(by=None, batch=recalled, reason="Recall")
    elsewhere = facility_store(sea_hospital)

    def issue(batch: object, vials: int = 1, at: Store = store) -> Callable[[], object]:
        return lambda: stock_issue(
            by=None,
            store=at,
            batch=batch,  # type: ignore[arg-type]
            session=session,
            vials=vials,
        )

    assert refusal_code(issue(batch, 4)) == "stock_insufficient"
    assert refusal_code(issue(batch, 0)) == "vials_not_positive"
    assert refusal_code(issue(other_vaccine)) == "wrong_vaccine"
    assert refusal_code(issue(expiring)) == "batch_expired"
    assert refusal_code(issue(recalled)) == "batch_recalled"
    assert refusal_code(issue(batch, at=elsewhere)) == "session_elsewhere"
    session_cancel(by=None, session=session, reason="Rain")
    assert refusal_code(issue(batch)) == "session_not_open"
    assert balance(store, batch) == 30


def test_a_recalled_batch_comes_back_from_the_session(store: Store, session: Session) -> None:
    batch = stocked(store, make_batch("L1"), 100)
    stock_issue(by=None, store=store, batch=batch, session=session, vials=3)
    batch_recall(by=None, batch=batch, reason="Recall")

    stock_return(by=None, store=store, batch=batch, session=session, vials=3)
    accounts = session_stock_close(by=None, session=session, doses_given={})

    assert [(a.vials_opened, a.wastage) for a in accounts] == [(0, 0)]
    assert balance(store, batch) == 100


def test_it_issues_for_a_session_days_ahead_only_what_lasts(
    store: Store, hill_phc: Facility
) -> None:
    later = make_session(hill_phc, on=NOW.date() + timedelta(days=5))
    batch = stocked(store, make_batch("L1", expires_on=date(2026, 3, 5)), 100)

    assert (
        refusal_code(stock_issue, by=None, store=store, batch=batch, session=later, vials=1)
        == "batch_expired"
    )
