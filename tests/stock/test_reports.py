"""Stock reports: on hand, in transit, consumption, wastage rates and days of supply."""

from datetime import date
from decimal import Decimal

import pytest
from django.db.models import QuerySet

from vaxnet.booking.models import Session
from vaxnet.core.models import User
from vaxnet.stock import reports
from vaxnet.stock.alerts import stores_for
from vaxnet.stock.models import Batch, Store
from vaxnet.stock.reports import Period
from vaxnet.stock.requisitions import transfer_dispatch
from vaxnet.stock.services import (
    session_stock_close,
    stock_consume,
    stock_issue,
    stock_receive,
    stock_waste,
)

from .ledger_helpers import DAY, NOW, TODAY, make_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def given_a_month_of_use(phc: Store, session: Session) -> Batch:
    """500 doses in; 50 given 16 days ago, 14 ten days ago, 25 at a session five days ago
    (5 more wasted from its opened vials), 2 wasted from an open vial and 10 broken two days ago.
    """
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=500, supplier="Maker", now=NOW - 20 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=50, now=NOW - 16 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=14, now=NOW - 10 * DAY)
    stock_issue(by=None, store=phc, batch=batch, session=session, vials=3, now=NOW - 5 * DAY)
    session_stock_close(by=None, session=session, doses_given={batch: 25}, now=NOW - 5 * DAY)
    stock_waste(by=None, store=phc, batch=batch, doses=2, reason="open_vial", now=NOW - 2 * DAY)
    stock_waste(by=None, store=phc, batch=batch, doses=10, reason="breakage", now=NOW - 2 * DAY)
    return batch


def _stores(*stores: Store) -> QuerySet[Store]:
    return Store.objects.filter(pk__in=[store.pk for store in stores])


def test_it_reports_stock_on_hand_by_store_vaccine_and_batch(phc: Store, session: Session) -> None:
    batch = given_a_month_of_use(phc, session)
    later = make_batch("L9", expires_on=date(2027, 6, 30))
    stock_receive(by=None, store=phc, batch=later, doses=20, supplier="Maker")

    rows = reports.stock_on_hand(_stores(phc))

    assert [(row.store, row.vaccine.code, row.batch, row.doses, row.vials) for row in rows] == [
        # Whole vials: the doses over the vial size (an opened vial counts for none).
        (phc, "COVISHIELD", batch, 394, 39),  # whole vials: 394 doses, 10 a vial
        (phc, "COVISHIELD", later, 20, 2),
    ]


def test_it_counts_session_and_store_consumption_over_the_local_days(
    phc: Store, session: Session
) -> None:
    given_a_month_of_use(phc, session)
    stores = _stores(phc)

    def doses(start: date, end: date) -> list[tuple[str, int]]:
        return [
            (row.vaccine.code, row.doses) for row in reports.consumption(stores, Period(start, end))
        ]

    assert doses(date(2026, 2, 1), TODAY) == [("COVISHIELD", 89)]
    assert doses(TODAY - 10 * DAY, TODAY) == [("COVISHIELD", 39)]
    assert doses(TODAY - 9 * DAY, TODAY) == [("COVISHIELD", 25)]
    assert doses(TODAY - 4 * DAY, TODAY) == []


def test_it_rates_open_and_closed_vial_wastage_apart(phc: Store, session: Session) -> None:
    given_a_month_of_use(phc, session)

    (row,) = reports.wastage(_stores(phc), Period(date(2026, 2, 1), TODAY))

    assert (row.given, row.open_vial, row.closed_vial) == (89, 7, 10)
    assert row.open_vial_rate == Decimal("0.0729")  # 7 / (89 + 7)
    assert row.closed_vial_rate == Decimal("0.1010")  # 10 / (89 + 10)
    nothing = reports.wastage(_stores(phc), Period(TODAY - 30 * DAY, TODAY - 25 * DAY))
    assert nothing == []
    assert reports.rate(0, 0) is None


def test_it_gives_days_of_supply_from_the_last_fourteen_days(phc: Store, session: Session) -> None:
    given_a_month_of_use(phc, session)
    idle = make_batch("M1", vaccine="COVAXIN")
    stock_receive(by=None, store=phc, batch=idle, doses=40, supplier="Maker")

    rows = {row.vaccine.code: row for row in reports.days_of_supply(_stores(phc), TODAY)}

    # 14 + 25 doses given from 16 February to 1 March: 39 / 14 a day.
    covishield = rows["COVISHIELD"]
    assert (covishield.on_hand, covishield.consumed) == (394, 39)
    assert covishield.daily == Decimal("2.8")
    assert covishield.days == Decimal("141.4")  # 394 × 14 / 39
    assert (rows["COVAXIN"].on_hand, rows["COVAXIN"].days) == (40, None)


def test_doses_given_today_wait_for_tomorrow_s_average(phc: Store) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=100, supplier="Maker", now=NOW - DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=14)

    (today,) = reports.days_of_supply(_stores(phc), TODAY)
    (tomorrow,) = reports.days_of_supply(_stores(phc), TODAY + DAY)

    assert (today.consumed, today.days) == (0, None)
    assert (tomorrow.consumed, tomorrow.days) == (14, Decimal("86.0"))


def test_it_sums_doses_in_transit_per_destination_and_vaccine(district: Store, phc: Store) -> None:
    one, two = make_batch("L1"), make_batch("L2")
    for batch in (one, two):
        stock_receive(by=None, store=district, batch=batch, doses=100, supplier="Maker")
    transfer_dispatch(by=None, source=district, destination=phc, lines={one: 40, two: 30})
    transfer_dispatch(by=None, source=district, destination=phc, lines={one: 10})

    rows = reports.in_transit(_stores(phc))

    assert [(row.destination, row.vaccine.code, row.doses) for row in rows] == [
        (phc, "COVISHIELD", 80)
    ]
    assert [row.doses for row in reports.in_transit(_stores(district))] == [80]


def test_reports_cover_only_the_stores_in_scope(
    phc: Store,
    district: Store,
    session: Session,
    store_keeper: User,
    district_admin: User,
    outsider: User,
) -> None:
    given_a_month_of_use(phc, session)
    batch = make_batch("L2")
    stock_receive(by=None, store=district, batch=batch, doses=100, supplier="Maker")

    keeper = stores_for(store_keeper)
    admin = stores_for(district_admin)

    assert keeper is not None and admin is not None
    assert {row.store for row in reports.stock_on_hand(keeper)} == {phc}
    assert {row.store for row in reports.stock_on_hand(admin)} == {phc, district}
    assert stores_for(outsider) is None


def test_each_report_takes_a_fixed_number_of_queries(
    phc: Store,
    district: Store,
    session: Session,
    district_admin: User,
    django_assert_max_num_queries: object,
) -> None:
    given_a_month_of_use(phc, session)
    for lot in ("L2", "L3", "L4"):
        batch = make_batch(lot)
        stock_receive(by=None, store=district, batch=batch, doses=100, supplier="Maker")
        stock_consume(by=None, store=district, batch=batch, doses=3, now=NOW - 3 * DAY)
        transfer_dispatch(by=None, source=district, destination=phc, lines={batch: 10})
    stores = stores_for(district_admin)
    assert stores is not None
    period = Period(date(2026, 2, 1), TODAY)

    with django_assert_max_num_queries(3):  # type: ignore[operator]
        reports.stock_on_hand(stores)
    with django_assert_max_num_queries(3):  # type: ignore[operator]
        reports.in_transit(stores)
    with django_assert_max_num_queries(3):  # type: ignore[operator]
        reports.consumption(stores, period)
    with django_assert_max_num_queries(3):  # type: ignore[operator]
        reports.wastage(stores, period)
    with django_assert_max_num_queries(4):  # type: ignore[operator]
        reports.days_of_supply(stores, TODAY)
