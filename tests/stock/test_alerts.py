"""Stock alerts: low stock, stock-outs, batches near or past expiry, unacknowledged excursions."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from vaxnet.core.models import User
from vaxnet.countries.models import Country
from vaxnet.facilities.models import Facility
from vaxnet.stock.alerts import Alert, alerts_for
from vaxnet.stock.coldchain import equipment_add, excursion_acknowledge, readings_ingest
from vaxnet.stock.models import Store
from vaxnet.stock.services import stock_consume, stock_receive

from .ledger_helpers import DAY, NOW, TODAY, facility_store, make_batch

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clock")]


def _kinds(alerts: list[Alert]) -> list[tuple[str, str, str]]:
    return [(alert.kind, alert.severity, alert.store.name) for alert in alerts]


def _receive(store: Store, lot: str, doses: int, *, days_ago: int, **batch: object) -> None:
    stock_receive(
        by=None,
        store=store,
        batch=make_batch(lot, **batch),  # type: ignore[arg-type]
        doses=doses,
        supplier="Maker",
        now=NOW - days_ago * DAY,
    )


def test_low_stock_fires_under_seven_days_of_supply(phc: Store, store_keeper: User) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=40, supplier="M", now=NOW - 10 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=28, now=NOW - 3 * DAY)

    (alert,) = alerts_for(store_keeper, TODAY)  # 12 doses at 2 a day: 6 days

    assert (alert.kind, alert.severity, alert.store, alert.vaccine) == (
        "low_stock",
        "warning",
        phc,
        batch.vaccine,
    )
    assert "12 doses" in alert.message
    assert "6.0 days" in alert.message


def test_low_stock_is_quiet_with_enough_stock_or_no_use(phc: Store, store_keeper: User) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=50, supplier="M", now=NOW - 10 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=28, now=NOW - 3 * DAY)
    _receive(phc, "M1", 20, days_ago=1, vaccine="COVAXIN")

    assert alerts_for(store_keeper, TODAY) == []  # 22 doses: 11 days; COVAXIN: never given


def test_a_stock_out_fires_for_a_vaccine_held_lately_and_gone(
    phc: Store, store_keeper: User
) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=20, supplier="M", now=NOW - 5 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=20, now=NOW - 2 * DAY)

    (alert,) = alerts_for(store_keeper, TODAY)

    assert (alert.kind, alert.severity, alert.vaccine) == ("stock_out", "critical", batch.vaccine)


def test_a_stock_out_long_past_is_not_news(phc: Store, store_keeper: User) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=20, supplier="M", now=NOW - 30 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=20, now=NOW - 15 * DAY)

    assert alerts_for(store_keeper, TODAY) == []


def test_batches_near_or_past_expiry_fire(phc: Store, store_keeper: User) -> None:
    _receive(phc, "SOON", 20, days_ago=1, expires_on=TODAY + 10 * DAY)
    _receive(phc, "LATER", 20, days_ago=1, expires_on=TODAY + 60 * DAY)
    _receive(phc, "PAST", 20, days_ago=20, expires_on=TODAY - DAY)

    alerts = alerts_for(store_keeper, TODAY)

    found = {
        (alert.kind, alert.severity, alert.batch.lot_number) for alert in alerts if alert.batch
    }
    assert found == {("expired", "critical", "PAST"), ("near_expiry", "warning", "SOON")}
    soon = next(alert for alert in alerts if alert.kind == "near_expiry")
    assert "in 10 days" in soon.message


def test_the_expiry_window_is_the_pack_s(phc: Store, store_keeper: User, country: Country) -> None:
    country.config = {**country.config, "stock": {"expiry_alert_days": 5}}
    country.save(update_fields=["config"])
    _receive(phc, "SOON", 20, days_ago=1, expires_on=TODAY + 10 * DAY)
    _receive(phc, "SOONER", 20, days_ago=1, expires_on=TODAY + 5 * DAY)

    lots = [alert.batch.lot_number for alert in alerts_for(store_keeper, TODAY) if alert.batch]

    assert lots == ["SOONER"]


def test_an_excursion_fires_until_acknowledged(phc: Store, store_keeper: User) -> None:
    fridge, _key = equipment_add(store=phc, kind="refrigerator", label="Fridge 1", by=store_keeper)
    readings_ingest(equipment=fridge, readings=[(NOW - timedelta(hours=1), -1)])

    (alert,) = alerts_for(store_keeper, TODAY)

    assert (alert.kind, alert.severity, alert.store) == ("excursion", "critical", phc)
    assert alert.message.startswith("Fridge 1: Freezing since")
    assert alert.excursion is not None
    excursion_acknowledge(excursion=alert.excursion, by=store_keeper)
    assert alerts_for(store_keeper, TODAY) == []


def test_alerts_go_to_the_store_s_keepers_and_administrators_only(
    phc: Store, store_keeper: User, district_admin: User, outsider: User, sea_hospital: Facility
) -> None:
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=20, supplier="M", now=NOW - 5 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=20, now=NOW - 2 * DAY)
    sea = facility_store(sea_hospital)
    _receive(sea, "SEA", 20, days_ago=1, expires_on=TODAY + 3 * DAY)

    assert _kinds(alerts_for(store_keeper, TODAY)) == [("stock_out", "critical", phc.name)]
    assert _kinds(alerts_for(district_admin, TODAY)) == [("stock_out", "critical", phc.name)]
    assert alerts_for(outsider, TODAY) == []
    assert alerts_for(AnonymousUser(), TODAY) == []


def test_the_most_urgent_come_first(phc: Store, store_keeper: User) -> None:
    _receive(phc, "SOON", 20, days_ago=1, vaccine="COVAXIN", expires_on=date(2026, 3, 20))
    batch = make_batch("L1")
    stock_receive(by=None, store=phc, batch=batch, doses=20, supplier="M", now=NOW - 5 * DAY)
    stock_consume(by=None, store=phc, batch=batch, doses=20, now=NOW - 2 * DAY)

    assert [alert.kind for alert in alerts_for(store_keeper, TODAY)] == ["stock_out", "near_expiry"]
